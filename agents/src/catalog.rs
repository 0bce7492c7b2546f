//! Discovery of the playbooks in an infrastructure repository.
//!
//! The catalog is what an infra agent tells the orchestrator it can run; the planner only ever
//! references playbooks from it. Scanning is deliberately forgiving: one broken file becomes a
//! [`CatalogIssue`] and the rest of the repository is still indexed, because a typo in one
//! playbook must not make every other playbook unavailable.
//!
//! Scanning reads the file system synchronously; async callers run [`scan`] on a blocking thread
//! (`tokio::task::spawn_blocking`).

use crate::AgentError;
use chiffon_proto::v1::Playbook;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path};

/// Directory, relative to the repository root, whose YAML files are all candidate playbooks.
const PLAYBOOK_DIR: &str = "playbooks";

/// Files larger than this are not playbooks anyone wrote by hand; reading them would only cost
/// memory.
const MAX_PLAYBOOK_BYTES: u64 = 1024 * 1024;

/// Directory names inside `playbooks/` that hold Ansible support files (task includes, variables,
/// templates, roles) rather than playbooks; their YAML would only produce noise.
const SUPPORT_DIRS: &[&str] = &[
    "collections",
    "defaults",
    "files",
    "filter_plugins",
    "group_vars",
    "handlers",
    "host_vars",
    "library",
    "meta",
    "module_utils",
    "roles",
    "tasks",
    "templates",
    "vars",
];

/// Keys under which a play lists tasks; each may nest `block`/`rescue`/`always`.
const TASK_LIST_KEYS: &[&str] = &["pre_tasks", "tasks", "post_tasks", "handlers"];

/// Keys of a block whose values are further task lists.
const BLOCK_KEYS: &[&str] = &["block", "rescue", "always"];

/// Keys that make a playbook entry an import of another playbook instead of a play.
const IMPORT_KEYS: &[&str] = &["import_playbook", "ansible.builtin.import_playbook"];

/// The playbooks found in a repository, and the files that could not be indexed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Playbooks, sorted by path.
    pub playbooks: Vec<Playbook>,
    /// Files that look like playbooks but could not be read or parsed, sorted by path.
    pub issues: Vec<CatalogIssue>,
}

/// A file left out of the catalog, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogIssue {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// One-based line of the problem, when the parser knows it.
    pub line: Option<usize>,
    /// What is wrong, for the person who maintains the repository.
    pub message: String,
}

impl std::fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Indexes the playbooks of the repository at `repo`: every YAML file under `playbooks/` (except
/// Ansible support directories such as `vars/` or `templates/`) and every top-level `*.yml` /
/// `*.yaml` file that is a list of plays.
///
/// Fails only when `repo` itself is not a readable directory; problems with single files are
/// returned in [`Catalog::issues`].
pub fn scan(repo: &Path) -> Result<Catalog, AgentError> {
    let repo_error = |reason: String| AgentError::Repository {
        path: repo.to_path_buf(),
        reason,
    };
    let metadata = fs::metadata(repo).map_err(|e| repo_error(e.to_string()))?;
    if !metadata.is_dir() {
        return Err(repo_error("it is not a directory".to_owned()));
    }

    let mut catalog = Catalog::default();
    let top_level = fs::read_dir(repo).map_err(|e| repo_error(e.to_string()))?;
    let mut candidates = Vec::new();
    for entry in top_level {
        let entry = entry.map_err(|e| repo_error(e.to_string()))?;
        // Symlinks are not followed anywhere: they could leave the repository or loop.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_file() && is_yaml(&entry.path()) {
            candidates.push((entry.path(), Origin::TopLevel));
        }
    }
    let playbook_dir = repo.join(PLAYBOOK_DIR);
    if playbook_dir.is_dir() {
        collect_playbook_dir(repo, &playbook_dir, &mut candidates, &mut catalog.issues);
    }

    for (path, origin) in candidates {
        let Some(relative) = relative_path(repo, &path) else {
            catalog.issues.push(CatalogIssue {
                path: path.to_string_lossy().into_owned(),
                line: None,
                message: "the file name is not valid UTF-8".to_owned(),
            });
            continue;
        };
        match read_playbook(&path, &relative, origin) {
            Ok(Some(playbook)) => catalog.playbooks.push(playbook),
            Ok(None) => {}
            Err(issue) => catalog.issues.push(issue),
        }
    }
    catalog.playbooks.sort_by(|a, b| a.path.cmp(&b.path));
    catalog.issues.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(catalog)
}

/// Where a candidate file was found, which decides how strictly it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Under `playbooks/`: a YAML list of mappings there is meant to be a playbook.
    PlaybookDir,
    /// At the repository root, next to files like `requirements.yml` or `compose.yaml`, which
    /// are not playbooks and are skipped quietly.
    TopLevel,
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

fn collect_playbook_dir(
    repo: &Path,
    dir: &Path,
    candidates: &mut Vec<(std::path::PathBuf, Origin)>,
    issues: &mut Vec<CatalogIssue>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            issues.push(CatalogIssue {
                path: relative_path(repo, dir).unwrap_or_else(|| dir.to_string_lossy().into()),
                line: None,
                message: format!("the directory cannot be read: {error}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if file_type.is_dir() {
            if !name.starts_with('.') && !SUPPORT_DIRS.contains(&name.as_ref()) {
                collect_playbook_dir(repo, &path, candidates, issues);
            }
        } else if file_type.is_file() && is_yaml(&path) {
            candidates.push((path, Origin::PlaybookDir));
        }
    }
}

/// `path` relative to `repo`, `/`-separated; `None` when it is not valid UTF-8.
fn relative_path(repo: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(repo).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    Some(parts?.join("/"))
}

/// Reads one candidate; `Ok(None)` means "valid YAML, but not a playbook".
fn read_playbook(
    path: &Path,
    relative: &str,
    origin: Origin,
) -> Result<Option<Playbook>, CatalogIssue> {
    let issue = |line: Option<usize>, message: String| CatalogIssue {
        path: relative.to_owned(),
        line,
        message,
    };
    let size = fs::metadata(path)
        .map_err(|e| issue(None, format!("cannot be read: {e}")))?
        .len();
    if size > MAX_PLAYBOOK_BYTES {
        return Err(issue(
            None,
            format!(
                "is {size} bytes, larger than the {MAX_PLAYBOOK_BYTES} bytes a playbook may have"
            ),
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| issue(None, format!("cannot be read: {e}")))?;
    let document: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| issue(e.location().map(|l| l.line()), format!("invalid YAML: {e}")))?;

    // A mapping or scalar is a vars file or some other tool's configuration: not a playbook,
    // and not worth a warning either.
    let Value::Sequence(entries) = document else {
        return Ok(None);
    };
    let mappings: Vec<&Mapping> = entries.iter().filter_map(Value::as_mapping).collect();
    let plays: Vec<&Mapping> = mappings.iter().copied().filter(|m| is_play(m)).collect();
    let imports = mappings.iter().filter(|m| is_import(m)).count();
    if entries.is_empty() || (plays.is_empty() && imports == 0) {
        // A list of tasks (an include file) or of anything else.
        return Ok(None);
    }
    if let Some(position) = entries
        .iter()
        .position(|e| !e.as_mapping().is_some_and(|m| is_play(m) || is_import(m)))
    {
        if origin == Origin::TopLevel {
            return Ok(None);
        }
        return Err(issue(
            None,
            format!(
                "entry {} is neither a play (it has no `hosts`) nor an `import_playbook`",
                position + 1
            ),
        ));
    }

    let mut hosts = Vec::new();
    for play in &plays {
        for pattern in play.get("hosts").map(patterns).unwrap_or_default() {
            if !hosts.contains(&pattern) {
                hosts.push(pattern);
            }
        }
    }
    let mut tags = BTreeSet::new();
    for play in &plays {
        collect_play_tags(play, &mut tags);
    }
    let play_names: Vec<String> = plays
        .iter()
        .filter_map(|p| string_field(p, "name"))
        .collect();
    let stem = Path::new(relative)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| relative.to_owned());
    let name = plays
        .first()
        .and_then(|p| string_field(p, "name"))
        .unwrap_or(stem);
    let description =
        leading_comment(&text).unwrap_or_else(|| derived_description(&play_names, &hosts, imports));

    Ok(Some(Playbook {
        path: relative.to_owned(),
        name,
        hosts,
        tags: tags.into_iter().collect(),
        description,
        plays: play_names.clone(),
        ..Playbook::default()
    }))
}

fn is_play(entry: &Mapping) -> bool {
    entry.contains_key("hosts")
}

fn is_import(entry: &Mapping) -> bool {
    IMPORT_KEYS.iter().any(|key| entry.contains_key(*key))
}

/// A non-empty string field of a mapping, trimmed.
fn string_field(mapping: &Mapping, key: &str) -> Option<String> {
    let value = mapping.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Host patterns of a play's `hosts`: a string (possibly `a:b` or `a,b`, kept as written) or a
/// list of strings.
fn patterns(hosts: &Value) -> Vec<String> {
    match hosts {
        Value::Sequence(items) => items.iter().flat_map(patterns).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

/// Tags of a `tags:` value, which Ansible accepts as a list or a comma-separated string.
fn tag_values(value: &Value) -> Vec<String> {
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

fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn collect_play_tags(play: &Mapping, tags: &mut BTreeSet<String>) {
    if let Some(value) = play.get("tags") {
        tags.extend(tag_values(value));
    }
    if let Some(Value::Sequence(roles)) = play.get("roles") {
        for role in roles.iter().filter_map(Value::as_mapping) {
            if let Some(value) = role.get("tags") {
                tags.extend(tag_values(value));
            }
        }
    }
    for key in TASK_LIST_KEYS {
        if let Some(Value::Sequence(tasks)) = play.get(*key) {
            collect_task_tags(tasks, tags);
        }
    }
}

fn collect_task_tags(tasks: &[Value], tags: &mut BTreeSet<String>) {
    for task in tasks.iter().filter_map(Value::as_mapping) {
        if let Some(value) = task.get("tags") {
            tags.extend(tag_values(value));
        }
        for key in BLOCK_KEYS {
            if let Some(Value::Sequence(inner)) = task.get(*key) {
                collect_task_tags(inner, tags);
            }
        }
    }
}

/// The comment block a playbook starts with (after an optional `---`), joined into one line. A
/// leading `description:` label is dropped so `# Description: Deploys X` reads as "Deploys X".
fn leading_comment(text: &str) -> Option<String> {
    let mut lines = text.lines().map(str::trim).peekable();
    while lines.next_if(|l| l.is_empty() || *l == "---").is_some() {}
    let mut words = Vec::new();
    for line in lines {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        // Shebangs and editor modelines are not prose.
        if comment.starts_with('!') || comment.contains("vim:") || comment.contains("-*-") {
            continue;
        }
        let comment = comment.trim_start_matches('#').trim();
        if !comment.is_empty() {
            words.push(comment);
        }
    }
    let joined = words.join(" ");
    let stripped = match joined.split_once(':') {
        Some((label, rest)) if label.trim().eq_ignore_ascii_case("description") => rest.trim(),
        _ => joined.trim(),
    };
    (!stripped.is_empty()).then(|| stripped.to_owned())
}

/// A description for a playbook without a comment header, from what its plays say.
fn derived_description(play_names: &[String], hosts: &[String], imports: usize) -> String {
    let mut parts = Vec::new();
    if !play_names.is_empty() {
        parts.push(play_names.join("; "));
    }
    if !hosts.is_empty() {
        parts.push(format!("targets {}", hosts.join(", ")));
    }
    if imports > 0 {
        parts.push(format!(
            "imports {imports} other playbook{}",
            if imports == 1 { "" } else { "s" }
        ));
    }
    let mut description = parts.join("; ");
    if let Some(first) = description.get(..1) {
        description = first.to_uppercase() + &description[1..];
    }
    description
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, content) in files {
            let full: PathBuf = dir.path().join(path);
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(full, content).expect("write");
        }
        dir
    }

    const DEPLOY: &str = "\
---
# Deploys Uptime Kuma
# in a container.
- name: Deploy Uptime Kuma
  hosts: monitoring
  tags: [kuma, deploy]
  tasks:
    - name: Create the data directory
      ansible.builtin.file:
        path: /tmp/x
        state: directory
      tags: files
    - block:
        - name: Inner
          ansible.builtin.debug:
            msg: hi
          tags: [inner, kuma]
      rescue:
        - name: Rescue
          ansible.builtin.debug:
            msg: rescued
          tags: 'rescue, cleanup'
- hosts: [web, nas]
  roles:
    - role: portal
      tags: portal
";

    #[test]
    fn a_playbook_is_described_from_its_plays_and_header() {
        let dir = repo(&[("playbooks/deploy-kuma.yml", DEPLOY)]);
        let catalog = scan(dir.path()).expect("scan");
        assert!(catalog.issues.is_empty(), "{:?}", catalog.issues);
        assert_eq!(
            catalog.playbooks,
            vec![Playbook {
                path: "playbooks/deploy-kuma.yml".into(),
                name: "Deploy Uptime Kuma".into(),
                hosts: vec!["monitoring".into(), "web".into(), "nas".into()],
                tags: [
                    "cleanup", "deploy", "files", "inner", "kuma", "portal", "rescue"
                ]
                .map(String::from)
                .to_vec(),
                description: "Deploys Uptime Kuma in a container.".into(),
                plays: catalog.playbooks[0].plays.clone(),
                ..Playbook::default()
            }]
        );
    }

    #[test]
    fn without_a_header_the_description_comes_from_the_plays() {
        let dir = repo(&[(
            "playbooks/sub/update.yaml",
            "- name: update config\n  hosts: all\n  tasks: []\n",
        )]);
        let catalog = scan(dir.path()).expect("scan");
        let playbook = &catalog.playbooks[0];
        assert_eq!(playbook.path, "playbooks/sub/update.yaml");
        assert_eq!(playbook.name, "update config");
        assert_eq!(playbook.description, "Update config; targets all");
    }

    #[test]
    fn a_play_without_a_name_is_named_after_the_file() {
        let dir = repo(&[(
            "playbooks/backup.yml",
            "# Description: Backs up the NAS\n- hosts: nas\n",
        )]);
        let playbook = &scan(dir.path()).expect("scan").playbooks[0];
        assert_eq!(playbook.name, "backup");
        assert_eq!(playbook.description, "Backs up the NAS");
        assert!(playbook.tags.is_empty());
    }

    #[test]
    fn a_broken_file_is_reported_with_its_line_and_the_scan_goes_on() {
        let dir = repo(&[
            ("playbooks/a.yml", "- hosts: all\n"),
            (
                "playbooks/broken.yml",
                "- hosts: all\n  tasks:\n    - name: x\n   bad: [\n",
            ),
            ("playbooks/z.yml", "- hosts: web\n"),
        ]);
        let catalog = scan(dir.path()).expect("scan");
        let paths: Vec<_> = catalog.playbooks.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["playbooks/a.yml", "playbooks/z.yml"]);
        assert_eq!(catalog.issues.len(), 1, "{:?}", catalog.issues);
        let issue = &catalog.issues[0];
        assert_eq!(issue.path, "playbooks/broken.yml");
        assert!(issue.line.is_some_and(|l| (2..=4).contains(&l)), "{issue}");
        assert!(issue.message.contains("invalid YAML"), "{issue}");
    }

    #[test]
    fn a_half_playbook_under_playbooks_is_an_issue() {
        let dir = repo(&[(
            "playbooks/mixed.yml",
            "- hosts: all\n- name: a task\n  debug: {}\n",
        )]);
        let catalog = scan(dir.path()).expect("scan");
        assert!(catalog.playbooks.is_empty());
        assert!(
            catalog.issues[0].message.contains("entry 2"),
            "{:?}",
            catalog.issues
        );
    }

    #[test]
    fn top_level_playbooks_count_and_other_yaml_does_not() {
        let dir = repo(&[
            ("site.yml", "- import_playbook: playbooks/a.yml\n"),
            ("ping.yaml", "- name: Ping\n  hosts: all\n"),
            (
                "requirements.yml",
                "collections:\n  - name: community.docker\n",
            ),
            (
                "compose.yaml",
                "services:\n  kuma:\n    image: louislam/uptime-kuma\n",
            ),
            ("inventory/hosts.yml", "all:\n  hosts:\n    localhost: {}\n"),
            ("playbooks/a.yml", "- hosts: all\n"),
            ("playbooks/vars/main.yml", "- hosts: not-a-playbook\n"),
            ("playbooks/tasks/setup.yml", "- name: a task\n  debug: {}\n"),
            ("playbooks/settings.yml", "port: 3001\n"),
            ("roles/x/tasks/main.yml", "- name: task\n  debug: {}\n"),
        ]);
        let catalog = scan(dir.path()).expect("scan");
        assert!(catalog.issues.is_empty(), "{:?}", catalog.issues);
        let paths: Vec<_> = catalog.playbooks.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["ping.yaml", "playbooks/a.yml", "site.yml"]);
        let site = &catalog.playbooks[2];
        assert_eq!(site.name, "site");
        assert_eq!(site.description, "Imports 1 other playbook");
    }

    #[test]
    fn a_missing_repository_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = scan(&dir.path().join("nope")).expect_err("missing repo");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn comment_headers_skip_document_markers_and_modelines() {
        assert_eq!(
            leading_comment(
                "---\n# vim: ft=yaml\n#\n# Line one\n#   line two\n- hosts: all\n# later"
            ),
            Some("Line one line two".to_owned())
        );
        assert_eq!(leading_comment("- hosts: all\n# not leading"), None);
    }
}
