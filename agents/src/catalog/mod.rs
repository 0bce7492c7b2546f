//! Discovery of the playbooks in an infrastructure repository.
//!
//! The catalog is what an infra agent tells the orchestrator it can run; the planner only ever
//! references playbooks from it. For every playbook it records what a person would want to know
//! before running it: the roles it uses (transitively, through `roles:`, `include_role`,
//! `import_role` and role dependencies), its tags, the docker-compose stacks and templates it
//! ships, the services it deploys, the variables it reads with their defaults, and a
//! description.
//!
//! Scanning is deliberately forgiving: a broken file becomes a [`CatalogIssue`] (with its line
//! when the parser knows it) and the rest of the repository is still indexed, because a typo in
//! one role must not make every other playbook unavailable.
//!
//! Scanning reads the file system synchronously; async callers run [`scan`] on a blocking thread
//! (`tokio::task::spawn_blocking`). [`refresh`] keeps a catalog current while an agent runs.
//!
//! Layout: `source` reads files, `jinja` reads templates, `tasks` walks task lists, `roles`
//! resolves and reads roles, `playbook` follows roles and imports and assembles catalog
//! entries with their plays, `parts` decides which tagged parts tags select on their own,
//! `readme` reads what the README says about them, `vars` finds defaults, `compose` reads
//! compose stacks, `services` names services.

mod compose;
mod jinja;
mod parts;
mod playbook;
mod readme;
pub mod refresh;
mod roles;
mod services;
mod source;
mod tasks;
mod vars;

#[cfg(test)]
mod tests;

use crate::AgentError;
use chiffon_proto::v1::Playbook;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// Directory, relative to the repository root, whose YAML files are all candidate playbooks.
const PLAYBOOK_DIR: &str = "playbooks";

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

/// The playbooks found in a repository, and the files that could not be indexed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Playbooks, sorted by path.
    pub playbooks: Vec<Playbook>,
    /// Problems found in the repository's files, sorted by path and line.
    pub issues: Vec<CatalogIssue>,
}

/// A problem with one file of the repository: a playbook left out of the catalog, or a role,
/// template or variables file that could only be partly read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CatalogIssue {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// One-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong, for the person who maintains the repository.
    pub message: String,
}

impl CatalogIssue {
    fn new(path: &str, line: Option<usize>, message: String) -> Self {
        Self {
            path: path.to_owned(),
            line,
            message,
        }
    }
}

impl std::fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl From<CatalogIssue> for chiffon_proto::v1::CatalogIssue {
    fn from(issue: CatalogIssue) -> Self {
        Self {
            path: issue.path,
            line: issue
                .line
                .map_or(0, |line| i32::try_from(line).unwrap_or(i32::MAX)),
            message: issue.message,
            // The orchestrator fills in which agent reported it.
            agent_id: String::new(),
        }
    }
}

/// Indexes the playbooks of the repository at `repo`: every YAML file under `playbooks/` (except
/// Ansible support directories such as `vars/` or `templates/`) and every top-level `*.yml` /
/// `*.yaml` file that is a list of plays, each with what it uses from the rest of the repository
/// (roles, templates, compose stacks, variables).
///
/// Fails only when `repo` itself is not a readable directory; problems with single files are
/// returned in [`Catalog::issues`].
pub fn scan(repo: &Path) -> Result<Catalog, AgentError> {
    let mut scanner = Scanner::new(Repo::open(repo)?);
    let candidates = scanner.candidates()?;
    let mut playbooks = Vec::new();
    for (path, origin) in candidates {
        if let Some(info) = scanner.playbook(&path, origin) {
            playbooks.push(scanner.entry(&info));
        }
    }
    playbooks.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Catalog {
        playbooks,
        issues: scanner.issues.into_iter().collect(),
    })
}

/// Where a candidate file was found, which decides how strictly it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Under `playbooks/`, or imported by a playbook: a YAML list of mappings there is meant to
    /// be a playbook.
    PlaybookDir,
    /// At the repository root, next to files like `requirements.yml` or `compose.yaml`, which
    /// are not playbooks and are skipped quietly.
    TopLevel,
}

/// The repository and the Ansible settings that decide where things are looked up.
#[derive(Debug)]
struct Repo {
    /// The repository root, canonical, so that every path resolved inside it can be checked to
    /// stay inside it.
    root: PathBuf,
    /// Directories searched for roles after the playbook's own `roles/`: `roles_path` of
    /// `ansible.cfg` (the entries inside the repository), else `roles/`.
    roles_path: Vec<PathBuf>,
    /// Directories whose `group_vars/` apply to every playbook: those of the inventory sources
    /// `ansible.cfg` names (else `inventory/`), and the repository root.
    inventory_dirs: Vec<PathBuf>,
}

impl Repo {
    fn open(repo: &Path) -> Result<Self, AgentError> {
        let repo_error = |reason: String| AgentError::Repository {
            path: repo.to_path_buf(),
            reason,
        };
        let metadata = fs::metadata(repo).map_err(|e| repo_error(e.to_string()))?;
        if !metadata.is_dir() {
            return Err(repo_error("it is not a directory".to_owned()));
        }
        let root = repo.canonicalize().map_err(|e| repo_error(e.to_string()))?;
        let settings = AnsibleSettings::read(&root);
        let mut repo = Self {
            root,
            roles_path: Vec::new(),
            inventory_dirs: Vec::new(),
        };
        repo.roles_path = repo.setting_dirs(&settings.roles_path, ':', false);
        if repo.roles_path.is_empty() {
            repo.roles_path.push(repo.root.join("roles"));
        }
        let mut inventory_dirs = repo.setting_dirs(&settings.inventory, ',', true);
        if settings.inventory.is_none() && repo.root.join("inventory").is_dir() {
            inventory_dirs.push(repo.root.join("inventory"));
        }
        inventory_dirs.push(repo.root.clone());
        inventory_dirs.dedup();
        repo.inventory_dirs = inventory_dirs;
        Ok(repo)
    }

    /// Directories named by a path-list setting, resolved against the root, kept only when they
    /// exist inside the repository; a file entry stands for its directory when `files_too`.
    fn setting_dirs(
        &self,
        setting: &Option<String>,
        separator: char,
        files_too: bool,
    ) -> Vec<PathBuf> {
        let Some(setting) = setting else {
            return Vec::new();
        };
        setting
            .split(separator)
            .map(str::trim)
            // `~` and environment variables point outside the repository.
            .filter(|entry| !entry.is_empty() && !entry.starts_with(['~', '$']))
            .filter_map(|entry| self.inside(&self.root.join(entry)))
            .filter_map(|path| {
                if path.is_dir() {
                    Some(path)
                } else if files_too && path.is_file() {
                    path.parent().map(Path::to_path_buf)
                } else {
                    None
                }
            })
            .collect()
    }

    /// `path` made canonical, if it exists and lies inside the repository (a symlink may point
    /// anywhere; the catalog only ever reads the repository).
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        let canonical = path.canonicalize().ok()?;
        canonical.starts_with(&self.root).then_some(canonical)
    }

    /// The first of `dirs` joined with `name` that is a file inside the repository.
    fn find_file(&self, dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
        dirs.iter()
            .map(|dir| dir.join(name))
            .filter(|path| path.is_file())
            .find_map(|path| self.inside(&path))
    }

    /// `path` relative to the root, `/`-separated; `None` when it is outside or not UTF-8.
    fn relative(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| match c {
                Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        Some(parts?.join("/"))
    }
}

/// The settings of the repository's `ansible.cfg` the catalog needs.
#[derive(Debug, Default)]
struct AnsibleSettings {
    roles_path: Option<String>,
    inventory: Option<String>,
}

impl AnsibleSettings {
    /// Reads `[defaults]` of `<root>/ansible.cfg`; a missing or unreadable file means defaults.
    fn read(root: &Path) -> Self {
        let mut settings = Self::default();
        let Ok(text) = source::read_text(&root.join("ansible.cfg"), "ansible.cfg") else {
            return settings;
        };
        let mut in_defaults = false;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_defaults = section.trim() == "defaults";
                continue;
            }
            let Some((key, value)) = line.split_once(['=', ':']) else {
                continue;
            };
            if !in_defaults {
                continue;
            }
            let value = Some(value.trim().to_owned());
            match key.trim() {
                "roles_path" => settings.roles_path = value,
                "inventory" | "hostfile" => settings.inventory = value,
                _ => {}
            }
        }
        settings
    }
}

/// The state of one scan: the repository, what was read so far (each role, template, compose
/// file and group_vars directory is read once however many playbooks use it) and the issues.
struct Scanner {
    repo: Repo,
    issues: BTreeSet<CatalogIssue>,
    group_vars: HashMap<PathBuf, Rc<vars::GroupVars>>,
    roles: HashMap<(PathBuf, Option<String>), Rc<roles::RoleInfo>>,
    /// Variables each template reads.
    templates: HashMap<PathBuf, Rc<BTreeSet<String>>>,
    stacks: HashMap<PathBuf, Rc<compose::Stack>>,
    /// Analysed playbooks; `None` for files that are not playbooks or could not be read.
    playbooks: HashMap<PathBuf, Option<Rc<playbook::PlaybookInfo>>>,
    /// The repository's README, once read.
    readme: Option<Rc<readme::Readme>>,
}

impl Scanner {
    fn new(repo: Repo) -> Self {
        Self {
            repo,
            issues: BTreeSet::new(),
            group_vars: HashMap::new(),
            roles: HashMap::new(),
            templates: HashMap::new(),
            stacks: HashMap::new(),
            playbooks: HashMap::new(),
            readme: None,
        }
    }

    /// Records a problem; the same problem found through several playbooks is recorded once.
    fn issue(&mut self, issue: CatalogIssue) {
        self.issues.insert(issue);
    }

    /// The files that may be playbooks: top-level YAML files and YAML under `playbooks/`.
    fn candidates(&mut self) -> Result<Vec<(PathBuf, Origin)>, AgentError> {
        let root = self.repo.root.clone();
        let repo_error = |e: std::io::Error| AgentError::Repository {
            path: root.clone(),
            reason: e.to_string(),
        };
        let mut candidates = Vec::new();
        for entry in fs::read_dir(&root).map_err(repo_error)? {
            let entry = entry.map_err(repo_error)?;
            // Symlinks are not followed anywhere: they could leave the repository or loop.
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_file() && source::is_yaml(&entry.path()) {
                candidates.push((entry.path(), Origin::TopLevel));
            }
        }
        let playbook_dir = root.join(PLAYBOOK_DIR);
        if playbook_dir.is_dir() {
            self.collect_playbook_dir(&playbook_dir, &mut candidates);
        }
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(candidates)
    }

    fn collect_playbook_dir(&mut self, dir: &Path, candidates: &mut Vec<(PathBuf, Origin)>) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                let path = self
                    .repo
                    .relative(dir)
                    .unwrap_or_else(|| dir.to_string_lossy().into());
                self.issue(CatalogIssue::new(
                    &path,
                    None,
                    format!("the directory cannot be read: {error}"),
                ));
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
                    self.collect_playbook_dir(&path, candidates);
                }
            } else if file_type.is_file() && source::is_yaml(&path) {
                candidates.push((path, Origin::PlaybookDir));
            }
        }
    }
}
