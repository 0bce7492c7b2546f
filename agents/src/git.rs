//! The git operations Chiffon's repository tools need, in one place: a new branch from `HEAD`
//! checked out in a private worktree, committing chosen files there, and removing the worktree
//! (keeping or dropping the branch).
//!
//! Suggested fixes and generated templates must never touch the user's working tree, index or
//! current branch: a person may be editing the repository while the agent works. So every change
//! is made in a separate worktree in a temporary directory, on a new branch that starts at the
//! commit `HEAD` points to; uncommitted changes of the user are neither needed nor seen.
//!
//! The infrastructure repository may be a subdirectory of a larger git repository (the example
//! repository lives inside Chiffon's own). Paths given to and returned by this module are always
//! relative to the infrastructure repository, never to the git root.
//!
//! libgit2 calls block, so every public operation is an `async fn` that runs them on the
//! blocking thread pool.

use crate::AgentError;
use chiffon_types::BranchCommit;
use git2::{
    BranchType, Delta, DiffOptions, Oid, Repository, Signature, StatusOptions, WorktreeAddOptions,
    WorktreePruneOptions,
};
use std::path::{Component, Path, PathBuf};

/// Author and committer of Chiffon's commits when the repository's git configuration names
/// nobody (`user.name` / `user.email`).
pub const FALLBACK_AUTHOR: (&str, &str) = ("Chiffon", "chiffon@localhost");

/// Where an infrastructure repository sits in its git repository.
#[derive(Debug, Clone)]
struct Location {
    /// The infrastructure repository relative to the working directory of its git
    /// repository; empty when they are the same.
    prefix: PathBuf,
}

impl Location {
    /// Finds the git repository containing `repo`.
    fn find(repo: &Path) -> Result<(Repository, Self), AgentError> {
        let unusable = |reason: String| AgentError::Repository {
            path: repo.to_path_buf(),
            reason,
        };
        let canonical = repo
            .canonicalize()
            .map_err(|error| unusable(error.to_string()))?;
        if !canonical.is_dir() {
            return Err(unusable("it is not a directory".into()));
        }
        let git = Repository::discover(&canonical).map_err(|error| {
            if error.code() == git2::ErrorCode::NotFound {
                unusable(
                    "it is not a git repository; suggested fixes and templates are committed on \
                     a new branch, so the repository must be under git"
                        .into(),
                )
            } else {
                unusable(format!("git cannot open it: {}", error.message()))
            }
        })?;
        let Some(workdir) = git.workdir() else {
            return Err(unusable(
                "it is a bare git repository; Chiffon needs one with a working directory".into(),
            ));
        };
        let git_root = workdir
            .canonicalize()
            .map_err(|error| unusable(error.to_string()))?;
        let prefix = canonical
            .strip_prefix(&git_root)
            .map_err(|_| {
                unusable("it is not inside its git repository's working directory".into())
            })?
            .to_path_buf();
        Ok((git, Self { prefix }))
    }

    /// `file` (relative to the infrastructure repository) relative to the git root.
    fn to_git_path(&self, file: &str) -> PathBuf {
        self.prefix.join(file)
    }

    /// A path relative to the git root as a path relative to the infrastructure repository;
    /// `None` when it lies outside of it.
    fn repo_relative(&self, path: &Path) -> Option<String> {
        path.strip_prefix(&self.prefix)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }
}

/// Whether `branch` names an existing local branch of the git repository containing `repo`.
pub async fn branch_exists(repo: &Path, branch: &str) -> Result<bool, AgentError> {
    let repo = repo.to_path_buf();
    let branch = branch.to_owned();
    blocking(move || {
        let (git, _) = Location::find(&repo)?;
        match git.find_branch(&branch, BranchType::Local) {
            Ok(_) => Ok(true),
            Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(false),
            Err(source) => Err(git_error(
                &repo,
                format!("look up the branch {branch}"),
                source,
            )),
        }
    })
    .await
}

/// Whether `message` ends with the trailer `key: value` (as [`commit_message`] writes
/// trailers).
pub fn has_trailer(message: &str, key: &str, value: &str) -> bool {
    let wanted = format!("{key}: {value}");
    message
        .lines()
        .rev()
        .take_while(|line| !line.trim().is_empty())
        .any(|line| line.trim() == wanted)
}

/// The last commit of the local branch `branch` of the git repository containing `repo`, the
/// branch starting at its first parent (none for a root commit); `None` when there is no such
/// branch.
pub async fn branch_tip(repo: &Path, branch: &str) -> Result<Option<BranchCommit>, AgentError> {
    let repo = repo.to_path_buf();
    let branch = branch.to_owned();
    blocking(move || {
        let (git, location) = Location::find(&repo)?;
        let fail = |action: String, source| git_error(&repo, action, source);
        let found = match git.find_branch(&branch, BranchType::Local) {
            Ok(found) => found,
            Err(error) if error.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(source) => return Err(fail(format!("look up the branch {branch}"), source)),
        };
        let commit = found
            .get()
            .peel_to_commit()
            .map_err(|source| fail(format!("read the last commit of {branch}"), source))?;
        let parent = commit.parent(0).ok();
        let files_changed = match &parent {
            Some(parent) => diff_files(&git, parent.tree_id(), commit.tree_id())
                .map_err(|source| {
                    fail(
                        format!("compare the last commit of {branch} with its parent"),
                        source,
                    )
                })?
                .iter()
                .filter_map(|path| location.repo_relative(path))
                .collect(),
            None => Vec::new(),
        };
        Ok(Some(BranchCommit {
            branch,
            commit_id: commit.id().to_string(),
            base_commit: parent.map(|p| p.id().to_string()).unwrap_or_default(),
            files: files_changed,
            message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
        }))
    })
    .await
}

/// Turns free text (a rule id, a service name) into something that can be part of a branch
/// name: lowercase ASCII letters, digits and single dashes, the same slug service names are
/// compared by everywhere.
pub use chiffon_types::slug as branch_component;

/// Column at which commit message bodies are wrapped, as git's own tools expect.
const MESSAGE_WIDTH: usize = 72;

/// A commit message in git's conventions: the subject line, a blank line, the paragraphs with
/// their lines wrapped at 72 columns (a line of a paragraph stays a line, so lists keep their
/// shape), and the trailers (`Key: value`) last, where `git interpret-trailers` finds them.
pub fn commit_message(subject: &str, paragraphs: &[&str], trailers: &[(&str, &str)]) -> String {
    let mut message = format!("{}\n", subject.trim());
    for paragraph in paragraphs {
        message.push('\n');
        for line in paragraph.trim().lines() {
            message.push_str(&wrap(line, MESSAGE_WIDTH, ""));
        }
    }
    if !trailers.is_empty() {
        message.push('\n');
        for (key, value) in trailers {
            message.push_str(&format!("{key}: {value}\n"));
        }
    }
    message
}

/// `text` as lines of at most `width` characters (unless a single word is longer), each
/// starting with `prefix` and ending with a newline. Shared with the template generator for
/// its comments.
pub(crate) fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(prefix);
    let mut empty = true;
    for word in text.split_whitespace() {
        let length = line.chars().count();
        if !empty && length + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(prefix);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// A new branch, started at `HEAD`, checked out in a private worktree in a temporary directory.
///
/// End it with [`remove`](Self::remove) (keeps the branch and its commits) or
/// [`discard`](Self::discard) (also deletes the branch). If it is dropped instead — the caller
/// failed or was cancelled half-way — it is discarded in the background: a half-made branch
/// is never left behind.
#[derive(Debug)]
pub struct BranchWorktree {
    repo: PathBuf,
    location: Location,
    branch: String,
    /// The worktree's name in `.git/worktrees/`, unique per worktree.
    name: String,
    base_commit: String,
    /// Holds the checkout; `None` once the worktree was removed.
    dir: Option<tempfile::TempDir>,
}

impl BranchWorktree {
    /// Creates the branch `branch` at the commit `HEAD` of the git repository containing `repo`
    /// points to, and checks it out in a new worktree.
    ///
    /// Fails with [`AgentError::Repository`] when `repo` is not in a git repository (or the
    /// repository has no commit yet), and with [`AgentError::BranchExists`] when the branch
    /// exists already.
    pub async fn create(repo: &Path, branch: &str) -> Result<Self, AgentError> {
        let repo = repo.to_path_buf();
        let branch = branch.to_owned();
        blocking(move || Self::create_blocking(repo, branch)).await
    }

    fn create_blocking(repo: PathBuf, branch: String) -> Result<Self, AgentError> {
        let (git, location) = Location::find(&repo)?;
        if !git2::Branch::name_is_valid(&branch).unwrap_or(false) {
            return Err(AgentError::InvalidArgument {
                name: "branch name",
                reason: format!("{branch:?} is not a valid git branch name"),
            });
        }
        let head = match git.head().and_then(|head| head.peel_to_commit()) {
            Ok(commit) => commit,
            Err(error)
                if matches!(
                    error.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                return Err(AgentError::Repository {
                    path: repo,
                    reason: "its git repository has no commit yet; commit the playbooks first"
                        .into(),
                });
            }
            Err(source) => return Err(git_error(&repo, "read HEAD", source)),
        };
        let mut created = match git.branch(&branch, &head, false) {
            Ok(created) => created,
            Err(error) if error.code() == git2::ErrorCode::Exists => {
                return Err(AgentError::BranchExists { repo, branch });
            }
            Err(source) => {
                return Err(git_error(
                    &repo,
                    format!("create the branch {branch}"),
                    source,
                ));
            }
        };

        // From here on a failure must not leave the branch behind.
        let checkout = (|| {
            let dir = tempfile::Builder::new()
                .prefix("chiffon-git-")
                .tempdir()
                .map_err(|source| AgentError::Io {
                    action: "create a temporary directory in",
                    path: std::env::temp_dir(),
                    source,
                })?;
            // Unique, and without the slashes branch names have (worktree names cannot).
            let name = format!("chiffon-{}", uuid::Uuid::new_v4().simple());
            let reference = created.get();
            let mut options = WorktreeAddOptions::new();
            options.reference(Some(reference));
            git.worktree(&name, &dir.path().join("checkout"), Some(&options))
                .map_err(|source| {
                    git_error(&repo, format!("check out {branch} in a worktree"), source)
                })?;
            Ok::<_, AgentError>((dir, name))
        })();
        let (dir, name) = match checkout {
            Ok(done) => done,
            Err(error) => {
                if let Err(cleanup) = created.delete() {
                    tracing::warn!(%branch, error = %cleanup, "cannot delete a half-made branch");
                }
                return Err(error);
            }
        };
        tracing::debug!(%branch, worktree = %name, base = %head.id(), "worktree created");
        Ok(Self {
            repo,
            location,
            branch,
            name,
            base_commit: head.id().to_string(),
            dir: Some(dir),
        })
    }

    /// The branch checked out in the worktree.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Full id of the commit the branch started from.
    pub fn base_commit(&self) -> &str {
        &self.base_commit
    }

    /// The infrastructure repository inside the worktree: run tools here, and write files
    /// relative to it.
    pub fn path(&self) -> PathBuf {
        self.checkout().join(&self.location.prefix)
    }

    fn checkout(&self) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.path().join("checkout"),
            // Only reachable through Drop after remove/discard, which do not call this.
            None => PathBuf::new(),
        }
    }

    /// Files of the infrastructure repository that differ in the worktree from the branch's
    /// last commit, sorted. New files count only with `include_untracked` (and never when git
    /// ignores them).
    pub async fn changed_files(&self, include_untracked: bool) -> Result<Vec<String>, AgentError> {
        let checkout = self.checkout();
        let location = self.location.clone();
        blocking(move || {
            let git = open_worktree(&checkout)?;
            let mut options = StatusOptions::new();
            options
                .include_untracked(include_untracked)
                .recurse_untracked_dirs(include_untracked)
                .include_ignored(false)
                .exclude_submodules(true);
            let statuses = git
                .statuses(Some(&mut options))
                .map_err(|source| git_error(&checkout, "list changed files", source))?;
            let mut files: Vec<String> = statuses
                .iter()
                .filter(|entry| !entry.status().is_ignored())
                .filter_map(|entry| entry.path().map(PathBuf::from))
                .filter_map(|path| location.repo_relative(&path))
                .collect();
            files.sort();
            files.dedup();
            Ok(files)
        })
        .await
    }

    /// Commits `files` (relative to the infrastructure repository; new, modified or deleted)
    /// on the branch with `message`, and nothing else. The author is the repository's
    /// configured `user.name` / `user.email`, else [`FALLBACK_AUTHOR`].
    ///
    /// Fails when the files hold no change.
    pub async fn commit(
        &self,
        message: &str,
        files: &[String],
    ) -> Result<BranchCommit, AgentError> {
        let checkout = self.checkout();
        let location = self.location.clone();
        let message = message.to_owned();
        let files = files.to_vec();
        let branch = self.branch().to_owned();
        let base_commit = self.base_commit().to_owned();
        blocking(move || {
            let git = open_worktree(&checkout)?;
            let fail = |action: &str, source| git_error(&checkout, action, source);
            let mut index = git.index().map_err(|s| fail("read the index", s))?;
            for file in &files {
                let relative = relative_path(file)?;
                let in_git = location.to_git_path(&relative.to_string_lossy());
                // Explicit paths rather than pathspecs: no globbing surprises, and files the
                // caller names are committed even if a .gitignore pattern matches them.
                if checkout.join(&in_git).exists() {
                    index
                        .add_path(&in_git)
                        .map_err(|s| fail(&format!("stage {file}"), s))?;
                } else {
                    index
                        .remove_path(&in_git)
                        .map_err(|s| fail(&format!("stage the removal of {file}"), s))?;
                }
            }
            index.write().map_err(|s| fail("write the index", s))?;
            let tree_id = index.write_tree().map_err(|s| fail("write the tree", s))?;
            let parent = git
                .head()
                .and_then(|head| head.peel_to_commit())
                .map_err(|s| fail("read the branch's last commit", s))?;
            if tree_id == parent.tree_id() {
                return Err(AgentError::InvalidArgument {
                    name: "commit",
                    reason: format!("the files {} hold no change to commit", files.join(", ")),
                });
            }
            let tree = git
                .find_tree(tree_id)
                .map_err(|s| fail("read the new tree", s))?;
            let signature = signature(&git).map_err(|s| fail("make the commit signature", s))?;
            let id = git
                .commit(
                    Some("HEAD"),
                    &signature,
                    &signature,
                    &message,
                    &tree,
                    &[&parent],
                )
                .map_err(|s| fail("commit", s))?;
            let files_changed = diff_files(&git, parent.tree_id(), tree_id)
                .map_err(|s| fail("compare the commit with its parent", s))?
                .iter()
                .filter_map(|path| location.repo_relative(path))
                .collect();
            Ok(BranchCommit {
                branch,
                commit_id: id.to_string(),
                base_commit,
                files: files_changed,
                message,
            })
        })
        .await
    }

    /// Removes the worktree and its temporary directory; the branch and its commits stay.
    pub async fn remove(mut self) -> Result<(), AgentError> {
        let state = self.take_state();
        blocking(move || state.cleanup(false)).await
    }

    /// Removes the worktree and deletes the branch with everything committed on it.
    pub async fn discard(mut self) -> Result<(), AgentError> {
        let state = self.take_state();
        blocking(move || state.cleanup(true)).await
    }

    fn take_state(&mut self) -> CleanupState {
        CleanupState {
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            name: self.name.clone(),
            dir: self.dir.take(),
        }
    }
}

impl Drop for BranchWorktree {
    fn drop(&mut self) {
        if self.dir.is_none() {
            return;
        }
        let state = self.take_state();
        tracing::warn!(branch = %state.branch, "worktree dropped unfinished; discarding it");
        let cleanup = move || {
            if let Err(error) = state.cleanup(true) {
                tracing::warn!(%error, "cannot discard an unfinished worktree");
            }
        };
        // Off the async threads when there are some; dropping happens outside a runtime too.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(cleanup);
            }
            Err(_) => cleanup(),
        }
    }
}

/// What removing a worktree needs, detached from the [`BranchWorktree`] so that it can move to
/// a blocking thread.
struct CleanupState {
    repo: PathBuf,
    branch: String,
    name: String,
    dir: Option<tempfile::TempDir>,
}

impl CleanupState {
    fn cleanup(self, delete_branch: bool) -> Result<(), AgentError> {
        let (git, _) = Location::find(&self.repo)?;
        let fail = |action: String, source| git_error(&self.repo, action, source);
        match git.find_worktree(&self.name) {
            Ok(worktree) => {
                let mut options = WorktreePruneOptions::new();
                options.valid(true).locked(false).working_tree(true);
                worktree
                    .prune(Some(&mut options))
                    .map_err(|s| fail(format!("remove the worktree {}", self.name), s))?;
            }
            Err(error) if error.code() == git2::ErrorCode::NotFound => {}
            Err(source) => {
                return Err(fail(format!("find the worktree {}", self.name), source));
            }
        }
        if let Some(dir) = self.dir {
            let path = dir.path().to_path_buf();
            dir.close().map_err(|source| AgentError::Io {
                action: "remove the temporary worktree directory",
                path,
                source,
            })?;
        }
        if delete_branch {
            match git.find_branch(&self.branch, BranchType::Local) {
                Ok(mut branch) => branch
                    .delete()
                    .map_err(|s| fail(format!("delete the branch {}", self.branch), s))?,
                Err(error) if error.code() == git2::ErrorCode::NotFound => {}
                Err(source) => {
                    return Err(fail(format!("find the branch {}", self.branch), source));
                }
            }
        }
        tracing::debug!(branch = %self.branch, delete_branch, "worktree removed");
        Ok(())
    }
}

/// Files that differ between two trees (paths relative to the git root), sorted; a renamed
/// file counts with both names.
fn diff_files(git: &Repository, old: Oid, new: Oid) -> Result<Vec<PathBuf>, git2::Error> {
    let old = git.find_tree(old)?;
    let new = git.find_tree(new)?;
    let mut options = DiffOptions::new();
    options.include_typechange(true);
    let diff = git.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    let mut files = Vec::new();
    for delta in diff.deltas() {
        if delta.status() != Delta::Added
            && let Some(path) = delta.old_file().path()
        {
            files.push(path.to_path_buf());
        }
        if let Some(path) = delta.new_file().path() {
            files.push(path.to_path_buf());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The repository's configured identity, or [`FALLBACK_AUTHOR`] when it has none.
fn signature(git: &Repository) -> Result<Signature<'static>, git2::Error> {
    match git.signature() {
        Ok(signature) => Ok(signature),
        Err(error) if error.code() == git2::ErrorCode::NotFound => {
            Signature::now(FALLBACK_AUTHOR.0, FALLBACK_AUTHOR.1)
        }
        Err(error) => Err(error),
    }
}

fn open_worktree(checkout: &Path) -> Result<Repository, AgentError> {
    Repository::open(checkout).map_err(|source| git_error(checkout, "open the worktree", source))
}

/// `file` as a relative path that stays inside the repository.
pub(crate) fn relative_path(file: &str) -> Result<PathBuf, AgentError> {
    let path = Path::new(file);
    let inside = !file.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if inside {
        Ok(path.to_path_buf())
    } else {
        Err(AgentError::InvalidPath {
            path: file.to_owned(),
            reason: "it must be relative to the repository root, without '..'".into(),
        })
    }
}

fn git_error(repo: &Path, action: impl Into<String>, source: git2::Error) -> AgentError {
    AgentError::Git {
        repo: repo.to_path_buf(),
        action: action.into(),
        source,
    }
}

/// Runs `work` on the blocking thread pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| AgentError::Internal(format!("a git operation panicked: {join}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_components_are_safe() {
        assert_eq!(branch_component("fqcn[action-core]"), "fqcn-action-core");
        assert_eq!(branch_component("Uptime  Kuma!"), "uptime-kuma");
        assert_eq!(branch_component("--"), "");
    }

    #[test]
    fn commit_messages_follow_git_conventions() {
        let message = commit_message(
            "Fix it",
            &["word ".repeat(30).as_str(), "- a\n- b"],
            &[("Chiffon-Request", "req-1"), ("Chiffon-Rule", "fqcn")],
        );
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "Fix it");
        assert_eq!(lines[1], "");
        assert!(lines.iter().all(|l| l.len() <= MESSAGE_WIDTH));
        assert!(message.contains("\n\n- a\n- b\n\nChiffon-Request: req-1\nChiffon-Rule: fqcn\n"));
        assert_eq!(wrap("a b", 10, "# "), "# a b\n");
        assert_eq!(wrap("", 10, "#"), "#\n");
    }

    #[test]
    fn relative_paths_stay_inside() {
        assert!(relative_path("playbooks/site.yml").is_ok());
        assert!(relative_path("../x").is_err());
        assert!(relative_path("/etc/passwd").is_err());
        assert!(relative_path("").is_err());
    }
}
