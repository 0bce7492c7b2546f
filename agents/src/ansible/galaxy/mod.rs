//! Galaxy roles and collections the repository needs: whether each one its requirements files
//! name is installed (in Ansible's own search paths or the agent's private Galaxy directory),
//! whether the playbooks use Galaxy content that nothing installs, and installing the
//! requirements into the private directory (see [`install`]).

mod install;
mod requirements;
mod usage;

pub use install::{InstallLimits, install_requirements};

use super::config::EffectiveConfig;
use super::setup::{AnsibleSetup, galaxy_roles_dir, run_tool};
use crate::AgentError;
use crate::catalog::CatalogIssue;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `ansible-galaxy collection list` may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// The command that installs what is missing, for messages.
const INSTALL_HINT: &str = "`chiffon agent infra --install-requirements`";

/// What a requirement or a use is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Role,
    Collection,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Role => "role",
            Kind::Collection => "collection",
        })
    }
}

/// The private Galaxy directory of the repository at `repo` when none is configured:
/// `$XDG_CACHE_HOME/chiffon/galaxy/<hash>` (else `~/.cache/…`), where the hash of the
/// repository's path keeps repositories apart.
pub fn default_galaxy_dir(repo: &Path) -> Result<PathBuf, AgentError> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })
        .ok_or_else(|| AgentError::Config {
            setting: "galaxy directory",
            reason: "neither XDG_CACHE_HOME nor HOME is set; pass --galaxy-dir".to_owned(),
        })?;
    Ok(cache.join("chiffon/galaxy").join(format!(
        "{:016x}",
        fnv1a(repo.as_os_str().as_encoded_bytes())
    )))
}

/// 64-bit FNV-1a: a hash that stays the same across Rust releases, unlike the standard
/// library's, so the directory of a repository does not move when Chiffon is rebuilt.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Issues about Galaxy content: each requirement that is not installed, at its line in the
/// requirements file (with the first line that needs it), and each Galaxy role or collection
/// the playbooks and roles use that is installed nowhere and named in no requirements file, at
/// its first use. When the installed collections cannot be listed, collections are not judged
/// (a warning says why) rather than all reported missing.
pub(crate) async fn check(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    playbooks: &[String],
) -> Vec<CatalogIssue> {
    let repo = setup.repo.clone();
    let role_search = role_search_dirs(setup, config, playbooks);
    let repository_roles = repository_role_dirs(setup, config);
    let listed: Vec<String> = playbooks.to_vec();
    let read = tokio::task::spawn_blocking(move || {
        let (files, issues) = requirements::read_requirements(&repo);
        let usages = usage::find_usages(&repo, &listed, &repository_roles);
        let roles = installed_roles(&role_search);
        let local_collections = playbook_adjacent_collections(&repo, &listed);
        (files, issues, usages, roles, local_collections)
    });
    let (listed_collections, read) = tokio::join!(installed_collections(setup, config), read);
    let (files, mut issues, usages, roles, local_collections) = match read {
        Ok(read) => read,
        Err(join) => {
            tracing::error!(%join, "reading the Galaxy requirements panicked");
            return Vec::new();
        }
    };
    let collections = match listed_collections {
        Ok(mut listed) => {
            listed.extend(local_collections);
            Some(listed)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot list the installed collections; not checking them");
            None
        }
    };
    let installed = |kind: Kind, name: &str| match kind {
        Kind::Role => roles.contains(name),
        Kind::Collection => collections
            .as_ref()
            .is_none_or(|c| collection_installed(c, name)),
    };

    let mut required = BTreeSet::new();
    for requirement in files.iter().flat_map(|file| &file.requirements) {
        required.insert((requirement.kind, requirement.name.clone()));
        if installed(requirement.kind, &requirement.name) {
            continue;
        }
        let needed_by = usages
            .get(&(requirement.kind, requirement.name.clone()))
            .map(|usage| match usage.line {
                0 => format!("; {} needs it", usage.path),
                line => format!("; {}:{line} needs it", usage.path),
            })
            .unwrap_or_default();
        issues.push(CatalogIssue {
            path: requirement.file.clone(),
            line: Some(requirement.line),
            message: format!(
                "the {} {} named here is not installed{needed_by}; install it with {INSTALL_HINT}",
                requirement.kind, requirement.name
            ),
        });
    }
    for usage in usages.values() {
        if required.contains(&(usage.kind, usage.name.clone()))
            || installed(usage.kind, &usage.name)
        {
            continue;
        }
        issues.push(CatalogIssue {
            path: usage.path.clone(),
            line: (usage.line > 0).then_some(usage.line),
            message: format!(
                "the {kind} {name} used here is not installed and no requirements file names it; \
                 add it to requirements.yml, then install it with {INSTALL_HINT}",
                kind = usage.kind,
                name = usage.name,
            ),
        });
    }
    issues
}

/// Whether `name` is among `installed`: a `namespace.collection` exactly, or, for a name taken
/// from a git or URL source (no namespace), any collection of that name.
fn collection_installed(installed: &BTreeSet<String>, name: &str) -> bool {
    if name.contains('.') {
        return installed.contains(name);
    }
    installed.iter().any(|fqcn| {
        fqcn.split_once('.')
            .is_some_and(|(_, collection)| collection == name)
    })
}

/// Where Ansible looks for a role a playbook names: `roles/` next to each playbook, the
/// configured roles path, the private Galaxy directory, and the playbook's own directory.
fn role_search_dirs(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    playbooks: &[String],
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for playbook in playbooks {
        if let Some(parent) = setup.repo.join(playbook).parent() {
            dirs.push(parent.join("roles"));
            dirs.push(parent.to_path_buf());
        }
    }
    dirs.push(setup.repo.join("roles"));
    dirs.extend(config.roles_path.iter().cloned());
    dirs.extend(setup.galaxy_dir.as_deref().map(galaxy_roles_dir));
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The repository's own role directories, whose roles' uses of Galaxy content count: `roles/`
/// and the configured roles path entries inside the repository (not the Galaxy directory).
fn repository_role_dirs(setup: &AnsibleSetup, config: &EffectiveConfig) -> Vec<PathBuf> {
    let mut dirs = vec![setup.repo.join("roles")];
    dirs.extend(
        config
            .roles_path
            .iter()
            .filter(|dir| dir.starts_with(&setup.repo))
            .filter(|dir| {
                setup
                    .galaxy_dir
                    .as_ref()
                    .is_none_or(|g| !dir.starts_with(g))
            })
            .cloned(),
    );
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Names of the role directories in `dirs`.
fn installed_roles(dirs: &[PathBuf]) -> BTreeSet<String> {
    dirs.iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Collections in `collections/ansible_collections/` next to the playbooks, which Ansible
/// loads for them without any configuration.
fn playbook_adjacent_collections(repo: &Path, playbooks: &[String]) -> BTreeSet<String> {
    let mut dirs: BTreeSet<PathBuf> = playbooks
        .iter()
        .filter_map(|playbook| repo.join(playbook).parent().map(Path::to_path_buf))
        .collect();
    dirs.insert(repo.to_path_buf());
    let mut found = BTreeSet::new();
    for dir in dirs {
        let root = dir.join("collections/ansible_collections");
        for namespace in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for collection in std::fs::read_dir(namespace.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if collection.path().is_dir() {
                    found.insert(format!(
                        "{}.{}",
                        namespace.file_name().to_string_lossy(),
                        collection.file_name().to_string_lossy()
                    ));
                }
            }
        }
    }
    found
}

/// Every collection `ansible-galaxy collection list` finds: the configured collections paths,
/// the Galaxy directory, and Python's site-packages (where the `ansible` package keeps its
/// collections).
async fn installed_collections(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
) -> Result<BTreeSet<String>, AgentError> {
    let (program, mut command) = setup.tool_command("ansible-galaxy", Some(config));
    command.args(["collection", "list", "--format", "json"]);
    let output = run_tool(&program, command, LIST_TIMEOUT).await?;
    if output.code() != Some(0) {
        return Err(output.failed(&program));
    }
    let listed: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
        serde_json::from_str(&output.stdout).map_err(|error| AgentError::ToolOutput {
            program,
            reason: format!("not the expected JSON: {error}"),
        })?;
    Ok(listed.into_values().flat_map(BTreeMap::into_keys).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_directory_is_per_repository_and_stable() {
        let a = default_galaxy_dir(Path::new("/srv/infra")).expect("a cache directory");
        let b = default_galaxy_dir(Path::new("/srv/other")).expect("a cache directory");
        assert_ne!(a, b);
        assert!(
            a.to_string_lossy().contains("chiffon/galaxy/"),
            "{}",
            a.display()
        );
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn collections_from_sources_match_by_name() {
        let installed: BTreeSet<String> = ["community.docker".to_owned()].into();
        assert!(collection_installed(&installed, "community.docker"));
        assert!(collection_installed(&installed, "docker"));
        assert!(!collection_installed(&installed, "community.general"));
        assert!(!collection_installed(&installed, "general"));
    }
}
