//! Reading repository files: size limits, YAML with line-numbered errors, and the small helpers
//! every part of the scan needs to read Ansible's loosely typed YAML.

use super::CatalogIssue;
use serde_yaml_ng::{Mapping, Value};
use std::fs;
use std::path::Path;

/// Files larger than this are not something anyone wrote by hand (a playbook, a role file, a
/// template); reading them would only cost memory.
pub(super) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a file could not be read, ready to become a [`CatalogIssue`].
pub(super) fn read_text(path: &Path, relative: &str) -> Result<String, CatalogIssue> {
    let issue = |message: String| CatalogIssue::new(relative, None, message);
    let size = fs::metadata(path)
        .map_err(|e| issue(format!("cannot be read: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(issue(format!(
            "is {size} bytes, larger than the {MAX_FILE_BYTES} bytes a hand-written Ansible file \
             may have"
        )));
    }
    let bytes = fs::read(path).map_err(|e| issue(format!("cannot be read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let line = line_at(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        CatalogIssue::new(relative, Some(line), "is not valid UTF-8 text".to_owned())
    })
}

/// Parses YAML text; a syntax error becomes an issue at the parser's 1-based line.
pub(super) fn parse_yaml(text: &str, relative: &str) -> Result<Value, CatalogIssue> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        CatalogIssue::new(
            relative,
            e.location().map(|l| l.line()),
            format!("invalid YAML: {e}"),
        )
    })
}

/// The 1-based line on which `bytes` (a prefix of a file) ends.
fn line_at(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count() + 1
}

/// The 1-based line of the first occurrence of `needle` in `text`, to point an issue about a
/// value (a role name, an included file) at the place it is written. YAML values carry no
/// positions once parsed, and the first occurrence is almost always the one meant.
pub(super) fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.find(needle).map(|at| line_at(&text.as_bytes()[..at]))
}

/// The 1-based line where a role named `name` is written: a list item (`- name`), a `role:`,
/// `name:` or `src:` value, or an item of a flow list (`roles: [a, name]`); else the first
/// occurrence of the name as a word. (A plain search could land on `hosts: web` for a role
/// `web`.)
pub(super) fn role_line(text: &str, name: &str) -> Option<usize> {
    let unquote = |value: &str| value.trim().trim_matches(['"', '\'']).to_owned();
    let is_entry = |line: &str| {
        let item = line
            .trim_start()
            .strip_prefix("- ")
            .unwrap_or(line.trim_start());
        if unquote(item) == name {
            return true;
        }
        if let Some((key, value)) = item.split_once(':')
            && ["role", "name", "src"].contains(&key.trim())
            && unquote(value) == name
        {
            return true;
        }
        let flow = item
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(items, _)| items);
        flow.is_some_and(|items| items.split(',').any(|i| unquote(i) == name))
    };
    let is_word = |line: &str| {
        line.match_indices(name).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + name.len()..].chars().next();
            let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            boundary(before) && boundary(after)
        })
    };
    let lines = || text.lines().enumerate();
    lines()
        .find(|(_, line)| is_entry(line))
        .or_else(|| lines().find(|(_, line)| is_word(line)))
        .map(|(number, _)| number + 1)
}

/// The 1-based line of the `index`-th (0-based) top-level `- ` entry of a YAML list document.
pub(super) fn entry_line(text: &str, index: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| *line == "-" || line.starts_with("- "))
        .nth(index)
        .map(|(number, _)| number + 1)
}

/// A non-empty string field of a mapping, trimmed.
pub(super) fn string_field(mapping: &Mapping, key: &str) -> Option<String> {
    let value = mapping.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// A scalar as text: strings trimmed, numbers and booleans printed; `None` for empty strings,
/// null and collections.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Host patterns of a play's `hosts`: a string (possibly `a:b` or `a,b`, kept as written) or a
/// list of strings.
pub(super) fn patterns(hosts: &Value) -> Vec<String> {
    match hosts {
        Value::Sequence(items) => items.iter().flat_map(patterns).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

/// Tags of a `tags:` value, which Ansible accepts as a list or a comma-separated string.
pub(super) fn tag_values(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().flat_map(tag_values).collect(),
        other => scalar_text(other)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The string keys of a mapping value (variable names of a `vars:` block and the like).
pub(super) fn string_keys(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_mapping()
        .into_iter()
        .flat_map(|mapping| mapping.keys())
        .filter_map(Value::as_str)
}

/// Calls `visit` with every string inside `value` (mapping keys included), depth first.
pub(super) fn for_each_string<'v>(value: &'v Value, visit: &mut impl FnMut(&'v str)) {
    match value {
        Value::String(s) => visit(s),
        Value::Sequence(items) => items.iter().for_each(|item| for_each_string(item, visit)),
        Value::Mapping(mapping) => {
            for (key, item) in mapping {
                for_each_string(key, visit);
                for_each_string(item, visit);
            }
        }
        Value::Tagged(tagged) => for_each_string(&tagged.value, visit),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The YAML files a directory holds for one name, the way Ansible looks them up: `name.yml`,
/// `name.yaml`, `name.json`, `name` (no extension), then the YAML files of a directory `name/`
/// in name order (e.g. `group_vars/all.yml` and `group_vars/all/vault.yml`, or
/// `defaults/main/*.yml`). Missing candidates are simply absent from the result.
pub(super) fn named_yaml_files(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = [
        format!("{name}.yml"),
        format!("{name}.yaml"),
        format!("{name}.json"),
        name.to_owned(),
    ]
    .into_iter()
    .map(|candidate| dir.join(candidate))
    .filter(|path| path.is_file())
    .collect();
    let nested = dir.join(name);
    if nested.is_dir() {
        files.extend(
            files_under(&nested)
                .into_iter()
                .filter(|path| is_yaml(path)),
        );
    }
    files
}

/// True for `*.yml` and `*.yaml`.
pub(super) fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

/// Every regular file under `dir` (symlinks are not followed: they could leave the repository or
/// loop), sorted, for listing a role's `templates/` and `files/`.
pub(super) fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_by_content_and_by_entry() {
        let text = "---\n- hosts: all\n  roles: [web]\n- import_playbook: x.yml\n";
        assert_eq!(line_of(text, "web"), Some(3));
        assert_eq!(line_of(text, "nope"), None);
        assert_eq!(entry_line(text, 0), Some(2));
        assert_eq!(entry_line(text, 1), Some(4));
        assert_eq!(entry_line(text, 2), None);
        let play = "- hosts: web\n  roles:\n    - common\n    - role: web\n";
        assert_eq!(role_line(play, "web"), Some(4));
        assert_eq!(
            role_line("- hosts: web\n  roles: [common, web]\n", "web"),
            Some(2)
        );
        assert_eq!(
            role_line("dependencies:\n  - webapp\n  - 'web'\n", "web"),
            Some(3)
        );
    }

    #[test]
    fn yaml_errors_carry_their_line() {
        let issue = parse_yaml("a: 1\nb: [\n", "x.yml").expect_err("broken");
        assert_eq!(issue.path, "x.yml");
        assert!(issue.line.is_some_and(|l| l >= 2), "{issue}");
        assert!(issue.message.starts_with("invalid YAML"), "{issue}");
    }

    #[test]
    fn tags_accept_lists_and_comma_separated_strings() {
        let value: Value = serde_yaml_ng::from_str("[a, 'b, c', 3]").expect("yaml");
        assert_eq!(tag_values(&value), ["a", "b", "c", "3"]);
    }
}
