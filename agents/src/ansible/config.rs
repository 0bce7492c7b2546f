//! Ansible's effective configuration for a repository, as `ansible-config dump` reports it: the
//! repository's `ansible.cfg` (or `$ANSIBLE_CONFIG`, `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`),
//! `ANSIBLE_*` variables and Ansible's defaults, already merged and with relative paths resolved
//! by Ansible itself. The agent never reads `ansible.cfg` on its own: whatever Ansible decides is
//! what runs use.
//!
//! The dump holds every setting, Galaxy tokens and passwords included; only the few settings
//! below are kept, and the dump itself is never logged.

use super::setup::{AnsibleSetup, parse_failure, run_tool};
use crate::AgentError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long `ansible-config dump` may take. It needs about half a second; a config file on a
/// hung network mount must not hang the agent.
pub const CONFIG_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings the agent builds on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveConfig {
    /// Where roles are looked up (`DEFAULT_ROLES_PATH`), absolute.
    pub roles_path: Vec<PathBuf>,
    /// Where collections are looked up (`COLLECTIONS_PATHS`), absolute.
    pub collections_paths: Vec<PathBuf>,
    /// Where callback plugins are looked up (`DEFAULT_CALLBACK_PLUGIN_PATH`), absolute: the
    /// user's own callbacks live there.
    pub callback_plugin_path: Vec<PathBuf>,
    /// The inventory sources used without `-i` (`DEFAULT_HOST_LIST`).
    pub inventory: Vec<String>,
    /// URLs of the Galaxy servers `ansible-galaxy` installs from, in the order it tries them.
    pub galaxy_servers: Vec<String>,
}

/// One entry of the dump: a setting, or the table of configured Galaxy servers.
#[derive(Deserialize)]
#[serde(untagged)]
enum DumpEntry {
    Setting {
        name: String,
        value: serde_json::Value,
    },
    GalaxyServers {
        #[serde(rename = "GALAXY_SERVERS")]
        servers: BTreeMap<String, Vec<ServerOption>>,
    },
}

/// One option of a configured Galaxy server (`url`, `token`, …).
#[derive(Deserialize)]
struct ServerOption {
    name: String,
    value: serde_json::Value,
}

impl EffectiveConfig {
    /// Runs `ansible-config dump --format json` in the repository root (the `ansible-config`
    /// next to the configured `ansible-playbook`, else the one on `PATH`) and keeps the
    /// settings the agent needs. A failure or a hang (past [`CONFIG_TIMEOUT`]) is an error that
    /// names the program and quotes Ansible's message.
    pub async fn read(setup: &AnsibleSetup) -> Result<Self, AgentError> {
        let (program, mut command) = setup.tool_command("ansible-config", None);
        command.args(["dump", "--format", "json"]);
        let output = run_tool(&program, command, CONFIG_TIMEOUT).await?;
        if output.code() != Some(0) {
            // Ansible's one-line error rather than the end of the traceback that follows it.
            return Err(match parse_failure(&output.stderr) {
                Some(failure) => AgentError::ToolFailed {
                    program,
                    status: output.describe_status(),
                    output: failure.message,
                },
                None => output.failed(&program),
            });
        }
        Self::parse(&output.stdout).map_err(|reason| AgentError::ToolOutput { program, reason })
    }

    /// Reads the JSON of `ansible-config dump --format json`.
    pub(crate) fn parse(json: &str) -> Result<Self, String> {
        let entries: Vec<DumpEntry> = serde_json::from_str(json)
            .map_err(|error| format!("not the expected JSON: {error}"))?;
        let mut settings = BTreeMap::new();
        let mut servers = BTreeMap::new();
        for entry in entries {
            match entry {
                DumpEntry::Setting { name, value } => {
                    settings.insert(name, value);
                }
                DumpEntry::GalaxyServers { servers: table } => {
                    for (name, options) in table {
                        let url = options
                            .into_iter()
                            .find(|option| option.name == "url")
                            .and_then(|option| option.value.as_str().map(str::to_owned));
                        if let Some(url) = url {
                            servers.insert(name, url);
                        }
                    }
                }
            }
        }
        let strings = |name: &str| -> Vec<String> {
            match settings.get(name) {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|item| item.as_str())
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Some(serde_json::Value::String(text)) if !text.is_empty() => vec![text.clone()],
                _ => Vec::new(),
            }
        };
        let paths = |name: &str| strings(name).into_iter().map(PathBuf::from).collect();
        if !settings.contains_key("DEFAULT_ROLES_PATH") {
            return Err("it names no DEFAULT_ROLES_PATH; is this ansible-config?".to_owned());
        }
        // A server list replaces the single server; each name in it has its own section.
        let listed: Vec<String> = strings("GALAXY_SERVER_LIST")
            .iter()
            .filter_map(|name| servers.get(name).cloned())
            .collect();
        let galaxy_servers = if listed.is_empty() {
            strings("GALAXY_SERVER")
        } else {
            listed
        };
        Ok(Self {
            roles_path: paths("DEFAULT_ROLES_PATH"),
            collections_paths: paths("COLLECTIONS_PATHS"),
            callback_plugin_path: paths("DEFAULT_CALLBACK_PLUGIN_PATH"),
            inventory: strings("DEFAULT_HOST_LIST"),
            galaxy_servers,
        })
    }

    /// The Galaxy servers, for messages: "https://galaxy.ansible.com", or several joined.
    pub fn describe_galaxy_servers(&self) -> String {
        if self.galaxy_servers.is_empty() {
            "the default Galaxy server".to_owned()
        } else {
            self.galaxy_servers.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dump_gives_paths_and_galaxy_servers_but_no_secrets() {
        let json = r#"[
            {"name": "DEFAULT_ROLES_PATH", "origin": "/r/ansible.cfg", "value": ["/r/roles", "/home/u/.ansible/roles"]},
            {"name": "COLLECTIONS_PATHS", "origin": "default", "value": ["/home/u/.ansible/collections"]},
            {"name": "DEFAULT_CALLBACK_PLUGIN_PATH", "origin": "/r/ansible.cfg", "value": ["/r/callback_plugins"]},
            {"name": "DEFAULT_HOST_LIST", "origin": "/r/ansible.cfg", "value": ["/r/inventory/hosts.ini"]},
            {"name": "GALAXY_SERVER", "origin": "default", "value": "https://galaxy.ansible.com"},
            {"name": "GALAXY_SERVER_LIST", "origin": "/r/ansible.cfg", "value": ["mine", "gone"]},
            {"name": "DEFAULT_VAULT_PASSWORD_FILE", "origin": "default", "value": null},
            {"GALAXY_SERVERS": {"mine": [
                {"name": "url", "origin": "/r/ansible.cfg", "type": null, "value": "http://galaxy.lan/api/"},
                {"name": "token", "origin": "/r/ansible.cfg", "type": null, "value": "SECRETTOKEN"}
            ]}}
        ]"#;
        let config = EffectiveConfig::parse(json).expect("parses");
        assert_eq!(
            config,
            EffectiveConfig {
                roles_path: vec!["/r/roles".into(), "/home/u/.ansible/roles".into()],
                collections_paths: vec!["/home/u/.ansible/collections".into()],
                callback_plugin_path: vec!["/r/callback_plugins".into()],
                inventory: vec!["/r/inventory/hosts.ini".into()],
                galaxy_servers: vec!["http://galaxy.lan/api/".into()],
            }
        );
        assert!(!format!("{config:?}").contains("SECRETTOKEN"));
        assert_eq!(config.describe_galaxy_servers(), "http://galaxy.lan/api/");
    }

    #[test]
    fn without_a_server_list_the_single_server_is_used() {
        let json = r#"[
            {"name": "DEFAULT_ROLES_PATH", "origin": "default", "value": []},
            {"name": "GALAXY_SERVER", "origin": "env: ANSIBLE_GALAXY_SERVER", "value": "http://127.0.0.1:9"},
            {"name": "GALAXY_SERVER_LIST", "origin": "default", "value": null},
            {"GALAXY_SERVERS": {}}
        ]"#;
        let config = EffectiveConfig::parse(json).expect("parses");
        assert_eq!(config.galaxy_servers, ["http://127.0.0.1:9"]);
        assert!(config.roles_path.is_empty());
    }

    #[test]
    fn other_output_is_refused() {
        assert!(EffectiveConfig::parse("{}").is_err());
        assert!(EffectiveConfig::parse("[]").is_err());
        assert!(EffectiveConfig::parse("DEFAULT_ROLES_PATH(default) = []").is_err());
    }
}
