//! Which Galaxy content the repository's playbooks and roles use, and the first line that uses
//! each: standalone Galaxy roles (`namespace.role`), and collections, through a collection role
//! (`namespace.collection.role`), a fully qualified module or action
//! (`namespace.collection.module:`) or a `collections:` keyword.
//!
//! Only the shape Ansible gives these names is read (play `roles:`, `include_role`/`import_role`,
//! role `dependencies`, task action keys); names behind Jinja expressions are skipped.

use super::Kind;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Collections that ship with ansible-core: always installed.
const CORE_COLLECTIONS: &[&str] = &["ansible.builtin", "ansible.legacy", "ansible._protomatter"];

/// Largest file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Task keys holding task lists.
const BLOCK_KEYS: &[&str] = &["block", "rescue", "always"];

/// Play keys holding task lists.
const PLAY_TASK_KEYS: &[&str] = &["pre_tasks", "tasks", "post_tasks", "handlers"];

/// The first use of one piece of Galaxy content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) kind: Kind,
    /// `namespace.role` for a role, `namespace.collection` for a collection.
    pub(crate) name: String,
    /// The file, relative to the repository root.
    pub(crate) path: String,
    /// One-based line; 0 when the name could not be found in the text.
    pub(crate) line: usize,
}

/// The first use of every Galaxy role and collection in `playbooks` (relative paths) and in
/// the roles under `role_dirs` (each a directory of roles inside `repo`), by kind and name.
/// Files are read in the order given, roles sorted by directory; blocking.
pub(crate) fn find_usages(
    repo: &Path,
    playbooks: &[String],
    role_dirs: &[PathBuf],
) -> BTreeMap<(Kind, String), Usage> {
    let mut found = Finder {
        repo,
        usages: BTreeMap::new(),
    };
    for playbook in playbooks {
        found.file(&repo.join(playbook), FileKind::Playbook);
    }
    for dir in role_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut roles: Vec<PathBuf> = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .map(|entry| entry.path())
            .collect();
        roles.sort();
        for role in roles {
            found.role(&role);
        }
    }
    found.usages
}

#[derive(Clone, Copy)]
enum FileKind {
    Playbook,
    Tasks,
    RoleMeta,
}

struct Finder<'a> {
    repo: &'a Path,
    usages: BTreeMap<(Kind, String), Usage>,
}

/// A name found in a file: what it uses, and the text to look for to find its line.
struct Found {
    kind: Kind,
    name: String,
    needle: String,
}

impl Finder<'_> {
    fn role(&mut self, role: &Path) {
        for sub in ["tasks", "handlers"] {
            for file in yaml_files_under(&role.join(sub)) {
                self.file(&file, FileKind::Tasks);
            }
        }
        for name in ["main.yml", "main.yaml"] {
            let meta = role.join("meta").join(name);
            if meta.is_file() {
                self.file(&meta, FileKind::RoleMeta);
            }
        }
    }

    fn file(&mut self, path: &Path, kind: FileKind) {
        let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES);
        if !small {
            return;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        // Files that do not parse are the static scanner's to report.
        let Ok(value) = serde_yaml_ng::from_str::<Value>(&text) else {
            return;
        };
        let mut found = Vec::new();
        match kind {
            FileKind::Playbook => plays(&value, &mut found),
            FileKind::Tasks => tasks(&value, &mut found),
            FileKind::RoleMeta => {
                if let Some(meta) = value.as_mapping() {
                    role_list(meta.get("dependencies"), &mut found);
                    collections_keyword(meta.get("collections"), &mut found);
                }
            }
        }
        let relative = path
            .strip_prefix(self.repo)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_string_lossy().into_owned());
        for Found { kind, name, needle } in found {
            self.usages
                .entry((kind, name.clone()))
                .or_insert_with(|| Usage {
                    kind,
                    name,
                    path: relative.clone(),
                    line: line_of(&text, &needle),
                });
        }
    }
}

fn plays(value: &Value, found: &mut Vec<Found>) {
    for play in value.as_sequence().into_iter().flatten() {
        let Some(play) = play.as_mapping() else {
            continue;
        };
        role_list(play.get("roles"), found);
        collections_keyword(play.get("collections"), found);
        for key in PLAY_TASK_KEYS {
            if let Some(list) = play.get(*key) {
                tasks(list, found);
            }
        }
    }
}

fn tasks(value: &Value, found: &mut Vec<Found>) {
    for task in value.as_sequence().into_iter().flatten() {
        let Some(task) = task.as_mapping() else {
            continue;
        };
        for (key, argument) in task {
            let Some(key) = key.as_str() else {
                continue;
            };
            if BLOCK_KEYS.contains(&key) {
                tasks(argument, found);
            } else if is_role_action(key) {
                let name = match argument {
                    Value::Mapping(arguments) => {
                        text(arguments, "name").or_else(|| text(arguments, "role"))
                    }
                    Value::String(name) => Some(name.as_str()),
                    _ => None,
                };
                if let Some(name) = name {
                    role_reference(name, found);
                }
            } else if let Some(collection) = collection_of_action(key) {
                found.push(Found {
                    kind: Kind::Collection,
                    name: collection,
                    needle: key.to_owned(),
                });
            }
        }
    }
}

/// `include_role` / `import_role`, plain or qualified.
fn is_role_action(key: &str) -> bool {
    let action = key
        .strip_prefix("ansible.builtin.")
        .or_else(|| key.strip_prefix("ansible.legacy."))
        .unwrap_or(key);
    matches!(action, "include_role" | "import_role")
}

/// `namespace.collection` of a fully qualified action such as
/// `community.docker.docker_container`, unless it ships with ansible-core.
fn collection_of_action(key: &str) -> Option<String> {
    let mut parts = key.split('.');
    let (namespace, collection, module) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !part.starts_with(|c: char| c.is_ascii_digit())
    };
    if !(valid(namespace) && valid(collection) && valid(module) && parts.all(valid)) {
        return None;
    }
    let fqcn = format!("{namespace}.{collection}");
    (!CORE_COLLECTIONS.contains(&fqcn.as_str())).then_some(fqcn)
}

/// A play's `roles:` or a role's `dependencies:`: names, or mappings with `role:`/`name:`.
fn role_list(value: Option<&Value>, found: &mut Vec<Found>) {
    for entry in value.and_then(Value::as_sequence).into_iter().flatten() {
        let name = match entry {
            Value::String(name) => Some(name.as_str()),
            Value::Mapping(mapping) => text(mapping, "role").or_else(|| text(mapping, "name")),
            _ => None,
        };
        if let Some(name) = name {
            role_reference(name, found);
        }
    }
}

/// A role name: `namespace.role` is a standalone Galaxy role, `namespace.collection.role` a
/// role of a collection; plain names and paths are local.
fn role_reference(name: &str, found: &mut Vec<Found>) {
    let name = name.trim();
    if name.contains("{{") || name.contains('/') || name.starts_with('.') {
        return;
    }
    let dots = name.matches('.').count();
    if dots == 1 {
        found.push(Found {
            kind: Kind::Role,
            name: name.to_owned(),
            needle: name.to_owned(),
        });
    } else if dots >= 2 {
        let mut parts = name.splitn(3, '.');
        let fqcn = format!(
            "{}.{}",
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default()
        );
        if !CORE_COLLECTIONS.contains(&fqcn.as_str()) {
            found.push(Found {
                kind: Kind::Collection,
                name: fqcn,
                needle: name.to_owned(),
            });
        }
    }
}

/// The `collections:` keyword of a play or role: collections searched for short names.
fn collections_keyword(value: Option<&Value>, found: &mut Vec<Found>) {
    for name in value.and_then(Value::as_sequence).into_iter().flatten() {
        let Some(name) = name.as_str().map(str::trim) else {
            continue;
        };
        if name.matches('.').count() == 1
            && !name.contains("{{")
            && !CORE_COLLECTIONS.contains(&name)
        {
            found.push(Found {
                kind: Kind::Collection,
                name: name.to_owned(),
                needle: name.to_owned(),
            });
        }
    }
}

fn text<'m>(mapping: &'m Mapping, key: &str) -> Option<&'m str> {
    mapping.get(key).and_then(Value::as_str)
}

/// One-based line of the first occurrence of `needle` as a whole name (not part of a longer
/// one); 0 when absent.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    for (index, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(offset) = line[from..].find(needle) {
            let start = from + offset;
            let end = start + needle.len();
            let before = line[..start].chars().next_back();
            let after = line[end..].chars().next();
            if !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char) {
                return index + 1;
            }
            from = end;
        }
    }
    0
}

/// YAML files under `dir`, sorted, at most a few levels deep (role task directories are
/// shallow; this bounds a symlink loop).
fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 4 {
                walk(&path, depth + 1, out);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "yml" || e == "yaml")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, 0, &mut files);
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galaxy_roles_and_collections_are_found_at_their_first_line() {
        let repo = tempfile::tempdir().expect("temp dir");
        let root = repo.path();
        let write = |path: &str, text: &str| {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        };
        write(
            "site.yml",
            "\
- name: Site
  hosts: all
  collections: [acme.tools]
  roles:
    - common
    - role: geerlingguy.docker
      tags: [docker]
    - vladgh.samba.server
    - \"{{ dynamic_role }}\"
  tasks:
    - name: Run a container
      community.docker.docker_container:
        name: x
    - name: Local module
      ansible.builtin.debug:
        msg: community.docker.docker_container
    - block:
        - ansible.posix.mount:
            path: /mnt
      rescue:
        - ansible.builtin.include_role:
            name: geerlingguy.nfs
",
        );
        write(
            "roles/common/tasks/main.yml",
            "- name: Reuse\n  community.docker.docker_network:\n    name: n\n- import_role:\n    name: other.ns.role\n",
        );
        write(
            "roles/common/meta/main.yml",
            "dependencies:\n  - role: geerlingguy.pip\ncollections:\n  - community.general\n",
        );
        let usages = find_usages(root, &["site.yml".to_owned()], &[root.join("roles")]);
        let view: Vec<(Kind, &str, &str, usize)> = usages
            .values()
            .map(|u| (u.kind, u.name.as_str(), u.path.as_str(), u.line))
            .collect();
        assert_eq!(
            view,
            [
                (Kind::Role, "geerlingguy.docker", "site.yml", 6),
                (Kind::Role, "geerlingguy.nfs", "site.yml", 22),
                (
                    Kind::Role,
                    "geerlingguy.pip",
                    "roles/common/meta/main.yml",
                    2
                ),
                (Kind::Collection, "acme.tools", "site.yml", 3),
                (Kind::Collection, "ansible.posix", "site.yml", 18),
                (Kind::Collection, "community.docker", "site.yml", 12),
                (
                    Kind::Collection,
                    "community.general",
                    "roles/common/meta/main.yml",
                    4
                ),
                (
                    Kind::Collection,
                    "other.ns",
                    "roles/common/tasks/main.yml",
                    5
                ),
                (Kind::Collection, "vladgh.samba", "site.yml", 8),
            ]
        );
    }

    #[test]
    fn lines_match_whole_names_only() {
        let text = "a: geerlingguy.docker_extra\nb: geerlingguy.docker\n";
        assert_eq!(line_of(text, "geerlingguy.docker"), 2);
        assert_eq!(line_of(text, "absent"), 0);
    }
}
