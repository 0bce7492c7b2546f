//! Variable defaults: role `defaults/`, inventory `group_vars/`, which of them a playbook sees,
//! and how a default is shown without giving a secret away.

use super::source::{self, for_each_string};
use super::{CatalogIssue, Scanner, jinja};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;

/// How a file encrypted with `ansible-vault encrypt` starts.
const VAULT_HEADER: &str = "$ANSIBLE_VAULT;";

/// What a default shows instead of a secret's value.
pub(super) const HIDDEN: &str = "(hidden)";

/// Longest default value shown; longer ones are cut (they are structured data nobody reads in a
/// catalog listing).
const MAX_SHOWN: usize = 200;

/// Words that make a variable name a secret's wherever they appear in the lower-cased name, so
/// `db_password`, `apiToken` and `cloudflare_api_token` are hidden; a few harmless names are
/// hidden too, which is the safe mistake to make.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
];

/// Endings of a `_`- or `-`-separated part of a name that make it a secret's: `ssh_key`,
/// `apikey`, `authorized_keys`. Matching parts keeps `keycloak_image` visible.
const SECRET_PART_ENDINGS: &[&str] = &["key", "keys"];

/// Whole parts of a name that make it a secret's: `db_pass`, `wifi_psk` (but `compass_version`
/// stays visible).
const SECRET_PARTS: &[&str] = &["pass", "pw", "pwd", "psk"];

/// A variable's default and the file that sets it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VarDefault {
    /// Path relative to the repository root.
    pub source: String,
    /// The value as written.
    pub value: Value,
}

/// Variables of one file, by name.
pub(super) type VarMap = BTreeMap<String, VarDefault>;

/// The variables of one `group_vars/` directory, by group.
#[derive(Debug, Clone, Default)]
pub(super) struct GroupVars {
    pub groups: BTreeMap<String, Rc<VarMap>>,
}

/// True when a variable of this name probably holds a secret.
pub(super) fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| lower.contains(word))
        || lower.split(['_', '-', '.']).any(|part| {
            SECRET_PARTS.contains(&part)
                || SECRET_PART_ENDINGS.iter().any(|end| part.ends_with(end))
        })
}

/// How a default is shown: scalars as written, collections as compact JSON, secrets (by name,
/// by `!vault` tag, or by a secret-looking key inside) as [`HIDDEN`].
pub(super) fn display(name: &str, value: &Value) -> String {
    if looks_secret(name) || holds_secret(value) {
        return HIDDEN.to_owned();
    }
    let text = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => serde_json::to_string(other).unwrap_or_else(|_| {
            serde_yaml_ng::to_string(other)
                .unwrap_or_default()
                .trim()
                .to_owned()
        }),
    };
    if text.chars().count() > MAX_SHOWN {
        let cut: String = text.chars().take(MAX_SHOWN).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Tagged(_) => true,
        Value::Sequence(items) => items.iter().any(holds_secret),
        Value::Mapping(mapping) => mapping
            .iter()
            .any(|(key, item)| key.as_str().is_some_and(looks_secret) || holds_secret(item)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

/// Variables the value of a default reads in turn (`"{{ homelab_root }}/x"` reads
/// `homelab_root`).
pub(super) fn refs_of(value: &Value, refs: &mut BTreeSet<String>) {
    for_each_string(value, &mut |text| {
        let _ = jinja::template_refs(text, refs);
    });
}

/// The defaults a playbook sees, highest precedence first.
#[derive(Debug, Default)]
pub(super) struct Scope {
    layers: Vec<Rc<VarMap>>,
}

impl Scope {
    /// Adds a layer below the existing ones.
    pub(super) fn push(&mut self, layer: Rc<VarMap>) {
        self.layers.push(layer);
    }

    /// The default of `name` with the highest precedence.
    pub(super) fn get(&self, name: &str) -> Option<&VarDefault> {
        self.layers.iter().find_map(|layer| layer.get(name))
    }

    /// The names of every variable it defines, each once.
    pub(super) fn names(&self) -> BTreeSet<&str> {
        self.layers
            .iter()
            .flat_map(|layer| layer.keys().map(String::as_str))
            .collect()
    }

    /// The default of `name` as plain text for rendering an image name: only non-secret scalars
    /// without Jinja of their own.
    pub(super) fn plain(&self, name: &str) -> Option<String> {
        let default = self.get(name)?;
        let text = source::scalar_text(&default.value)?;
        (!looks_secret(name) && !jinja::has_jinja(&text)).then_some(text)
    }
}

impl Scanner {
    /// The variables of a vars file (role defaults, a group_vars file): a mapping of names to
    /// values. Anything else is an issue.
    pub(super) fn vars_file(&mut self, path: &Path) -> VarMap {
        let Some(relative) = self.repo.relative(path) else {
            return VarMap::new();
        };
        let text = match source::read_text(path, &relative) {
            Ok(text) => text,
            Err(issue) => {
                self.issue(issue);
                return VarMap::new();
            }
        };
        // A file encrypted whole with ansible-vault holds secrets the catalog must not (and
        // cannot) read; it is not a mistake.
        if text.trim_start().starts_with(VAULT_HEADER) {
            return VarMap::new();
        }
        let value = match source::parse_yaml(&text, &relative) {
            Ok(value) => value,
            Err(issue) => {
                self.issue(issue);
                return VarMap::new();
            }
        };
        match value {
            Value::Null => VarMap::new(),
            Value::Mapping(mapping) => mapping
                .into_iter()
                .filter_map(|(key, value)| {
                    let name = key.as_str()?.to_owned();
                    Some((
                        name,
                        VarDefault {
                            source: relative.clone(),
                            value,
                        },
                    ))
                })
                .collect(),
            _ => {
                self.issue(CatalogIssue::new(
                    &relative,
                    None,
                    "expected a mapping of variable names to values".to_owned(),
                ));
                VarMap::new()
            }
        }
    }

    /// The variables of all files of a vars directory entry point, e.g. `defaults/main.yml` or
    /// `defaults/main/*.yml`, merged in file order (later files win, as in Ansible).
    pub(super) fn vars_named(&mut self, dir: &Path, name: &str) -> VarMap {
        let mut merged = VarMap::new();
        for file in source::named_yaml_files(dir, name) {
            merged.extend(self.vars_file(&file));
        }
        merged
    }

    /// The `group_vars/` directory at `dir`, read once per scan.
    pub(super) fn group_vars(&mut self, dir: &Path) -> Rc<GroupVars> {
        if let Some(cached) = self.group_vars.get(dir) {
            return Rc::clone(cached);
        }
        let mut loaded = GroupVars::default();
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
            .filter(|name| !name.starts_with('.'))
            .map(|name| {
                let group = ["yml", "yaml", "json"]
                    .iter()
                    .find_map(|ext| name.strip_suffix(&format!(".{ext}")))
                    .unwrap_or(&name);
                group.to_owned()
            })
            .collect();
        names.sort();
        names.dedup();
        for group in names {
            let vars = self.vars_named(dir, &group);
            if !vars.is_empty() {
                loaded.groups.insert(group, Rc::new(vars));
            }
        }
        let loaded = Rc::new(loaded);
        self.group_vars
            .insert(dir.to_path_buf(), Rc::clone(&loaded));
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("yaml")
    }

    #[test]
    fn secrets_are_hidden_by_name_tag_or_content() {
        for name in [
            "db_password",
            "grafana_admin_passwd",
            "cloudflare_api_token",
            "app_secret",
            "ssh_private_key",
            "ApiKey",
            "db_pass",
        ] {
            assert_eq!(display(name, &yaml("hunter2")), HIDDEN, "{name}");
        }
        for name in ["keycloak_image", "compass_version", "nas_backup_keep"] {
            assert!(!looks_secret(name), "{name}");
        }
        assert_eq!(
            display(
                "db",
                &yaml("!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n")
            ),
            HIDDEN
        );
        assert_eq!(display("smtp", &yaml("{host: x, password: y}")), HIDDEN);
    }

    #[test]
    fn other_defaults_are_shown_as_written() {
        assert_eq!(display("port", &yaml("3001")), "3001");
        assert_eq!(display("version", &yaml("'1.23.16'")), "1.23.16");
        assert_eq!(display("enabled", &yaml("false")), "false");
        assert_eq!(display("dirs", &yaml("[etc, data]")), r#"["etc","data"]"#);
        assert_eq!(display("nothing", &yaml("~")), "null");
        let long = "x".repeat(500);
        assert_eq!(display("long", &yaml(&long)).chars().count(), MAX_SHOWN + 1);
    }
}
