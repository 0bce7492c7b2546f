//! The repository's Galaxy requirements files: `requirements.yml`, `roles/requirements.yml`
//! and `collections/requirements.yml` (or `.yaml`), in both of Ansible's forms: a mapping with
//! `roles:` and `collections:` lists, or a bare list (roles, except in
//! `collections/requirements.yml`, where it is collections). Each entry gets the name it is
//! installed and used under, and its line.

use super::Kind;
use crate::catalog::CatalogIssue;
use serde_yaml_ng::{Mapping, Value};
use std::path::Path;

/// The files Ansible tools (and AWX) read requirements from, with the kind a bare list holds.
const FILES: &[(&str, Kind)] = &[
    ("requirements.yml", Kind::Role),
    ("requirements.yaml", Kind::Role),
    ("roles/requirements.yml", Kind::Role),
    ("roles/requirements.yaml", Kind::Role),
    ("collections/requirements.yml", Kind::Collection),
    ("collections/requirements.yaml", Kind::Collection),
];

/// Largest requirements file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// One requirements file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequirementsFile {
    /// Path relative to the repository root.
    pub(crate) path: String,
    /// Its role entries, as written.
    pub(crate) roles: Vec<Value>,
    /// Its collection entries, as written.
    pub(crate) collections: Vec<Value>,
    /// True when the file is a bare list rather than a mapping with `roles:`/`collections:`.
    pub(crate) bare_list: bool,
    /// What each entry names, with its line.
    pub(crate) requirements: Vec<Requirement>,
}

/// One entry of a requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub(crate) kind: Kind,
    /// The name it is installed and used under: a role's directory name (`geerlingguy.docker`),
    /// a collection's `namespace.name`, or the repository name of a git or URL source.
    pub(crate) name: String,
    /// The requirements file, relative to the repository root.
    pub(crate) file: String,
    /// One-based line of the entry.
    pub(crate) line: usize,
    /// The Galaxy server the entry names (`source:`), if any.
    pub(crate) source: Option<String>,
}

/// Reads every requirements file of the repository at `repo` (blocking: call on a blocking
/// thread). A file that cannot be read or parsed is an issue; the others are still read.
pub(crate) fn read_requirements(repo: &Path) -> (Vec<RequirementsFile>, Vec<CatalogIssue>) {
    let mut files = Vec::new();
    let mut issues = Vec::new();
    for (relative, bare_kind) in FILES {
        let path = repo.join(relative);
        if !path.is_file() {
            continue;
        }
        let issue = |line: Option<usize>, message: String| CatalogIssue {
            path: (*relative).to_owned(),
            line,
            message,
        };
        let text = match read_small(&path) {
            Ok(text) => text,
            Err(reason) => {
                issues.push(issue(None, reason));
                continue;
            }
        };
        match parse_requirements(&text, relative, *bare_kind, repo) {
            Ok(file) => files.push(file),
            Err((line, reason)) => issues.push(issue(line, reason)),
        }
    }
    (files, issues)
}

fn read_small(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|error| format!("the requirements file cannot be read: {error}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "the requirements file is larger than {MAX_FILE_BYTES} bytes and was not read"
        ));
    }
    std::fs::read_to_string(path)
        .map_err(|error| format!("the requirements file cannot be read: {error}"))
}

/// Parses one requirements file (`relative` names it in messages; `repo` resolves `type: dir`
/// collections). The error carries the line when YAML knows it.
pub(crate) fn parse_requirements(
    text: &str,
    relative: &str,
    bare_kind: Kind,
    repo: &Path,
) -> Result<RequirementsFile, (Option<usize>, String)> {
    let value: Value = serde_yaml_ng::from_str(text).map_err(|error| {
        (
            error.location().map(|l| l.line()),
            format!("the requirements file is not valid YAML: {error}"),
        )
    })?;
    let mut file = RequirementsFile {
        path: relative.to_owned(),
        roles: Vec::new(),
        collections: Vec::new(),
        bare_list: false,
        requirements: Vec::new(),
    };
    match value {
        Value::Null => {}
        Value::Sequence(entries) => {
            file.bare_list = true;
            let lines = entry_lines(text, None);
            for (index, entry) in entries.iter().enumerate() {
                file.add(bare_kind, entry, line_at(&lines, index, 1), repo);
            }
            match bare_kind {
                Kind::Role => file.roles = entries,
                Kind::Collection => file.collections = entries,
            }
        }
        Value::Mapping(mapping) => {
            for (key, kind) in [("roles", Kind::Role), ("collections", Kind::Collection)] {
                let entries = match mapping.get(key) {
                    None | Some(Value::Null) => continue,
                    Some(Value::Sequence(entries)) => entries.clone(),
                    Some(_) => {
                        return Err((
                            section_line(text, key),
                            format!("`{key}:` must be a list of {kind}s"),
                        ));
                    }
                };
                let lines = entry_lines(text, Some(key));
                let section = section_line(text, key).unwrap_or(1);
                for (index, entry) in entries.iter().enumerate() {
                    file.add(kind, entry, line_at(&lines, index, section), repo);
                }
                match kind {
                    Kind::Role => file.roles = entries,
                    Kind::Collection => file.collections = entries,
                }
            }
        }
        _ => {
            return Err((
                Some(1),
                "a requirements file is a list of roles, or a mapping with `roles:` and \
                 `collections:` lists"
                    .to_owned(),
            ));
        }
    }
    Ok(file)
}

impl RequirementsFile {
    fn add(&mut self, kind: Kind, entry: &Value, line: usize, repo: &Path) {
        let named = match kind {
            Kind::Role => role_entry_name(entry),
            Kind::Collection => collection_entry_name(entry, repo),
        };
        if let Some(name) = named {
            let source = entry
                .as_mapping()
                .and_then(|m| text_field(m, "source"))
                .map(str::to_owned);
            self.requirements.push(Requirement {
                kind,
                name,
                file: self.path.clone(),
                line,
                source,
            });
        }
    }
}

fn text_field<'m>(mapping: &'m Mapping, key: &str) -> Option<&'m str> {
    mapping
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// The directory name a role entry installs as, the way `ansible-galaxy` names it: `name:`,
/// else the Galaxy name, else the repository or archive name of its source. The old
/// `src,version,name` form is understood. `include:` entries name no role.
fn role_entry_name(entry: &Value) -> Option<String> {
    let (source, name) = match entry {
        Value::String(text) => (text.as_str(), None),
        Value::Mapping(mapping) => {
            if mapping.contains_key("include") {
                return None;
            }
            let name = text_field(mapping, "name");
            match text_field(mapping, "src").or_else(|| text_field(mapping, "role")) {
                Some(source) => (source, name),
                None => (name?, None),
            }
        }
        _ => return None,
    };
    let mut parts = source.split(',').map(str::trim);
    let source = parts.next().unwrap_or_default();
    let old_name = parts.nth(1).filter(|n| !n.is_empty());
    let name = name.or(old_name).map(str::to_owned);
    name.or_else(|| Some(repository_name(source)))
        .filter(|n| !n.is_empty())
}

/// The name a collection entry is used under: `namespace.name` for Galaxy entries and for
/// local directories (from their `galaxy.yml`) and `namespace-name-version.tar.gz` archives;
/// else the repository name of a git or URL source.
fn collection_entry_name(entry: &Value, repo: &Path) -> Option<String> {
    let (name, kind) = match entry {
        Value::String(text) => (text.trim(), None),
        Value::Mapping(mapping) => (text_field(mapping, "name")?, text_field(mapping, "type")),
        _ => return None,
    };
    let looks_like_source = name.contains("://")
        || name.starts_with("git+")
        || name.starts_with('.')
        || name.starts_with('/')
        || name.ends_with(".tar.gz");
    match kind {
        Some("dir") => return Some(directory_collection(repo, name)),
        Some("galaxy") => return Some(name.to_owned()),
        None if !looks_like_source => {
            // "namespace.name:>=1.0" is also allowed as a string.
            return Some(name.split(':').next().unwrap_or(name).trim().to_owned());
        }
        _ => {}
    }
    if name.starts_with('.') || name.starts_with('/') {
        let path = repo.join(name);
        if path.is_dir() {
            return Some(directory_collection(repo, name));
        }
    }
    let base = repository_name(name);
    // An archive built by `ansible-galaxy collection build`: namespace-name-1.2.3.tar.gz.
    let archive = name
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name);
    if archive.ends_with(".tar.gz") {
        let mut parts = base.splitn(3, '-');
        if let (Some(namespace), Some(collection), Some(_)) =
            (parts.next(), parts.next(), parts.next())
        {
            return Some(format!("{namespace}.{collection}"));
        }
    }
    Some(base)
}

/// `namespace.name` of the collection in the directory `name` (relative to the repository),
/// from its `galaxy.yml`; its directory name when that cannot be read.
fn directory_collection(repo: &Path, name: &str) -> String {
    let dir = repo.join(name);
    let from_metadata = std::fs::read_to_string(dir.join("galaxy.yml"))
        .ok()
        .and_then(|text| serde_yaml_ng::from_str::<Value>(&text).ok())
        .and_then(|meta| {
            let namespace = meta.get("namespace")?.as_str()?.trim().to_owned();
            let collection = meta.get("name")?.as_str()?.trim().to_owned();
            Some(format!("{namespace}.{collection}"))
        });
    from_metadata.unwrap_or_else(|| repository_name(name))
}

/// The last path component of a source (URL, `git@host:path`, file), without `git+`, `.git`
/// and archive extensions: `git+https://github.com/x/ansible-role-nginx.git` →
/// `ansible-role-nginx`. A Galaxy name is returned as it is.
fn repository_name(source: &str) -> String {
    let source = source
        .trim()
        .trim_start_matches("git+")
        .trim_end_matches('/');
    let last = source.rsplit(['/', ':']).next().unwrap_or(source);
    let mut name = last;
    for suffix in [".git", ".tar.gz", ".tgz", ".tar", ".zip"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped;
            break;
        }
    }
    name.to_owned()
}

fn line_at(lines: &[usize], index: usize, fallback: usize) -> usize {
    lines.get(index).copied().unwrap_or(fallback)
}

/// One-based line of `key:` at the top level.
fn section_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| is_top_level_key(line, key))
        .map(|index| index + 1)
}

fn is_top_level_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// One-based lines of the block-style list items of the top-level `key:` (or of the document,
/// for a bare list), in order. YAML has no line numbers once parsed, so the items are found in
/// the text: lines starting with '-' at the list's indentation. Flow-style lists give none.
fn entry_lines(text: &str, key: Option<&str>) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    if let Some(key) = key
        && lines
            .by_ref()
            .find(|(_, line)| is_top_level_key(line, key))
            .is_none()
    {
        return Vec::new();
    }
    let mut indent = None;
    let mut found = Vec::new();
    for (index, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let depth = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        // Another top-level key ends the section.
        if key.is_some() && depth == 0 && !is_item {
            break;
        }
        if !is_item {
            continue;
        }
        match indent {
            None => {
                indent = Some(depth);
                found.push(index + 1);
            }
            Some(level) if level == depth => found.push(index + 1),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, relative: &str, bare: Kind) -> RequirementsFile {
        parse_requirements(text, relative, bare, Path::new("/nonexistent")).expect("parses")
    }

    fn named(file: &RequirementsFile) -> Vec<(Kind, &str, usize)> {
        file.requirements
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.line))
            .collect()
    }

    #[test]
    fn both_forms_with_lines() {
        let text = "\
---
# Galaxy content this repository needs.
roles:
  - name: geerlingguy.docker
    version: 7.1.0

  - src: https://github.com/example/ansible-role-nginx.git
    scm: git
  - src: git+file:///srv/git/my-role.git
    name: mine.role
  - geerlingguy.nfs,2.0.0
  - src: https://example.com/files/backup.tar.gz
  - include: more.yml

collections:
- name: community.docker
- name: vladgh.samba
  source: https://galaxy.example.com
- community.general:>=8.0
- name: https://github.com/acme/acme.tools.git
  type: git
- name: ./dist/acme-net-1.2.0.tar.gz
  type: file
";
        let file = parse(text, "requirements.yml", Kind::Role);
        assert!(!file.bare_list);
        assert_eq!(file.roles.len(), 6);
        assert_eq!(file.collections.len(), 5);
        assert_eq!(
            named(&file),
            [
                (Kind::Role, "geerlingguy.docker", 4),
                (Kind::Role, "ansible-role-nginx", 7),
                (Kind::Role, "mine.role", 9),
                (Kind::Role, "geerlingguy.nfs", 11),
                (Kind::Role, "backup", 12),
                (Kind::Collection, "community.docker", 16),
                (Kind::Collection, "vladgh.samba", 17),
                (Kind::Collection, "community.general", 19),
                (Kind::Collection, "acme.tools", 20),
                (Kind::Collection, "acme.net", 22),
            ]
        );
        assert_eq!(
            file.requirements[6].source.as_deref(),
            Some("https://galaxy.example.com")
        );
    }

    #[test]
    fn bare_lists_are_roles_except_under_collections() {
        let roles = parse(
            "- geerlingguy.docker\n- name: local.thing\n  src: ../thing.tar.gz\n",
            "roles/requirements.yml",
            Kind::Role,
        );
        assert!(roles.bare_list);
        assert_eq!(
            named(&roles),
            [
                (Kind::Role, "geerlingguy.docker", 1),
                (Kind::Role, "local.thing", 2)
            ]
        );
        let collections = parse(
            "---\n- name: community.docker\n  version: '>=3'\n",
            "collections/requirements.yml",
            Kind::Collection,
        );
        assert_eq!(
            named(&collections),
            [(Kind::Collection, "community.docker", 2)]
        );
        assert_eq!(collections.collections.len(), 1);
        let flow = parse("roles: [a.b, c.d]\n", "requirements.yml", Kind::Role);
        assert_eq!(
            named(&flow),
            [(Kind::Role, "a.b", 1), (Kind::Role, "c.d", 1)],
            "flow lists point at their section"
        );
        assert!(
            parse("", "requirements.yml", Kind::Role)
                .requirements
                .is_empty()
        );
    }

    #[test]
    fn local_collection_directories_are_named_by_their_metadata() {
        let repo = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(repo.path().join("src/tools")).expect("mkdir");
        std::fs::write(
            repo.path().join("src/tools/galaxy.yml"),
            "namespace: localns\nname: tools\nversion: 1.0.0\n",
        )
        .expect("write");
        let file = parse_requirements(
            "collections:\n  - name: ./src/tools\n    type: dir\n  - name: ./src/missing\n    type: dir\n",
            "requirements.yml",
            Kind::Role,
            repo.path(),
        )
        .expect("parses");
        assert_eq!(
            named(&file),
            [
                (Kind::Collection, "localns.tools", 2),
                (Kind::Collection, "missing", 4)
            ]
        );
    }

    #[test]
    fn broken_files_say_where() {
        let error = parse_requirements(
            "roles:\n  - name: a\n  bad: [\n",
            "requirements.yml",
            Kind::Role,
            Path::new("/"),
        )
        .expect_err("invalid YAML");
        assert!(error.0.is_some(), "{error:?}");
        assert!(error.1.contains("not valid YAML"), "{error:?}");
        let error = parse_requirements(
            "roles: geerlingguy.docker\n",
            "requirements.yml",
            Kind::Role,
            Path::new("/"),
        )
        .expect_err("not a list");
        assert_eq!(
            error,
            (Some(1), "`roles:` must be a list of roles".to_owned())
        );
        assert!(
            parse_requirements("42\n", "requirements.yml", Kind::Role, Path::new("/")).is_err()
        );
    }
}
