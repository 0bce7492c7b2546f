//! How the agent calls Ansible on one repository: which programs, which inventories, which vault
//! password file, where the Galaxy content it installed lives; and running Ansible's short-lived
//! tools (`ansible-config`, `ansible-inventory`, `ansible-galaxy`, `ansible-playbook
//! --list-tasks`) to completion, with a time limit, in the repository root so that Ansible reads
//! the repository's own `ansible.cfg`.

use super::config::EffectiveConfig;
use super::inventory::{DEFAULT_INVENTORY_NAME, InventorySource};
use super::process::configure_ansible_tool;
use crate::AgentError;
use crate::suggest::tool::{ToolOutput, run_command, sibling_program};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// How to get Ansible's tools when one cannot be started.
const ANSIBLE_HINT: &str = "install ansible-core, which puts ansible-playbook, ansible-config, \
     ansible-inventory and ansible-galaxy side by side (scripts/setup installs it into the venv)";

/// The repository and the Ansible settings the agent gives every tool it runs there.
#[derive(Debug, Clone)]
pub struct AnsibleSetup {
    /// Root of the infrastructure repository; every tool runs there.
    pub repo: PathBuf,
    /// The `ansible-playbook` program; the other tools are taken from its directory when they
    /// are there, else from `PATH`.
    pub ansible_playbook: PathBuf,
    /// Inventories the agent was given by name, the default first. Empty: runs pass no `-i`
    /// and the repository's configuration decides (reported as the inventory "default").
    pub inventories: Vec<InventorySource>,
    /// File holding the vault password (relative to the repository root, or absolute), given to
    /// every tool that may decrypt something; `None` when `ansible.cfg` names one or no vault
    /// is used.
    pub vault_password_file: Option<PathBuf>,
    /// Private directory holding the Galaxy roles (`roles/`) and collections (`collections/`)
    /// the agent installed from the repository's requirements; searched after the directories
    /// Ansible's configuration names. `None`: only Ansible's own directories.
    pub galaxy_dir: Option<PathBuf>,
}

/// A run asked for an inventory the agent does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the inventory {name:?} is not one of this agent's inventories ({known})")]
pub struct UnknownInventory {
    /// The name asked for.
    pub name: String,
    /// The names the agent knows, default first, e.g. "staging (the default), production".
    pub known: String,
}

impl AnsibleSetup {
    /// The repository at `repo` with `ansible-playbook` from
    /// [`default_program`](super::default_program), no named inventory, no vault password file
    /// and no Galaxy directory.
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        Self {
            repo: repo.into(),
            ansible_playbook: super::default_program(),
            inventories: Vec::new(),
            vault_password_file: None,
            galaxy_dir: None,
        }
    }

    /// The inventory a run uses when it names none: the first named one, else `None` (the
    /// repository's configuration).
    pub fn default_inventory(&self) -> Option<&InventorySource> {
        self.inventories.first()
    }

    /// The inventory a run named `name` uses: `Ok(None)` for the repository's configuration.
    /// An empty name means the default; "default" names the repository's configuration when the
    /// agent named no inventory.
    pub fn choose_inventory(
        &self,
        name: &str,
    ) -> Result<Option<&InventorySource>, UnknownInventory> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(self.default_inventory());
        }
        if self.inventories.is_empty() && name == DEFAULT_INVENTORY_NAME {
            return Ok(None);
        }
        self.inventories
            .iter()
            .find(|source| source.name == name)
            .map(Some)
            .ok_or_else(|| UnknownInventory {
                name: name.to_owned(),
                known: self.describe_inventory_names(),
            })
    }

    /// "staging (the default), production", or "default" without named inventories.
    fn describe_inventory_names(&self) -> String {
        if self.inventories.is_empty() {
            return format!("{DEFAULT_INVENTORY_NAME}, from the repository's ansible.cfg");
        }
        self.inventories
            .iter()
            .enumerate()
            .map(|(index, source)| {
                if index == 0 {
                    format!("{} (the default)", source.name)
                } else {
                    source.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `path` (relative to the repository root, or absolute) as an absolute path, so that it
    /// means the same to the agent and to a tool running in the repository root.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        let joined = self.repo.join(path);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    /// The Ansible program `name` (e.g. "ansible-config") of the same installation as
    /// `ansible-playbook`.
    pub(crate) fn program(&self, name: &str) -> PathBuf {
        if name == "ansible-playbook" {
            self.ansible_playbook.clone()
        } else {
            sibling_program(&self.ansible_playbook, name)
        }
    }

    /// A command for the Ansible tool `name`, set up to run in the repository root with plain
    /// output, in its own process group, killed when dropped. With `config`, the Galaxy
    /// directory is added to the role and collection search paths.
    pub(crate) fn tool_command(
        &self,
        name: &str,
        config: Option<&EffectiveConfig>,
    ) -> (PathBuf, Command) {
        let program = self.program(name);
        let mut command = Command::new(&program);
        command.current_dir(&self.repo);
        configure_ansible_tool(&mut command);
        if let Some(config) = config {
            self.add_search_paths(config, &mut command);
        }
        (program, command)
    }

    /// Sets `ANSIBLE_ROLES_PATH` and `ANSIBLE_COLLECTIONS_PATH` to what the configuration says
    /// plus the Galaxy directory, so content installed there is found without overriding where
    /// the user's own configuration looks first.
    pub(crate) fn add_search_paths(&self, config: &EffectiveConfig, command: &mut Command) {
        let Some(galaxy) = &self.galaxy_dir else {
            return;
        };
        command
            .env(
                "ANSIBLE_ROLES_PATH",
                join_paths(&config.roles_path, Some(&galaxy_roles_dir(galaxy))),
            )
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                join_paths(
                    &config.collections_paths,
                    Some(&galaxy_collections_dir(galaxy)),
                ),
            );
    }

    /// `--vault-password-file=<absolute path>` when the agent has one. Only the path goes on
    /// the command line, never the password.
    pub(crate) fn vault_argument(&self) -> Option<OsString> {
        self.vault_password_file.as_ref().map(|file| {
            let mut argument = OsString::from("--vault-password-file=");
            argument.push(self.resolve(file));
            argument
        })
    }
}

/// Where roles are installed under a Galaxy directory.
pub(crate) fn galaxy_roles_dir(galaxy: &Path) -> PathBuf {
    galaxy.join("roles")
}

/// Where collections are installed under a Galaxy directory (it holds `ansible_collections/`).
pub(crate) fn galaxy_collections_dir(galaxy: &Path) -> PathBuf {
    galaxy.join("collections")
}

/// `paths` then `extra`, joined with ':' as Ansible's path lists are.
pub(crate) fn join_paths(paths: &[PathBuf], extra: Option<&Path>) -> OsString {
    let mut joined = OsString::new();
    for path in paths.iter().map(PathBuf::as_path).chain(extra) {
        if !joined.is_empty() {
            joined.push(":");
        }
        joined.push(path);
    }
    joined
}

/// Runs `command` (made by [`AnsibleSetup::tool_command`]) until it exits, at most `timeout`.
/// The exit status is the caller's to judge. When the tool outlives `timeout`, or the returned
/// future is dropped (the agent is stopping), its whole process group is killed.
pub(crate) async fn run_tool(
    program: &Path,
    command: Command,
    timeout: Duration,
) -> Result<ToolOutput, AgentError> {
    run_command(program, command, timeout, ANSIBLE_HINT).await
}

/// Where Ansible says an error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The file, as Ansible printed it (absolute for files it loaded).
    pub(crate) path: PathBuf,
    /// One-based line, when Ansible knows it.
    pub(crate) line: Option<usize>,
}

/// An error Ansible printed: its first line, and where it is when Ansible says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnsibleFailure {
    pub(crate) message: String,
    pub(crate) origin: Option<Origin>,
}

/// Ansible's error in `stderr`: the first `[ERROR]: …` line (ansible-core 2.19), `ERROR! …`
/// (older releases) or `ERROR: …` (a configuration Ansible cannot start with), and the `Origin: file:line:col` (or "The error appears to be in 'file':
/// line N") that follows it. Only the first line of the message is kept: the rest quotes the
/// file, which is the repository's business, not the report's.
pub(crate) fn parse_failure(stderr: &str) -> Option<AnsibleFailure> {
    let mut lines = stderr.lines();
    let message = lines.by_ref().find_map(|line| {
        let line = line.trim();
        line.strip_prefix("[ERROR]:")
            .or_else(|| line.strip_prefix("ERROR!"))
            // Errors raised before Ansible's display exists, e.g. a broken ansible.cfg.
            .or_else(|| line.strip_prefix("ERROR:"))
            .map(|rest| rest.trim().to_owned())
    })?;
    let origin = lines.take(40).find_map(origin_of);
    Some(AnsibleFailure { message, origin })
}

fn origin_of(line: &str) -> Option<Origin> {
    let line = line.trim();
    if let Some(location) = line.strip_prefix("Origin:") {
        // "path:line:column", "path:line" or "path"; the path itself may hold ':'.
        let mut path = location.trim();
        let mut numbers = Vec::new();
        while numbers.len() < 2 {
            match path.rsplit_once(':') {
                Some((head, tail)) if tail.parse::<usize>().is_ok() => {
                    numbers.push(tail.parse::<usize>().ok());
                    path = head;
                }
                _ => break,
            }
        }
        return Some(Origin {
            path: path.into(),
            line: numbers.last().copied().flatten().filter(|n| *n > 0),
        });
    }
    let rest = line.strip_prefix("The error appears to be in '")?;
    let (path, position) = rest.split_once("':")?;
    let line = position
        .trim()
        .strip_prefix("line ")
        .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    Some(Origin {
        path: path.into(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_errors_are_read_with_their_origin() {
        let stderr = "\
[WARNING]: No inventory was parsed, only implicit localhost is available
[ERROR]: the role 'vladgh.samba.server' was not found in /r/roles:/root/.ansible/roles
Origin: /r/nas.yml:14:7

12         - ansible-nas
14     - role: vladgh.samba.server
         ^ column 7
";
        assert_eq!(
            parse_failure(stderr),
            Some(AnsibleFailure {
                message:
                    "the role 'vladgh.samba.server' was not found in /r/roles:/root/.ansible/roles"
                        .into(),
                origin: Some(Origin {
                    path: "/r/nas.yml".into(),
                    line: Some(14)
                }),
            })
        );
        let origin =
            |text: &str| parse_failure(&format!("[ERROR]: x\n{text}\n")).and_then(|f| f.origin);
        assert_eq!(
            origin("Origin: /r/inventory/hosts.ini"),
            Some(Origin {
                path: "/r/inventory/hosts.ini".into(),
                line: None
            })
        );
        assert_eq!(
            origin("Origin: /r/a:b.yml:3"),
            Some(Origin {
                path: "/r/a:b.yml".into(),
                line: Some(3)
            })
        );
        let old = "ERROR! no action detected in task\n\nThe error appears to be in '/r/site.yml': line 5, column 7, but may\n";
        assert_eq!(
            parse_failure(old),
            Some(AnsibleFailure {
                message: "no action detected in task".into(),
                origin: Some(Origin {
                    path: "/r/site.yml".into(),
                    line: Some(5)
                }),
            })
        );
        assert_eq!(
            parse_failure("ERROR: Error reading config file (/r/ansible.cfg): File contains no section headers.\nTraceback (most recent call last):\n")
                .map(|f| f.message),
            Some("Error reading config file (/r/ansible.cfg): File contains no section headers.".into())
        );
        assert_eq!(parse_failure("[WARNING]: only a warning\n"), None);
    }

    #[test]
    fn inventories_are_chosen_by_name() {
        let mut setup = AnsibleSetup::new("/repo");
        assert_eq!(setup.choose_inventory(""), Ok(None));
        assert_eq!(setup.choose_inventory("default"), Ok(None));
        let error = setup.choose_inventory("staging").expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "the inventory \"staging\" is not one of this agent's inventories (default, from the \
             repository's ansible.cfg)"
        );

        setup.inventories = vec![
            InventorySource::parse("staging=inventories/staging/hosts.ini").expect("valid"),
            InventorySource::parse("production.ini").expect("valid"),
        ];
        assert_eq!(
            setup
                .choose_inventory(" ")
                .expect("default")
                .map(|s| s.name.as_str()),
            Some("staging")
        );
        assert_eq!(
            setup
                .choose_inventory("production")
                .expect("known")
                .map(|s| s.path.clone()),
            Some(PathBuf::from("production.ini"))
        );
        let error = setup
            .choose_inventory("default")
            .expect_err("named ones only");
        assert!(
            error
                .to_string()
                .ends_with("(staging (the default), production)"),
            "{error}"
        );
    }

    #[test]
    fn search_paths_end_with_the_galaxy_directory() {
        assert_eq!(
            join_paths(
                &[
                    PathBuf::from("/r/roles"),
                    PathBuf::from("/home/u/.ansible/roles")
                ],
                Some(Path::new("/g/roles"))
            ),
            OsString::from("/r/roles:/home/u/.ansible/roles:/g/roles")
        );
        assert_eq!(join_paths(&[], None), OsString::new());
    }
}
