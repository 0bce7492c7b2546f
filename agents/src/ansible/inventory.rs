//! The inventories a run can use, and what `ansible-inventory --list` reads from them.
//!
//! The agent may be given inventories by name (`--inventory [NAME=]PATH`); the first is the
//! default. Without any, runs pass no `-i` and the repository's own configuration decides; that
//! inventory is reported under the name [`DEFAULT_INVENTORY_NAME`] with an empty `source`.
//!
//! Only group and host names are kept from Ansible's answer. Host and group variables
//! (`_meta.hostvars`, decrypted vault values among them) are skipped while parsing, never
//! stored, logged or reported; errors name files and plugins, never the content Ansible quotes.

use super::config::EffectiveConfig;
use super::setup::{AnsibleSetup, parse_failure, run_tool};
use crate::AgentError;
use chiffon_proto::v1::{Inventory, InventoryGroup};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Name of the inventory the repository's configuration gives when the agent names none.
pub const DEFAULT_INVENTORY_NAME: &str = "default";

/// Longest inventory name.
const MAX_NAME_CHARS: usize = 64;

/// File and directory names that say nothing about which inventory it is; a name is derived
/// from the nearest path component that is not one of these.
const GENERIC_NAMES: &[&str] = &["hosts", "inventory", "inventories", "main"];

/// How long `ansible-inventory --list` may take: a dynamic inventory may ask a cloud API.
const INVENTORY_TIMEOUT: Duration = Duration::from_secs(120);

/// An inventory the agent was given: a file, a directory or a dynamic inventory script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventorySource {
    /// The name a request chooses it by.
    pub name: String,
    /// Its path, relative to the repository root or absolute, as given.
    pub path: PathBuf,
}

impl InventorySource {
    /// Reads `[NAME=]PATH`. Without `NAME=` the name is derived from the path (see
    /// [`derive_name`]). A name is 1 to 64 letters, digits, '.', '_' or '-'; text before the
    /// first '=' that is not a valid name is taken as part of the path.
    pub fn parse(argument: &str) -> Result<Self, AgentError> {
        let invalid = |reason: String| AgentError::InvalidArgument {
            name: "--inventory",
            reason,
        };
        let (name, path) = match argument.split_once('=') {
            Some(("", _)) => {
                return Err(invalid(format!(
                    "{argument:?} has an empty NAME; write NAME=PATH or only PATH"
                )));
            }
            Some((name, path)) if is_valid_name(name) => (Some(name.to_owned()), path),
            _ => (None, argument),
        };
        if path.trim().is_empty() {
            return Err(invalid(format!(
                "{argument:?} names no path; write [NAME=]PATH"
            )));
        }
        let path = PathBuf::from(path);
        let name = match name {
            Some(name) => name,
            None => derive_name(&path).ok_or_else(|| {
                invalid(format!(
                    "no name can be made from {argument:?}; name it with NAME={argument}"
                ))
            })?,
        };
        Ok(Self { name, path })
    }
}

/// Whether `name` can name an inventory: 1 to 64 letters, digits, '.', '_' or '-'.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The name of an inventory given only by its path: the file name without its extension
/// (`production.ini` → "production"), unless that is a generic name (hosts, inventory,
/// inventories, main): then the nearest directory whose name is not (`inventories/staging/
/// hosts.ini` → "staging"); when every component is generic, the nearest directory
/// (`inventory/hosts.yml` → "inventory"). Characters a name cannot hold become '-'.
pub fn derive_name(path: &Path) -> Option<String> {
    let mut components: Vec<String> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let file = components.pop()?;
    let stem = match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file,
    };
    let nearest_first = std::iter::once(&stem).chain(components.iter().rev());
    let chosen = nearest_first
        .clone()
        .find(|name| !GENERIC_NAMES.contains(&name.to_ascii_lowercase().as_str()))
        .or_else(|| components.last())
        .unwrap_or(&stem);
    let cleaned: String = chosen
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim_matches('-').to_owned();
    is_valid_name(&cleaned).then_some(cleaned)
}

/// Checks that no two inventories share a name.
pub fn check_unique_names(sources: &[InventorySource]) -> Result<(), AgentError> {
    let mut seen = BTreeSet::new();
    for source in sources {
        if !seen.insert(source.name.as_str()) {
            return Err(AgentError::InvalidArgument {
                name: "--inventory",
                reason: format!(
                    "two inventories are named {:?}; give each its own name with NAME=PATH",
                    source.name
                ),
            });
        }
    }
    Ok(())
}

/// Every inventory of `setup`, the default first, each as `ansible-inventory --list` reads it
/// (one process each, at the same time). One that cannot be read has its `error` set.
pub(crate) async fn read_inventories(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
) -> Vec<Inventory> {
    if setup.inventories.is_empty() {
        return vec![read_inventory(setup, config, None).await];
    }
    let reads = setup
        .inventories
        .iter()
        .map(|source| read_inventory(setup, config, Some(source)));
    futures::future::join_all(reads).await
}

/// One inventory: `source`, or the repository's configuration when `None`.
async fn read_inventory(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    source: Option<&InventorySource>,
) -> Inventory {
    let mut inventory = Inventory {
        name: source.map_or_else(|| DEFAULT_INVENTORY_NAME.to_owned(), |s| s.name.clone()),
        source: source
            .map(|s| s.path.to_string_lossy().into_owned())
            .unwrap_or_default(),
        is_default: source.is_none() || setup.default_inventory() == source,
        ..Inventory::default()
    };
    match list_groups(setup, config, source).await {
        Ok(groups) => inventory.groups = groups,
        Err(error) => {
            tracing::warn!(inventory = %inventory.name, %error, "cannot read the inventory");
            inventory.error = error;
        }
    }
    inventory
}

/// Runs `ansible-inventory --list` and keeps the groups; the error says what to do.
async fn list_groups(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    source: Option<&InventorySource>,
) -> Result<Vec<InventoryGroup>, String> {
    let (program, mut command) = setup.tool_command("ansible-inventory", Some(config));
    command.arg("--list");
    if let Some(source) = source {
        let path = setup.resolve(&source.path);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(format!("the inventory {} does not exist", path.display()));
        }
        command.arg("-i").arg(path);
    }
    command.args(setup.vault_argument());
    // Without it an inventory that cannot be parsed is an empty one and a warning.
    command.env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1");
    let output = run_tool(&program, command, INVENTORY_TIMEOUT)
        .await
        .map_err(|error| error.to_string())?;
    if output.code() != Some(0) {
        let configured = match source {
            Some(source) => vec![source.path.to_string_lossy().into_owned()],
            None => config.inventory.clone(),
        };
        return Err(describe_failure(
            &output.stderr,
            &setup.repo,
            &configured,
            source.is_none(),
        ));
    }
    parse_groups(&output.stdout).map_err(|reason| {
        AgentError::ToolOutput {
            program: program.clone(),
            reason,
        }
        .to_string()
    })
}

/// Why `ansible-inventory` failed, from its stderr, without quoting anything Ansible quoted
/// from the inventory (a parse error may show a line holding a password).
fn describe_failure(stderr: &str, repo: &Path, configured: &[String], is_default: bool) -> String {
    let unparsed: Vec<String> = stderr
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("[WARNING]: Unable to parse ")
                .and_then(|rest| rest.strip_suffix(" as an inventory source"))
        })
        .map(|path| relative_to(repo, path))
        .collect();
    let vault = stderr.contains("no vault secrets") || stderr.contains("Decryption failed");
    let mut message = if !unparsed.is_empty() {
        format!("Ansible cannot parse the inventory {}", unparsed.join(", "))
    } else if is_default {
        let sources: Vec<String> = configured.iter().map(|s| relative_to(repo, s)).collect();
        format!(
            "Ansible found no inventory (it looked at {}); set `inventory` in the repository's \
             ansible.cfg or give the agent one with --inventory [NAME=]PATH",
            if sources.is_empty() {
                "nothing".to_owned()
            } else {
                sources.join(", ")
            }
        )
    } else {
        match parse_failure(stderr) {
            Some(failure) => format!("ansible-inventory failed: {}", failure.message),
            None => "ansible-inventory failed without saying why".to_owned(),
        }
    };
    if vault {
        message.push_str(
            "; it is encrypted with Ansible Vault: give the agent the password with \
             --vault-password-file",
        );
    } else if !unparsed.is_empty() {
        message.push_str(&format!(
            "; run `ansible-inventory --list -i {}` in the repository to see why",
            unparsed[0]
        ));
    }
    message
}

/// `path` relative to `repo` when it is inside it.
fn relative_to(repo: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(repo)
        .map(|relative| relative.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_owned())
}

/// A group as `ansible-inventory --list` prints it; everything else in it (`vars`) and the
/// `_meta` entry's host variables are skipped by the parser, never stored.
#[derive(Deserialize)]
struct ListedGroup {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    children: Vec<String>,
}

/// The groups of `ansible-inventory --list` output, each with every host in it (its
/// descendants' hosts included, sorted) and its direct children (sorted), by name.
pub(crate) fn parse_groups(json: &str) -> Result<Vec<InventoryGroup>, String> {
    let mut listed: BTreeMap<String, ListedGroup> =
        serde_json::from_str(json).map_err(|error| format!("not the expected JSON: {error}"))?;
    listed.remove("_meta");
    // Children that have no entry of their own are groups too.
    let children: BTreeSet<String> = listed
        .values()
        .flat_map(|group| group.children.iter().cloned())
        .collect();
    for child in children {
        listed.entry(child).or_insert(ListedGroup {
            hosts: Vec::new(),
            children: Vec::new(),
        });
    }
    let groups = listed
        .keys()
        .map(|name| {
            let mut hosts = BTreeSet::new();
            collect_hosts(&listed, name, &mut BTreeSet::new(), &mut hosts);
            let children: BTreeSet<&String> = listed[name].children.iter().collect();
            InventoryGroup {
                name: name.clone(),
                hosts: hosts.into_iter().collect(),
                children: children.into_iter().cloned().collect(),
            }
        })
        .collect();
    Ok(groups)
}

/// Adds the hosts of `name` and of its descendants to `hosts`; `visited` guards against a cycle
/// (Ansible refuses them, but the output is only trusted so far).
fn collect_hosts<'a>(
    groups: &'a BTreeMap<String, ListedGroup>,
    name: &'a str,
    visited: &mut BTreeSet<&'a str>,
    hosts: &mut BTreeSet<String>,
) {
    if !visited.insert(name) {
        return;
    }
    let Some(group) = groups.get(name) else {
        return;
    };
    hosts.extend(group.hosts.iter().cloned());
    for child in &group.children {
        collect_hosts(groups, child, visited, hosts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_argument_or_the_path() {
        for (argument, name, path) in [
            (
                "staging=inventories/staging/hosts.ini",
                "staging",
                "inventories/staging/hosts.ini",
            ),
            (
                "inventories/staging/hosts.ini",
                "staging",
                "inventories/staging/hosts.ini",
            ),
            ("production.ini", "production", "production.ini"),
            ("inventory/hosts.yml", "inventory", "inventory/hosts.yml"),
            (
                "inventories/sample/inventory",
                "sample",
                "inventories/sample/inventory",
            ),
            (
                "/srv/infra/inventory/aws_ec2.yml",
                "aws_ec2",
                "/srv/infra/inventory/aws_ec2.yml",
            ),
            ("./inventory/", "inventory", "./inventory/"),
            ("lab/my hosts.ini", "my-hosts", "lab/my hosts.ini"),
            ("./a=b/hosts", "a-b", "./a=b/hosts"),
            ("prod.v2=x.ini", "prod.v2", "x.ini"),
        ] {
            let source = InventorySource::parse(argument).expect(argument);
            assert_eq!(
                (source.name.as_str(), source.path.as_path()),
                (name, Path::new(path)),
                "{argument}"
            );
        }
    }

    #[test]
    fn bad_inventory_arguments_say_what_to_write() {
        for (argument, expected) in [
            ("=hosts.ini", "empty NAME"),
            ("staging=", "names no path"),
            ("", "names no path"),
            ("/", "NAME=/"),
        ] {
            let error = InventorySource::parse(argument)
                .expect_err(argument)
                .to_string();
            assert!(error.contains(expected), "{argument}: {error}");
        }
        let long = format!("{}=hosts", "x".repeat(65));
        // Too long to be a name, so it is part of the path.
        assert_eq!(
            InventorySource::parse(&long).expect("a path").path,
            PathBuf::from(&long)
        );
        let twice = [
            InventorySource::parse("lab/staging/hosts").expect("valid"),
            InventorySource::parse("staging=other.ini").expect("valid"),
        ];
        let error = check_unique_names(&twice).expect_err("same name");
        assert!(error.to_string().contains("\"staging\""), "{error}");
        assert!(check_unique_names(&twice[..1]).is_ok());
    }

    #[test]
    fn groups_hold_their_descendants_hosts_and_never_variables() {
        let json = r#"{
            "_meta": {"hostvars": {"db1": {"ansible_password": "hunter2"}}, "profile": "inventory_legacy"},
            "all": {"children": ["ungrouped", "prod"]},
            "prod": {"children": ["web", "db"], "vars": {"secret": "hunter2"}},
            "web": {"hosts": ["web2", "web1"]},
            "db": {"hosts": ["db1"], "children": ["replicas"]},
            "ungrouped": {"hosts": ["lonely"]}
        }"#;
        let groups = parse_groups(json).expect("parses");
        assert!(!format!("{groups:?}").contains("hunter2"));
        let view: Vec<(&str, Vec<&str>, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.name.as_str(),
                    g.hosts.iter().map(String::as_str).collect(),
                    g.children.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                (
                    "all",
                    vec!["db1", "lonely", "web1", "web2"],
                    vec!["prod", "ungrouped"]
                ),
                ("db", vec!["db1"], vec!["replicas"]),
                ("prod", vec!["db1", "web1", "web2"], vec!["db", "web"]),
                ("replicas", vec![], vec![]),
                ("ungrouped", vec!["lonely"], vec![]),
                ("web", vec!["web1", "web2"], vec![]),
            ]
        );
        assert!(parse_groups("[]").is_err());
    }

    #[test]
    fn failures_name_files_but_never_quote_them() {
        let stderr = "\
[WARNING]: Failed to parse inventory with 'ini' plugin: Failed to parse inventory: Expected key=value host variable assignment, got: hunter2
Origin: /repo/inventory/hosts.ini

[WARNING]: Unable to parse /repo/inventory/hosts.ini as an inventory source
[ERROR]: No inventory was parsed, please check your configuration and options.
";
        let message = describe_failure(stderr, Path::new("/repo"), &[], false);
        assert_eq!(
            message,
            "Ansible cannot parse the inventory inventory/hosts.ini; run `ansible-inventory \
             --list -i inventory/hosts.ini` in the repository to see why"
        );
        let none =
            "[ERROR]: No inventory was parsed, please check your configuration and options.\n";
        let message = describe_failure(
            none,
            Path::new("/repo"),
            &["/etc/ansible/hosts".into()],
            true,
        );
        assert!(
            message.starts_with("Ansible found no inventory (it looked at /etc/ansible/hosts); "),
            "{message}"
        );
        let vault = "[WARNING]: Failed to parse inventory with 'yaml' plugin: Attempting to decrypt but no vault secrets found.\n\
[WARNING]: Unable to parse /repo/enc.yml as an inventory source\n";
        let message = describe_failure(vault, Path::new("/repo"), &[], false);
        assert!(message.ends_with("--vault-password-file"), "{message}");
    }
}
