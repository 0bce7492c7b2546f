//! Real git repositories in temporary directories for the suggestion and template tests, and
//! the git facts the tests check afterwards; plain repositories, the shared corpora and playbook
//! runs for the Ansible tests. Tests use the real ansible-lint and ansible-playbook from `PATH`
//! (`. scripts/env.sh` puts the project venv first).

#![allow(dead_code)] // Each test binary uses a different part.

use chiffon_agents::RunOutcome;
use chiffon_agents::ansible::{PlaybookRunner, default_program};
use chiffon_agents::suggest::default_lint_program;
use chiffon_proto::v1::{PlaybookRun, TaskEvent};
use git2::{BranchType, IndexAddOption, Oid, Repository, Signature, StatusOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The example repository of this workspace.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/homelab-infra")
}

/// A git repository in a temporary directory; `path()` is the infrastructure repository (the
/// git root, or a subdirectory of it).
pub struct TestRepo {
    dir: tempfile::TempDir,
    subdir: Option<&'static str>,
}

impl TestRepo {
    /// A copy of the example repository, committed.
    pub fn example() -> Self {
        Self::example_with(&[])
    }

    /// A copy of the example repository plus `files`, committed.
    pub fn example_with(files: &[(&str, &str)]) -> Self {
        let repo = Self::empty(None);
        copy_dir(&example_dir(), &repo.path());
        repo.write(files);
        repo.commit_all("Initial commit");
        repo
    }

    /// A repository holding only `files`, committed; under `subdir` of the git root when given.
    pub fn with_files(subdir: Option<&'static str>, files: &[(&str, &str)]) -> Self {
        let repo = Self::empty(subdir);
        repo.write(files);
        repo.commit_all("Initial commit");
        repo
    }

    fn empty(subdir: Option<&'static str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = Repository::init(dir.path()).expect("git init");
        // A repository-level identity, so commits do not depend on the machine's git config.
        let mut config = git.config().expect("config");
        config
            .set_str("user.name", "Homelab Owner")
            .expect("user.name");
        config
            .set_str("user.email", "owner@home.arpa")
            .expect("user.email");
        let repo = Self { dir, subdir };
        fs::create_dir_all(repo.path()).expect("mkdir");
        repo
    }

    /// The infrastructure repository.
    pub fn path(&self) -> PathBuf {
        match self.subdir {
            Some(sub) => self.dir.path().join(sub),
            None => self.dir.path().to_path_buf(),
        }
    }

    /// The git repository.
    pub fn git(&self) -> Repository {
        Repository::open(self.dir.path()).expect("open repo")
    }

    /// Writes `files` (relative to the infrastructure repository) without committing.
    pub fn write(&self, files: &[(&str, &str)]) {
        for (path, content) in files {
            let full = self.path().join(path);
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(full, content).expect("write");
        }
    }

    /// Commits everything in the working tree.
    pub fn commit_all(&self, message: &str) -> Oid {
        let git = self.git();
        let mut index = git.index().expect("index");
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .expect("add");
        index.write().expect("write index");
        let tree = git
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let signature = Signature::now("Homelab Owner", "owner@home.arpa").expect("signature");
        let parent = git.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        git.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .expect("commit")
    }

    /// The full name HEAD points to (e.g. `refs/heads/master`) and its commit.
    pub fn head(&self) -> (String, Oid) {
        let git = self.git();
        let head = git.head().expect("head");
        (
            head.name().expect("utf-8").to_owned(),
            head.peel_to_commit().expect("commit").id(),
        )
    }

    /// Working-tree status: (path, status bits) of every changed or untracked file.
    pub fn status(&self) -> Vec<(String, u32)> {
        let git = self.git();
        let mut options = StatusOptions::new();
        options.include_untracked(true).recurse_untracked_dirs(true);
        let statuses = git.statuses(Some(&mut options)).expect("status");
        let mut out: Vec<(String, u32)> = statuses
            .iter()
            .map(|e| (e.path().unwrap_or_default().to_owned(), e.status().bits()))
            .collect();
        out.sort();
        out
    }

    /// Local branch names.
    pub fn branches(&self) -> Vec<String> {
        let git = self.git();
        let mut names: Vec<String> = git
            .branches(Some(BranchType::Local))
            .expect("branches")
            .map(|b| {
                b.expect("branch")
                    .0
                    .name()
                    .expect("name")
                    .expect("utf-8")
                    .to_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Names of the repository's linked worktrees.
    pub fn worktrees(&self) -> Vec<String> {
        self.git()
            .worktrees()
            .expect("worktrees")
            .iter()
            .flatten()
            .map(str::to_owned)
            .collect()
    }

    /// A fresh clone of `branch` in a temporary directory (returned with the infrastructure
    /// repository's path in it), to check a branch independently of the tool that made it.
    pub fn checkout(&self, branch: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("clone");
        git2::build::RepoBuilder::new()
            .branch(branch)
            .clone(self.dir.path().to_str().expect("utf-8 path"), &target)
            .expect("clone the branch");
        let path = match self.subdir {
            Some(sub) => target.join(sub),
            None => target,
        };
        (dir, path)
    }
}

/// What a commit changed compared with its parent: the files (relative to the git root) and
/// the changed lines, `-old` / `+new`.
pub struct CommitDiff {
    pub files: Vec<String>,
    pub lines: Vec<String>,
}

/// The diff between `from` and `to`.
pub fn diff(git: &Repository, from: Oid, to: Oid) -> CommitDiff {
    let old = git.find_commit(from).expect("from").tree().expect("tree");
    let new = git.find_commit(to).expect("to").tree().expect("tree");
    let diff = git
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .expect("diff");
    let mut files: Vec<String> = diff
        .deltas()
        .filter_map(|d| d.new_file().path().or(d.old_file().path()))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut lines = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-') {
            let text = String::from_utf8_lossy(line.content());
            lines.push(format!("{}{}", line.origin(), text.trim_end_matches('\n')));
        }
        true
    })
    .expect("print diff");
    CommitDiff { files, lines }
}

/// Fails the test with a clear message when ansible-lint or ansible-playbook is missing.
pub fn require_tools() {
    for (program, what) in [
        (
            default_lint_program(),
            "ansible-lint (on PATH: . scripts/env.sh)",
        ),
        (
            default_program(),
            "ansible-playbook (on PATH: . scripts/env.sh)",
        ),
    ] {
        let works = Command::new(&program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            works,
            "these tests need {what}: tried {}; scripts/setup installs both into the venv",
            program.display()
        );
    }
}

/// Copies the tree `from` into `to`, leaving out ansible-lint's cache.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        // ansible-lint's cache, if a local run left one.
        if name == ".ansible" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A plain (not git) repository in a temporary directory holding `files`.
pub fn plain_repository(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(dir.path(), files);
    dir
}

/// Writes `files` (relative to `root`), creating directories as needed.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        fs::write(full, content).expect("write");
    }
}

/// The real-world repository `name` of the shared corpora: under `$CHIFFON_CORPORA`, else
/// `<workspace root>/../shared/corpora`. A missing corpus fails the test, saying where it
/// looked: a test that silently skips its data proves nothing.
pub fn corpus(name: &str) -> PathBuf {
    let root = std::env::var_os("CHIFFON_CORPORA")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"));
    let dir = root.join(name);
    assert!(
        dir.is_dir(),
        "the corpus {name} is not at {} (set CHIFFON_CORPORA to the directory holding it; \
         scripts/env.sh sets it to <workspace>/../shared/corpora)",
        dir.display()
    );
    dir
}

/// Runs `run` with `runner` (at most five minutes) and returns the outcome with every event.
pub async fn run_collecting(
    runner: &PlaybookRunner,
    run: &PlaybookRun,
) -> (RunOutcome, Vec<TaskEvent>) {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let collect = async {
        let mut events = Vec::new();
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        events
    };
    let limit = std::time::Duration::from_secs(300);
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::join!(runner.run(run, limit, cancel, sender), collect)
}
