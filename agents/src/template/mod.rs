//! Templates: "generate a template for deploying SERVICE" writes a playbook and a role scaffold
//! on a new branch of the infrastructure repository, and proves it valid before handing it
//! over.
//!
//! [`generate_service_template`] creates the branch `chiffon/template-<slug>` from `HEAD` in a
//! private worktree ([`crate::git`]; the user's working tree is never touched), writes
//! `playbooks/deploy-<slug>.yml` and `roles/<role>/` (tasks, handlers, defaults, meta, README,
//! and a compose template for a containerised service), commits them, then runs
//! `ansible-playbook --syntax-check` and ansible-lint (offline; the production profile unless
//! the repository's configuration names one) on them. If either complains, the branch is
//! deleted and the error carries the tool's output.
//!
//! The scaffold adopts what the repository already does (see [`render`]): its inventory
//! groups, `homelab_host_root` / `homelab_manage_containers` / `homelab_timezone` from the
//! group variables of `all`, its `common` role, and the Galaxy metadata of its roles.

mod render;

use crate::AgentError;
use crate::ansible;
use crate::git::BranchWorktree;
use crate::suggest::{self, Linter, tool};
use chiffon_types::BranchCommit;
use render::{Conventions, ImageRef, Scaffold};
use serde::{Deserialize, Serialize};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `ansible-playbook --syntax-check` may take.
const SYNTAX_CHECK_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What to tell the operator when ansible-playbook cannot be started.
const PLAYBOOK_HINT: &str = "install ansible-core (scripts/setup puts it in the project venv) \
                             or set the agent's ansible-playbook program to its path";

/// Longest service slug: role, branch and file names are built from it.
const MAX_SLUG_LEN: usize = 48;

/// Files where ansible-lint looks for its configuration, relative to the repository.
const LINT_CONFIG_FILES: [&str; 5] = [
    ".ansible-lint",
    ".ansible-lint.yml",
    ".ansible-lint.yaml",
    ".config/ansible-lint.yml",
    ".config/ansible-lint.yaml",
];

/// Inventory used to syntax-check a repository that has none.
const LOCAL_INVENTORY: &str = "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n";

/// How the service is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateOptions {
    /// A docker compose stack (with a compose template) rather than a system service.
    pub containerised: bool,
    /// The container image, e.g. `grafana/grafana-oss:11.3.0`; without a tag, `latest` (the
    /// defaults say to pin one). By default the service's slug.
    pub image: Option<String>,
    /// The port the service listens on; without one the scaffold publishes no port.
    pub port: Option<u16>,
    /// The play's `hosts`. By default the inventory group named after the service if there is
    /// one (`uptime_kuma` or `uptime-kuma`), else `all`.
    pub hosts: Option<String>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        Self {
            containerised: true,
            image: None,
            port: None,
            hosts: None,
        }
    }
}

/// A service name and the names derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceName {
    /// For people, e.g. `Uptime Kuma`: letters, digits, `-` and `.` words, capitalised when
    /// the name was all lowercase.
    pub display: String,
    /// For files, tags and branches, e.g. `uptime-kuma`.
    pub slug: String,
    /// For the role and its variables, e.g. `uptime_kuma`.
    pub role: String,
}

impl ServiceName {
    /// Derives the names from what the user typed: `Uptime Kuma` → `uptime-kuma` /
    /// `uptime_kuma`. Fails when nothing usable is left, when the result would not start with
    /// a letter (role names must), or when it is too long.
    pub fn parse(name: &str) -> Result<Self, AgentError> {
        let invalid = |reason: String| AgentError::InvalidServiceName {
            name: name.to_owned(),
            reason,
        };
        let words: Vec<&str> = name
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.'))
            .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|word| !word.is_empty())
            .collect();
        let lowercase = !words.iter().any(|w| w.chars().any(char::is_uppercase));
        let display = words
            .iter()
            .map(|word| {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) if lowercase => first.to_uppercase().chain(chars).collect(),
                    _ => (*word).to_owned(),
                }
            })
            .collect::<Vec<String>>()
            .join(" ");
        let slug = crate::git::branch_component(&display);
        if slug.is_empty() {
            return Err(invalid(
                "it has no ASCII letters or digits, which file and role names need".into(),
            ));
        }
        if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(invalid(format!(
                "it would give the role name {slug:?}, and role names must start with a letter"
            )));
        }
        if slug.len() > MAX_SLUG_LEN {
            return Err(invalid(format!(
                "it is too long for a role name (at most {MAX_SLUG_LEN} characters)"
            )));
        }
        let role = slug.replace('-', "_");
        Ok(Self {
            display,
            slug,
            role,
        })
    }

    /// `playbooks/deploy-<slug>.yml`.
    pub fn playbook_path(&self) -> String {
        format!("playbooks/deploy-{}.yml", self.slug)
    }

    /// `roles/<role>`.
    pub fn role_dir(&self) -> String {
        format!("roles/{}", self.role)
    }

    /// `chiffon/template-<slug>`.
    pub fn branch(&self) -> String {
        format!("chiffon/template-{}", self.slug)
    }
}

/// The commit [`generate_service_template`] left on its new branch,
/// `chiffon/template-<slug>`, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCommit {
    /// The commit, every file of the scaffold among its files.
    pub commit: BranchCommit,
    /// The service's names.
    pub service: ServiceName,
    /// The playbook, relative to the repository root.
    pub playbook: String,
    /// The role's directory, relative to the repository root.
    pub role_dir: String,
}

impl From<TemplateCommit> for chiffon_proto::v1::RepositoryCommit {
    fn from(template: TemplateCommit) -> Self {
        template.commit.into()
    }
}

/// The inventory a scaffold reads groups and variable conventions from when the agent knows no
/// other (the example repository's layout).
const FALLBACK_INVENTORY: &str = "inventory/hosts.yml";

/// Generates service templates with chosen tools. [`generate_service_template`] uses
/// [`TemplateGenerator::new`].
#[derive(Debug, Clone)]
pub struct TemplateGenerator {
    ansible_playbook: PathBuf,
    linter: Linter,
    inventory: PathBuf,
}

impl Default for TemplateGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateGenerator {
    /// `ansible-playbook` from [`ansible::default_program`], the default [`Linter`], and the
    /// inventory [`FALLBACK_INVENTORY`] until [`with_inventory`](Self::with_inventory) names the
    /// one the repository's configuration uses.
    pub fn new() -> Self {
        Self {
            ansible_playbook: ansible::default_program(),
            linter: Linter::new(),
            inventory: PathBuf::from(FALLBACK_INVENTORY),
        }
    }

    /// Syntax-checks with `program` instead of the default `ansible-playbook`.
    pub fn with_ansible_playbook(mut self, program: impl Into<PathBuf>) -> Self {
        self.ansible_playbook = program.into();
        self
    }

    /// Lints with `linter`.
    pub fn with_linter(mut self, linter: Linter) -> Self {
        self.linter = linter;
        self
    }

    /// The repository's inventory, relative to its root; used for host groups and the syntax
    /// check when it exists.
    pub fn with_inventory(mut self, inventory: impl Into<PathBuf>) -> Self {
        self.inventory = inventory.into();
        self
    }

    /// Generates the template; see [`generate_service_template`].
    pub async fn generate(
        &self,
        repo: &Path,
        service: &str,
        options: &TemplateOptions,
        request_ref: &str,
    ) -> Result<TemplateCommit, AgentError> {
        let request_ref = suggest::check_request_ref(request_ref)?;
        let name = ServiceName::parse(service)?;
        let image = parse_image(options.image.as_deref(), &name)?;
        if options.port == Some(0) {
            return Err(AgentError::InvalidArgument {
                name: "port",
                reason: "it must be between 1 and 65535".into(),
            });
        }
        let hosts = options.hosts.as_deref().map(check_hosts).transpose()?;
        let repo = suggest::existing_dir(repo).await?;
        // The user's working tree first (an uncommitted role of the same name would clash on
        // merge), then HEAD in the worktree.
        ensure_free(&repo, &repo, &name, service).await?;

        let worktree = BranchWorktree::create(&repo, &name.branch()).await?;
        let built = self
            .build(
                &worktree,
                &repo,
                &name,
                service,
                options,
                image,
                hosts,
                request_ref,
            )
            .await;
        match built {
            Ok(template) => {
                worktree.remove().await?;
                let commit = &template.commit;
                tracing::info!(branch = %commit.branch, commit = %commit.commit_id, service = %name.slug, "template generated");
                Ok(template)
            }
            Err(error) => {
                if let Err(cleanup) = worktree.discard().await {
                    tracing::warn!(error = %cleanup, "cannot discard the template's worktree");
                }
                Err(error)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn build(
        &self,
        worktree: &BranchWorktree,
        repo: &Path,
        name: &ServiceName,
        service: &str,
        options: &TemplateOptions,
        image: ImageRef,
        hosts: Option<String>,
        request_ref: &str,
    ) -> Result<TemplateCommit, AgentError> {
        let dir = worktree.path();
        ensure_free(&dir, repo, name, service).await?;

        let inventory = dir.join(&self.inventory);
        let (conventions, groups) = {
            let dir = dir.clone();
            let inventory = inventory.clone();
            tokio::task::spawn_blocking(move || {
                (
                    detect_conventions(&dir, &inventory),
                    inventory_groups(&inventory),
                )
            })
            .await
            .map_err(|join| {
                AgentError::Internal(format!("reading the repository panicked: {join}"))
            })?
        };
        let hosts = hosts.unwrap_or_else(|| {
            [&name.role, &name.slug]
                .into_iter()
                .find(|group| groups.contains(*group))
                .cloned()
                .unwrap_or_else(|| "all".to_owned())
        });
        let scaffold = Scaffold {
            name: name.clone(),
            containerised: options.containerised,
            image,
            port: options.port,
            hosts,
            conventions,
        };

        let files = scaffold.files();
        for (path, content) in &files {
            write_file(&dir.join(path), content).await?;
        }
        let paths: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
        let message = template_message(&scaffold, &paths, request_ref);
        let commit = worktree.commit(&message, &paths).await?;

        self.validate(&dir, &scaffold, &inventory).await?;
        Ok(TemplateCommit {
            commit,
            service: name.clone(),
            playbook: scaffold.playbook_path(),
            role_dir: scaffold.role_dir(),
        })
    }

    /// Syntax check, then lint, of the scaffold in `dir`.
    async fn validate(
        &self,
        dir: &Path,
        scaffold: &Scaffold,
        inventory: &Path,
    ) -> Result<(), AgentError> {
        let service = scaffold.name.display.clone();
        let playbook = scaffold.playbook_path();

        // The repository's inventory when it has one, so that `hosts:` is checked against its
        // groups; else a throwaway one with only localhost.
        let local_inventory;
        let inventory = if tokio::fs::try_exists(inventory).await.unwrap_or(false) {
            inventory.to_path_buf()
        } else {
            local_inventory = write_local_inventory().await?;
            local_inventory.path().to_path_buf()
        };
        let args = [
            "--syntax-check".as_ref(),
            "-i".as_ref(),
            inventory.as_os_str(),
            playbook.as_ref(),
        ];
        let output = tool::run(
            &self.ansible_playbook,
            args,
            dir,
            SYNTAX_CHECK_TIMEOUT,
            PLAYBOOK_HINT,
        )
        .await?;
        if output.code() != Some(0) {
            return Err(AgentError::TemplateInvalid {
                service,
                check: "ansible-playbook --syntax-check",
                output: output.excerpt(),
            });
        }

        let profile = if lint_config_names_profile(dir).await {
            None
        } else {
            Some("--profile=production")
        };
        let role_dir = scaffold.role_dir();
        let findings = self
            .linter
            .run(
                dir,
                profile.as_slice(),
                &[playbook.clone(), role_dir.clone()],
            )
            .await?;
        // Only the scaffold's own files count: the playbook also pulls in roles such as
        // `common`, whose findings are the repository's business, not the template's.
        let role_prefix = format!("{role_dir}/");
        let own: Vec<String> = findings
            .iter()
            .filter(|f| {
                let path = f.location.path.trim_start_matches("./");
                path == playbook || path.starts_with(&role_prefix)
            })
            .map(|f| {
                format!(
                    "{}:{} {}: {}",
                    f.location.path,
                    f.line().unwrap_or(0),
                    f.check_name,
                    f.description
                )
            })
            .collect();
        if !own.is_empty() {
            return Err(AgentError::TemplateInvalid {
                service,
                check: "ansible-lint",
                output: own.join("\n"),
            });
        }
        Ok(())
    }
}

/// Writes a playbook and role scaffold for deploying `service` on the new branch
/// `chiffon/template-<slug>` of the repository at `repo` (started at `HEAD`; the user's working
/// tree is never touched), commits it with a message referencing `request_ref`, and checks it
/// with `ansible-playbook --syntax-check` and ansible-lint.
///
/// Errors: a name that sanitises to nothing ([`AgentError::InvalidServiceName`]), a branch,
/// role or playbook that exists already ([`AgentError::BranchExists`],
/// [`AgentError::TemplateExists`]), a repository not under git ([`AgentError::Repository`]),
/// and a scaffold that fails its checks ([`AgentError::TemplateInvalid`], after the branch was
/// deleted).
pub async fn generate_service_template(
    repo: &Path,
    service: &str,
    options: TemplateOptions,
    request_ref: &str,
) -> Result<TemplateCommit, AgentError> {
    TemplateGenerator::new()
        .generate(repo, service, &options, request_ref)
        .await
}

/// The commit message.
fn template_message(scaffold: &Scaffold, files: &[String], request_ref: &str) -> String {
    let kind = chiffon_types::Deployment::of(scaffold.containerised).noun();
    let what = format!(
        "A playbook and role scaffold that deploys {} as a {kind}, generated by Chiffon. Review \
         {}/defaults/main.yml before the first run.",
        scaffold.name.display,
        scaffold.role_dir(),
    );
    let listed: String = files.iter().map(|f| format!("- {f}\n")).collect();
    crate::git::commit_message(
        &format!("Add a template for deploying {}", scaffold.name.display),
        &[&what, &listed],
        &[
            ("Chiffon-Request", request_ref),
            ("Chiffon-Template", &scaffold.name.slug),
        ],
    )
}

/// Fails when the playbook or role of `name` exists under `dir` (the user's working tree, or
/// HEAD's checkout).
async fn ensure_free(
    dir: &Path,
    repo: &Path,
    name: &ServiceName,
    service: &str,
) -> Result<(), AgentError> {
    for (path, what) in [
        (name.role_dir(), "the role"),
        (name.playbook_path(), "the playbook"),
    ] {
        if tokio::fs::symlink_metadata(dir.join(&path)).await.is_ok() {
            return Err(AgentError::TemplateExists {
                service: service.to_owned(),
                what: format!("{what} {path}"),
                repo: repo.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The image reference, split into repository and tag; the slug with tag `latest` when none
/// was given.
fn parse_image(image: Option<&str>, name: &ServiceName) -> Result<ImageRef, AgentError> {
    let Some(image) = image.map(str::trim).filter(|i| !i.is_empty()) else {
        return Ok(ImageRef {
            repository: name.slug.clone(),
            tag: Some("latest".into()),
        });
    };
    let invalid = |reason: &str| AgentError::InvalidArgument {
        name: "image",
        reason: format!("{image:?} {reason}"),
    };
    if image.len() > 255 {
        return Err(invalid("is longer than 255 characters"));
    }
    if !image
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/:@-".contains(c))
    {
        return Err(invalid(
            "is not an image reference (letters, digits and . _ / : @ - only)",
        ));
    }
    if !image.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("must start with a letter or digit"));
    }
    if image.contains('@') {
        return Ok(ImageRef {
            repository: image.to_owned(),
            tag: None,
        });
    }
    // A ':' before the last '/' is a registry port, not a tag.
    let last_slash = image.rfind('/').unwrap_or(0);
    match image.rfind(':').filter(|colon| *colon > last_slash) {
        Some(colon) if colon + 1 == image.len() => Err(invalid("has an empty tag")),
        Some(colon) => Ok(ImageRef {
            repository: image[..colon].to_owned(),
            tag: Some(image[colon + 1..].to_owned()),
        }),
        None => Ok(ImageRef {
            repository: image.to_owned(),
            tag: Some("latest".into()),
        }),
    }
}

/// `hosts` if it is a usable host pattern.
fn check_hosts(hosts: &str) -> Result<String, AgentError> {
    let hosts = hosts.trim();
    let ok = !hosts.is_empty()
        && hosts.len() <= 200
        && hosts
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-:,!&*[]".contains(c));
    if ok {
        Ok(hosts.to_owned())
    } else {
        Err(AgentError::InvalidArgument {
            name: "hosts",
            reason: format!(
                "{hosts:?} is not a host pattern (group or host names, with : , ! & * [ ] only)"
            ),
        })
    }
}

async fn write_file(path: &Path, content: &str) -> Result<(), AgentError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| AgentError::Io {
                action: "create the directory",
                path: parent.to_path_buf(),
                source,
            })?;
    }
    tokio::fs::write(path, content)
        .await
        .map_err(|source| AgentError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
}

async fn write_local_inventory() -> Result<tempfile::NamedTempFile, AgentError> {
    tokio::task::spawn_blocking(|| {
        use std::io::Write as _;
        let mut file = tempfile::Builder::new()
            .prefix("chiffon-inventory-")
            .suffix(".yml")
            .tempfile()?;
        file.write_all(LOCAL_INVENTORY.as_bytes())?;
        file.flush()?;
        Ok(file)
    })
    .await
    .map_err(|join| AgentError::Internal(format!("writing an inventory panicked: {join}")))?
    .map_err(|source| AgentError::Io {
        action: "write a temporary inventory in",
        path: std::env::temp_dir(),
        source,
    })
}

/// Whether the repository's ansible-lint configuration chooses a profile.
async fn lint_config_names_profile(dir: &Path) -> bool {
    for name in LINT_CONFIG_FILES {
        if let Ok(text) = tokio::fs::read_to_string(dir.join(name)).await {
            return serde_yaml_ng::from_str::<Value>(&text)
                .ok()
                .and_then(|config| config.get("profile").cloned())
                .is_some_and(|profile| !profile.is_null());
        }
    }
    false
}

// --- The repository's conventions ----------------------------------------------------------------

/// Reads what the scaffold should adopt from the repository at `dir`.
fn detect_conventions(dir: &Path, inventory: &Path) -> Conventions {
    let vars = all_group_var_names(dir, inventory);
    let host_root = if vars.contains("homelab_host_root") {
        "homelab_host_root".to_owned()
    } else if vars.contains("homelab_root") {
        "homelab_root ~ '/' ~ inventory_hostname".to_owned()
    } else {
        "(homelab_root | default('/srv/homelab')) ~ '/' ~ inventory_hostname".to_owned()
    };
    let manage_containers = if vars.contains("homelab_manage_containers") {
        "homelab_manage_containers | bool"
    } else {
        "homelab_manage_containers | default(false) | bool"
    }
    .to_owned();
    let timezone = if vars.contains("homelab_timezone") {
        "\"{{ homelab_timezone }}\""
    } else {
        "Etc/UTC"
    }
    .to_owned();
    let meta = existing_galaxy_info(dir);
    let field = |key: &str, valid: fn(&str) -> bool, default: &str| {
        meta.as_ref()
            .and_then(|info| info.get(key))
            .and_then(|value| match value {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|value| valid(value))
            .unwrap_or_else(|| default.to_owned())
    };
    Conventions {
        host_root,
        manage_containers,
        timezone,
        common_role: dir.join("roles/common/tasks/main.yml").is_file(),
        author: field("author", plain_text, "Chiffon"),
        namespace: field("namespace", galaxy_namespace, "homelab"),
        license: field("license", plain_text, "MIT"),
        min_ansible_version: field("min_ansible_version", version_number, "2.16"),
    }
}

fn plain_text(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 80
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || " ._@+-".contains(c))
}

fn galaxy_namespace(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn version_number(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `galaxy_info` of the first role (by name) that has one.
fn existing_galaxy_info(dir: &Path) -> Option<Mapping> {
    let mut roles: Vec<PathBuf> = std::fs::read_dir(dir.join("roles"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    roles.sort();
    roles.iter().find_map(|role| {
        let text = std::fs::read_to_string(role.join("meta/main.yml")).ok()?;
        let meta: Value = serde_yaml_ng::from_str(&text).ok()?;
        meta.get("galaxy_info")?.as_mapping().cloned()
    })
}

/// Names of the variables set for group `all`: `group_vars/all.yml` (or `.yaml`, or the files
/// of a `group_vars/all/` directory) next to the inventory and at the repository root.
fn all_group_var_names(dir: &Path, inventory: &Path) -> BTreeSet<String> {
    let inventory_dir = if inventory.is_dir() {
        Some(inventory)
    } else {
        inventory.parent()
    };
    let mut bases = vec![dir.join("group_vars")];
    if let Some(inventory_dir) = inventory_dir {
        bases.push(inventory_dir.join("group_vars"));
    }
    let mut files = Vec::new();
    for base in bases {
        files.push(base.join("all.yml"));
        files.push(base.join("all.yaml"));
        if let Ok(entries) = std::fs::read_dir(base.join("all")) {
            files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    let mut names = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Ok(Value::Mapping(vars)) = serde_yaml_ng::from_str::<Value>(&text) {
            names.extend(vars.keys().filter_map(|k| k.as_str().map(str::to_owned)));
        }
    }
    names
}

/// The group names of a YAML or INI inventory file (or of every file in an inventory
/// directory); empty when there is none.
fn inventory_groups(inventory: &Path) -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    let files: Vec<PathBuf> = if inventory.is_dir() {
        std::fs::read_dir(inventory)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![inventory.to_path_buf()]
    };
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match serde_yaml_ng::from_str::<Value>(&text) {
            Ok(Value::Mapping(top)) => yaml_groups(&top, &mut groups),
            // INI: `[group]`, `[group:children]`, `[group:vars]`.
            _ => groups.extend(text.lines().filter_map(|line| {
                let section = line.trim().strip_prefix('[')?.strip_suffix(']')?;
                let group = section.split(':').next()?.trim();
                (!group.is_empty()).then(|| group.to_owned())
            })),
        }
    }
    groups
}

fn yaml_groups(level: &Mapping, groups: &mut BTreeSet<String>) {
    for (name, body) in level {
        if let Some(name) = name.as_str() {
            groups.insert(name.to_owned());
        }
        if let Some(children) = body.get("children").and_then(Value::as_mapping) {
            yaml_groups(children, groups);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_sanitised() {
        let name = ServiceName::parse("  Uptime Kuma ").expect("valid");
        assert_eq!(
            (
                name.display.as_str(),
                name.slug.as_str(),
                name.role.as_str()
            ),
            ("Uptime Kuma", "uptime-kuma", "uptime_kuma")
        );
        let name = ServiceName::parse("grafana").expect("valid");
        assert_eq!(
            (name.display.as_str(), name.slug.as_str()),
            ("Grafana", "grafana")
        );
        let name = ServiceName::parse("node_exporter").expect("valid");
        assert_eq!(
            (name.display.as_str(), name.role.as_str()),
            ("Node Exporter", "node_exporter")
        );
        let name = ServiceName::parse("Pi-hole: DNS {{ x }}").expect("valid");
        assert_eq!(
            (name.display.as_str(), name.slug.as_str()),
            ("Pi-hole DNS x", "pi-hole-dns-x")
        );
        assert_eq!(name.branch(), "chiffon/template-pi-hole-dns-x");
    }

    #[test]
    fn unusable_service_names_are_refused() {
        for bad in ["", "   ", "!!!", "—", "3proxy", &"a".repeat(60)] {
            assert!(
                matches!(
                    ServiceName::parse(bad),
                    Err(AgentError::InvalidServiceName { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        let name = ServiceName::parse("Grafana").expect("valid");
        let split = |image| parse_image(Some(image), &name).expect("valid");
        assert_eq!(
            split("grafana/grafana-oss:11.3.0"),
            ImageRef {
                repository: "grafana/grafana-oss".into(),
                tag: Some("11.3.0".into())
            }
        );
        assert_eq!(
            split("registry.lan:5000/grafana").tag.as_deref(),
            Some("latest")
        );
        assert_eq!(
            split("registry.lan:5000/grafana").repository,
            "registry.lan:5000/grafana"
        );
        assert_eq!(split("grafana@sha256:abc").tag, None);
        assert_eq!(
            parse_image(None, &name).expect("default").repository,
            "grafana"
        );
        assert!(parse_image(Some("grafana:"), &name).is_err());
        assert!(parse_image(Some("graf ana"), &name).is_err());
        assert!(parse_image(Some("x\ny"), &name).is_err());
    }

    #[test]
    fn host_patterns_are_checked() {
        assert_eq!(check_hosts(" monitoring ").expect("valid"), "monitoring");
        assert!(check_hosts("web:&prod").is_ok());
        assert!(check_hosts("web; rm").is_err());
        assert!(check_hosts("").is_err());
    }

    #[test]
    fn inventory_groups_from_yaml_and_ini() {
        let dir = tempfile::tempdir().expect("temp dir");
        let yaml = dir.path().join("hosts.yml");
        std::fs::write(
            &yaml,
            "all:\n  children:\n    monitoring:\n      hosts:\n        kuma:\n    web:\n      children:\n        grafana:\n          hosts: {}\n",
        )
        .expect("write");
        let groups = inventory_groups(&yaml);
        assert!(
            ["all", "monitoring", "web", "grafana"]
                .iter()
                .all(|g| groups.contains(*g))
        );
        let ini = dir.path().join("hosts.ini");
        std::fs::write(&ini, "[web]\nportal\n[nas:children]\nweb\n").expect("write");
        let groups = inventory_groups(&ini);
        assert_eq!(groups, BTreeSet::from(["nas".to_owned(), "web".to_owned()]));
        assert!(inventory_groups(&dir.path().join("missing.yml")).is_empty());
    }

    #[test]
    fn conventions_of_the_example_repository() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/homelab-infra");
        let conventions = detect_conventions(&example, &example.join(FALLBACK_INVENTORY));
        assert_eq!(conventions.host_root, "homelab_host_root");
        assert_eq!(
            conventions.manage_containers,
            "homelab_manage_containers | bool"
        );
        assert!(conventions.common_role);
        assert_eq!(conventions.namespace, "homelab");
        assert_eq!(conventions.license, "MIT");
        assert_eq!(conventions.min_ansible_version, "2.16");
    }
}
