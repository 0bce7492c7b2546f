//! The example infrastructure repository `chiffon dev` runs when no `--repo` is given.
//!
//! Suggested fixes and generated templates are committed on new branches of the infrastructure
//! repository, so the example must be a git repository of its own: were it used where it is
//! bundled, inside Chiffon's source tree, those branches would land in Chiffon's repository.
//! On first start it is copied into the data directory and committed once; later starts use
//! that copy untouched, with whatever branches and edits it gained.

use anyhow::{Context as _, bail};
use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature};
use std::path::{Path, PathBuf};

/// Name of the copy under the data directory.
const DIRECTORY: &str = "homelab-infra";

/// Author and committer of the example's first commit.
const AUTHOR: (&str, &str) = ("Chiffon", "chiffon@localhost");

/// Message of the example's first commit.
const MESSAGE: &str = "Example homelab infrastructure";

/// Branch the example starts on.
const BRANCH: &str = "main";

/// The infrastructure repository `chiffon dev` runs: `given` as it is, else the example under
/// `data_dir` ([`prepare`]d from [`bundled`]); as an absolute path.
pub async fn repository(data_dir: &Path, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let repo = match given {
        Some(repo) => repo,
        None => prepare(data_dir, &bundled()?).await?,
    };
    repo.canonicalize().with_context(|| {
        format!(
            "the infrastructure repository {} does not exist",
            repo.display()
        )
    })
}

/// The bundled example repository: `examples/homelab-infra` under the working directory, else
/// the one in the source tree this binary was built from.
fn bundled() -> anyhow::Result<PathBuf> {
    let relative = Path::new("examples/homelab-infra");
    if relative.is_dir() {
        return Ok(relative.to_path_buf());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if built_from.is_dir() {
        return Ok(built_from);
    }
    bail!(
        "no infrastructure repository given and examples/homelab-infra is not here; pass --repo PATH"
    )
}

/// The example repository under `data_dir`, made from `bundled` (a copy committed as one git
/// commit) when it does not exist yet.
pub async fn prepare(data_dir: &Path, bundled: &Path) -> anyhow::Result<PathBuf> {
    let data_dir = data_dir.to_path_buf();
    let bundled = bundled.to_path_buf();
    tokio::task::spawn_blocking(move || prepare_blocking(&data_dir, &bundled))
        .await
        .context("preparing the example repository panicked")?
}

fn prepare_blocking(data_dir: &Path, bundled: &Path) -> anyhow::Result<PathBuf> {
    let target = data_dir.join(DIRECTORY);
    if target.exists() {
        return Ok(target);
    }
    // Built under a scratch name and renamed into place, so an interrupted first start leaves
    // no half-made repository that later starts would take for the real one.
    let scratch = data_dir.join(format!(".{DIRECTORY}.partial-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot remove the leftover {}", scratch.display()))?;
    }
    let built = copy_tree(bundled, &scratch)
        .with_context(|| {
            format!(
                "cannot copy the example repository {} to {}",
                bundled.display(),
                scratch.display()
            )
        })
        .and_then(|()| commit_everything(&scratch));
    if let Err(error) = built {
        // Best effort: the error that matters is the one that stopped the build.
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(error);
    }
    std::fs::rename(&scratch, &target).with_context(|| {
        format!(
            "cannot move the example repository into place at {}",
            target.display()
        )
    })?;
    Ok(target)
}

/// Copies the directory tree `from` to `to` (which must not exist), files and directories only.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot inspect {}", source.display()))?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target).with_context(|| {
                format!("cannot copy {} to {}", source.display(), target.display())
            })?;
        } else {
            bail!(
                "{} is neither a file nor a directory; the example holds only those",
                source.display()
            );
        }
    }
    Ok(())
}

/// Makes `dir` a git repository whose one commit holds every file in it.
fn commit_everything(dir: &Path) -> anyhow::Result<()> {
    let failed = |what: &str| format!("cannot {what} in {}", dir.display());
    let mut options = RepositoryInitOptions::new();
    options.initial_head(BRANCH);
    let repository =
        Repository::init_opts(dir, &options).with_context(|| failed("create a git repository"))?;
    let mut index = repository
        .index()
        .with_context(|| failed("open the git index"))?;
    index
        .add_all(["*"], IndexAddOption::DEFAULT, None)
        .with_context(|| failed("add the files to git"))?;
    index
        .write()
        .with_context(|| failed("write the git index"))?;
    let tree_id = index
        .write_tree()
        .with_context(|| failed("write the git tree"))?;
    let tree = repository
        .find_tree(tree_id)
        .with_context(|| failed("read the git tree"))?;
    let signature =
        Signature::now(AUTHOR.0, AUTHOR.1).with_context(|| failed("sign the commit"))?;
    repository
        .commit(Some("HEAD"), &signature, &signature, MESSAGE, &tree, &[])
        .with_context(|| failed("commit the example"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/homelab-infra")
    }

    #[tokio::test]
    async fn the_first_start_commits_a_copy_and_later_starts_reuse_it() {
        let data = tempfile::tempdir().expect("temp dir");
        let repo = prepare(data.path(), &bundled()).await.expect("prepare");
        assert_eq!(repo, data.path().join(DIRECTORY));
        assert!(repo.join("playbooks/deploy-uptime-kuma.yml").is_file());

        let git = Repository::open(&repo).expect("a git repository");
        let head = git
            .head()
            .expect("HEAD")
            .peel_to_commit()
            .expect("a commit");
        assert_eq!(head.message(), Some(MESSAGE));
        assert_eq!(head.author().name(), Some(AUTHOR.0));
        assert_eq!(head.author().email(), Some(AUTHOR.1));
        assert_eq!(head.parent_count(), 0);
        assert!(
            git.statuses(None).expect("status").is_empty(),
            "every file is committed"
        );

        std::fs::write(repo.join("local-edit.txt"), "mine").expect("edit");
        let again = prepare(data.path(), &bundled())
            .await
            .expect("prepare again");
        assert_eq!(again, repo);
        assert!(again.join("local-edit.txt").exists(), "left untouched");
        let git = Repository::open(&again).expect("a git repository");
        assert_eq!(
            git.head()
                .expect("HEAD")
                .peel_to_commit()
                .expect("commit")
                .id(),
            head.id()
        );
    }

    #[tokio::test]
    async fn a_failed_first_start_leaves_nothing_behind() {
        let data = tempfile::tempdir().expect("temp dir");
        let missing = data.path().join("no-such-example");
        let error = prepare(data.path(), &missing)
            .await
            .expect_err("nothing to copy");
        assert!(
            format!("{error:#}").contains("no-such-example"),
            "{error:#}"
        );
        let left: Vec<_> = std::fs::read_dir(data.path())
            .expect("read data dir")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
