//! The infrastructure agent: runs playbooks of an infrastructure repository with
//! `ansible-playbook`, on the shared [`runtime`](crate::runtime); keeps the orchestrator's view
//! of the repository's catalog and lint findings current while people edit it; and makes the
//! changes people accept (a suggested fix, a service template) as commits on new branches.

use crate::ansible::inventory::check_unique_names;
use crate::ansible::{
    self, AnsibleSetup, EffectiveConfig, InstallLimits, InventorySource, PlaybookRunner,
};
use crate::catalog::refresh::{self, RefreshSettings};
use crate::runtime::{AgentCatalog, AgentConfig, Executor, run_agent};
use crate::suggest::background::{LintRequests, lint_in_background};
use crate::suggest::{self, Linter};
use crate::template::{TemplateGenerator, TemplateOptions};
use crate::{AgentError, RunOutcome, git};
use chiffon_bus::Bus;
use chiffon_proto::v1::{
    AgentKind, ApplySuggestion, GenerateTemplate, RepositoryCommit, Suggestion, TaskEvent,
    WorkItem, WorkStatus, work_item,
};
use serde_json::{Map, Value};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a playbook may run when its work item names no timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Settings of an infrastructure agent process.
#[derive(Debug, Clone)]
pub struct InfraAgentConfig {
    /// Stable id of the agent; by default `infra-<hostname>`.
    pub agent_id: String,
    /// Root of the infrastructure repository (playbooks, roles, inventory).
    pub repo: PathBuf,
    /// Inventories a request can choose by name, the first the default; each is passed as
    /// `-i` when chosen. Empty: the repository's `ansible.cfg` decides, and no `-i` is passed.
    pub inventories: Vec<InventorySource>,
    /// Private directory for the Galaxy roles and collections of the repository's
    /// requirements; `None` for [`ansible::default_galaxy_dir`] of the repository.
    pub galaxy_dir: Option<PathBuf>,
    /// Install the repository's Galaxy requirements into the Galaxy directory before the first
    /// scan. A failure is logged; what is missing shows as catalog issues.
    pub install_requirements: bool,
    /// Time limits of that install.
    pub install_limits: InstallLimits,
    /// The `ansible-playbook` program to run.
    pub ansible_playbook: PathBuf,
    /// Extra variables every run gets (e.g. `homelab_root`); a step's own variables override them.
    pub default_vars: Map<String, Value>,
    /// How long a playbook may run when its work item names no timeout.
    pub default_timeout: Duration,
    /// Time a stopped playbook gets between SIGTERM and SIGKILL.
    pub cancel_grace: Duration,
    /// How often the repository is rescanned even when the file watcher reports nothing (it
    /// may be unable to: network file systems, inotify limits).
    pub rescan_interval: Duration,
    /// The `ansible-lint` program that lints the repository and applies fixes.
    pub ansible_lint: PathBuf,
    /// File holding the Ansible Vault password, passed to every run as
    /// `--vault-password-file`; `None` when the repository uses no vault (or `ansible.cfg`
    /// names the file).
    pub vault_password_file: Option<PathBuf>,
}

impl InfraAgentConfig {
    /// Settings for the repository at `repo` with every default: id `infra-<hostname>`, the
    /// repository's own inventory, the default Galaxy directory without installing anything,
    /// `ansible-playbook` and `ansible-lint` from `PATH` ([`ansible::default_program`],
    /// [`suggest::default_lint_program`]), no default variables, no vault password file, a 30
    /// minute timeout, a 5 second cancel grace and a rescan of the repository every 5 minutes.
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        Self {
            agent_id: default_agent_id(),
            repo: repo.into(),
            inventories: Vec::new(),
            galaxy_dir: None,
            install_requirements: false,
            install_limits: InstallLimits::default(),
            ansible_playbook: ansible::default_program(),
            default_vars: Map::new(),
            default_timeout: DEFAULT_TIMEOUT,
            cancel_grace: ansible::DEFAULT_CANCEL_GRACE,
            rescan_interval: refresh::DEFAULT_INTERVAL,
            ansible_lint: suggest::default_lint_program(),
            vault_password_file: None,
        }
    }
}

/// `infra-<hostname>`, with characters an agent id cannot hold replaced by `-`.
pub fn default_agent_id() -> String {
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    chiffon_types::AgentId::for_host("infra", &hostname).into()
}

/// Runs an infrastructure agent until `shutdown` fires: scans the repository's catalog (files
/// that cannot be indexed are logged as warnings and reported as catalog issues), serves work
/// with [`run_agent`], and meanwhile keeps the catalog and the suggestions current: the
/// repository is watched and rescanned on changes and every `rescan_interval`, a changed
/// catalog is reported to the orchestrator, and the repository is linted in the background
/// after each registration and each change, its findings reported as suggestions.
pub async fn run_infra_agent(
    config: InfraAgentConfig,
    bus: Arc<dyn Bus>,
    orchestrator: tonic::transport::Channel,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    for (setting, value) in [
        ("default timeout", config.default_timeout),
        ("rescan interval", config.rescan_interval),
    ] {
        if value.is_zero() {
            return Err(AgentError::Config {
                setting,
                reason: "must be longer than zero".to_owned(),
            });
        }
    }
    check_unique_names(&config.inventories)?;
    let setup = ansible_setup(&config).await?;
    for source in &setup.inventories {
        let path = setup.repo.join(&source.path);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            tracing::warn!(
                inventory = %source.name,
                path = %path.display(),
                "the inventory does not exist; runs that use it fail until it does"
            );
        }
    }
    if config.install_requirements {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            installed = ansible::install_requirements(&setup, config.install_limits) => {
                if let Err(error) = installed {
                    tracing::error!(
                        %error,
                        "the Galaxy requirements are not all installed; the missing ones are catalog issues"
                    );
                }
            }
        }
    }
    let (catalog, template_inventory) = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        scanned = async {
            tokio::join!(refresh::scan_repository(&setup), template_inventory(&setup))
        } => (scanned.0?, scanned.1),
    };
    refresh::log_new_issues(&catalog, &[]);

    let background_stop = shutdown.child_token();
    let tasks = TaskTracker::new();
    let linter = Linter::new().with_program(&config.ansible_lint);
    let (lint_requests, suggestions, linting) =
        lint_in_background(linter.clone(), config.repo.clone(), background_stop.clone());
    tasks.spawn(linting);
    let (current, catalog) = watch::channel(catalog);
    let changed = lint_requests.clone();
    tasks.spawn(refresh::keep_current(
        setup.clone(),
        RefreshSettings {
            interval: config.rescan_interval,
            ..RefreshSettings::default()
        },
        current,
        move || changed.request(),
        background_stop.clone(),
    ));
    tasks.close();

    let mut templates = TemplateGenerator::new()
        .with_ansible_playbook(&config.ansible_playbook)
        .with_linter(linter.clone());
    if let Some(inventory) = template_inventory {
        templates = templates.with_inventory(inventory);
    }
    let runner = PlaybookRunner::from_setup(setup)
        .with_default_vars(config.default_vars)
        .with_cancel_grace(config.cancel_grace);
    let executor = InfraExecutor::new(runner, config.default_timeout, catalog)
        .with_repository_tools(&config.agent_id, linter, templates)
        .with_suggestions(lint_requests, suggestions);
    let agent = AgentConfig::new(config.agent_id, AgentKind::Infra);
    let result = run_agent(agent, Arc::new(executor), bus, orchestrator, shutdown).await;
    // The agent may also end on its own (refused by the orchestrator, bus closed).
    background_stop.cancel();
    tasks.wait().await;
    result
}

/// How the agent calls Ansible: the configured programs and inventories, and the Galaxy
/// directory (the default one of the repository when none is configured).
async fn ansible_setup(config: &InfraAgentConfig) -> Result<AnsibleSetup, AgentError> {
    let galaxy_dir = match &config.galaxy_dir {
        Some(dir) => std::path::absolute(dir).map_err(|error| AgentError::Config {
            setting: "galaxy directory",
            reason: format!("{} cannot be made absolute: {error}", dir.display()),
        })?,
        None => {
            let repo = tokio::fs::canonicalize(&config.repo)
                .await
                .map_err(|error| AgentError::Repository {
                    path: config.repo.clone(),
                    reason: error.to_string(),
                })?;
            ansible::default_galaxy_dir(&repo)?
        }
    };
    Ok(AnsibleSetup {
        repo: config.repo.clone(),
        ansible_playbook: config.ansible_playbook.clone(),
        inventories: config.inventories.clone(),
        vault_password_file: config.vault_password_file.clone(),
        galaxy_dir: Some(galaxy_dir),
    })
}

/// The inventory the template generator reads host groups from: the default named one, else
/// the first source of the repository's configuration that lies inside the repository.
async fn template_inventory(setup: &AnsibleSetup) -> Option<PathBuf> {
    if let Some(source) = setup.default_inventory() {
        return Some(source.path.clone());
    }
    let config = match EffectiveConfig::read(setup).await {
        Ok(config) => config,
        Err(error) => {
            tracing::warn!(%error, "cannot read Ansible's configuration");
            return None;
        }
    };
    let repo = tokio::fs::canonicalize(&setup.repo).await.ok()?;
    config
        .inventory
        .iter()
        .find_map(|source| Path::new(source).strip_prefix(&repo).ok())
        .map(Path::to_path_buf)
}

/// The infra agent's [`Executor`]: runs a work item's playbook, applies an accepted
/// suggestion, or generates a service template.
#[derive(Debug, Clone)]
pub struct InfraExecutor {
    runner: PlaybookRunner,
    default_timeout: Duration,
    catalog: watch::Receiver<AgentCatalog>,
    /// The agent's id, to refuse suggestions about another agent's repository.
    agent_id: String,
    linter: Linter,
    templates: TemplateGenerator,
    lint_requests: Option<LintRequests>,
    suggestions: Option<watch::Receiver<Vec<Suggestion>>>,
}

impl InfraExecutor {
    /// An executor running playbooks with `runner`, for at most the work item's timeout or
    /// `default_timeout`, and advertising the latest value of `catalog`. Fixes and templates
    /// use the default tools until [`with_repository_tools`](Self::with_repository_tools)
    /// says otherwise; no suggestions are reported without
    /// [`with_suggestions`](Self::with_suggestions).
    pub fn new(
        runner: PlaybookRunner,
        default_timeout: Duration,
        catalog: watch::Receiver<AgentCatalog>,
    ) -> Self {
        Self {
            runner,
            default_timeout,
            catalog,
            agent_id: String::new(),
            linter: Linter::new(),
            templates: TemplateGenerator::new(),
            lint_requests: None,
            suggestions: None,
        }
    }

    /// The agent `agent_id` applies suggestions with `linter` and generates templates with
    /// `templates`, on the runner's repository.
    pub fn with_repository_tools(
        mut self,
        agent_id: &str,
        linter: Linter,
        templates: TemplateGenerator,
    ) -> Self {
        agent_id.clone_into(&mut self.agent_id);
        self.linter = linter;
        self.templates = templates;
        self
    }

    /// Asks `requests` for a lint after every registration and reports the findings that
    /// `suggestions` publishes.
    pub fn with_suggestions(
        mut self,
        requests: LintRequests,
        suggestions: watch::Receiver<Vec<Suggestion>>,
    ) -> Self {
        self.lint_requests = Some(requests);
        self.suggestions = Some(suggestions);
        self
    }

    /// The work item's timeout when it has a usable one, else the default.
    fn timeout(&self, item: &WorkItem) -> Duration {
        item.timeout
            .and_then(|t| Duration::try_from(t).ok())
            .filter(|t| !t.is_zero())
            .unwrap_or(self.default_timeout)
    }

    /// Applies the suggestion's fix on a new branch.
    async fn apply_suggestion(
        &self,
        apply: &ApplySuggestion,
        request_id: &str,
    ) -> Result<RepositoryCommit, AgentError> {
        let message = apply
            .suggestion
            .as_ref()
            .ok_or_else(|| AgentError::InvalidArgument {
                name: "suggestion",
                reason: "the work item names no suggestion to apply".to_owned(),
            })?;
        if !message.agent_id.is_empty()
            && !self.agent_id.is_empty()
            && message.agent_id != self.agent_id
        {
            return Err(AgentError::InvalidArgument {
                name: "suggestion",
                reason: format!(
                    "it is about the repository of agent {}, and this is agent {}",
                    message.agent_id, self.agent_id
                ),
            });
        }
        let suggestion = suggest::Suggestion::try_from(message)?;
        let repo = self.runner.repo();
        let fixed = self.linter.apply_fix(repo, &suggestion, request_id).await;
        done_earlier_or(repo, request_id, fixed.map(RepositoryCommit::from)).await
    }

    /// Generates the template the work item describes on a new branch.
    async fn generate_template(
        &self,
        template: &GenerateTemplate,
        request_id: &str,
    ) -> Result<RepositoryCommit, AgentError> {
        let options = template_options(template)?;
        let repo = self.runner.repo();
        let generated = self
            .templates
            .generate(repo, &template.service, &options, request_id)
            .await;
        done_earlier_or(repo, request_id, generated.map(RepositoryCommit::from)).await
    }
}

/// The template options a `GenerateTemplate` message asks for: port 0 and empty strings mean
/// "not set".
fn template_options(template: &GenerateTemplate) -> Result<TemplateOptions, AgentError> {
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    let port = match template.port {
        0 => None,
        port => Some(
            u16::try_from(port).map_err(|_| AgentError::InvalidArgument {
                name: "port",
                reason: format!("{port} is not a port: it must be between 1 and 65535"),
            })?,
        ),
    };
    Ok(TemplateOptions {
        containerised: template.containerised,
        image: text(&template.image),
        port,
        hosts: text(&template.hosts),
    })
}

/// `made`, unless it failed because its branch exists and the branch's last commit was made for
/// this same request: then an earlier attempt of the work (interrupted before it could report)
/// already made the change, and that commit is the result. A step retried after a crash thus
/// neither fails nor commits twice.
async fn done_earlier_or(
    repo: &Path,
    request_id: &str,
    made: Result<RepositoryCommit, AgentError>,
) -> Result<RepositoryCommit, AgentError> {
    let Err(AgentError::BranchExists { branch, .. }) = &made else {
        return made;
    };
    let tip = match git::branch_tip(repo, branch).await {
        Ok(Some(tip)) if git::has_trailer(&tip.message, "Chiffon-Request", request_id.trim()) => {
            tip
        }
        Ok(_) => return made,
        Err(error) => {
            tracing::warn!(%error, %branch, "cannot read the existing branch");
            return made;
        }
    };
    tracing::info!(%branch, commit = %tip.commit_id, "an earlier attempt already made this commit");
    Ok(tip.into())
}

/// Runs `change` (a commit on a new branch) as a work item: stopped by `cancel` or after
/// `timeout` like a playbook run, its error (a single line) or its commit in the outcome.
/// Stopping drops `change`, which discards its half-made branch and kills the tools it ran.
async fn run_change(
    what: &str,
    timeout: Duration,
    cancel: CancellationToken,
    change: impl Future<Output = Result<RepositoryCommit, AgentError>>,
) -> RunOutcome {
    let started_at = SystemTime::now();
    if cancel.is_cancelled() {
        return RunOutcome::ended_early(
            WorkStatus::Cancelled,
            format!("cancelled before it could {what}"),
        );
    }
    let ended = tokio::select! {
        made = change => match made {
            Ok(commit) => {
                tracing::info!(branch = %commit.branch, commit = %commit.commit_id, "committed");
                RunOutcome {
                    exit_code: 0,
                    commit: Some(commit),
                    ..RunOutcome::ended_early(WorkStatus::Succeeded, "")
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not {what}");
                RunOutcome::ended_early(
                    WorkStatus::Failed,
                    one_line(&format!("could not {what}: {error}")),
                )
            }
        },
        () = cancel.cancelled() => RunOutcome::ended_early(
            WorkStatus::Cancelled,
            format!("cancelled while trying to {what}; nothing was committed"),
        ),
        () = tokio::time::sleep(timeout) => RunOutcome::ended_early(
            WorkStatus::TimedOut,
            format!(
                "did not {what} within {} seconds and was stopped; nothing was committed",
                timeout.as_secs()
            ),
        ),
    };
    RunOutcome {
        started_at,
        finished_at: SystemTime::now(),
        ..ended
    }
}

/// Longest error kept in a result, in characters.
const MAX_ERROR_CHARS: usize = 1000;

/// `text` on one line (tools' output excerpts span several), bounded in length.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[async_trait::async_trait]
impl Executor for InfraExecutor {
    fn catalog(&self) -> AgentCatalog {
        self.catalog.borrow().clone()
    }

    fn catalog_updates(&self) -> Option<watch::Receiver<AgentCatalog>> {
        let mut updates = self.catalog.clone();
        // Only changes from now on: the current catalog goes out with the registration.
        updates.mark_unchanged();
        Some(updates)
    }

    fn suggestion_updates(&self) -> Option<watch::Receiver<Vec<Suggestion>>> {
        let mut updates = self.suggestions.clone()?;
        // Only lints from now on; each one follows a registration or a change.
        updates.mark_unchanged();
        Some(updates)
    }

    fn registered(&self) {
        if let Some(requests) = &self.lint_requests {
            requests.request();
        }
    }

    async fn execute(
        &self,
        item: &WorkItem,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome {
        let timeout = self.timeout(item);
        match &item.action {
            Some(work_item::Action::PlaybookRun(run)) => {
                self.runner.run(run, timeout, cancel, events).await
            }
            Some(work_item::Action::ApplySuggestion(apply)) => {
                let change = self.apply_suggestion(apply, &item.request_id);
                run_change("apply the suggested fix", timeout, cancel, change).await
            }
            Some(work_item::Action::GenerateTemplate(template)) => {
                let change = self.generate_template(template, &item.request_id);
                run_change("generate the template", timeout, cancel, change).await
            }
            None => RunOutcome::ended_early(WorkStatus::Failed, "the work item has no action"),
        }
    }
}

/// Parses one `--var KEY=VALUE` argument. The value is read as a YAML scalar, so `port=3001`
/// gives a number and `debug=true` a boolean; `mode=0644` (not a canonical number), `name=x y`
/// and anything that is not a plain scalar stay text, exactly as written. Quote the value
/// (`port="3001"`) to force text.
pub fn parse_var(argument: &str) -> Result<(String, Value), AgentError> {
    let invalid = |reason: &str| AgentError::InvalidVar {
        key: argument.split('=').next().unwrap_or_default().to_owned(),
        reason: reason.to_owned(),
    };
    let (key, raw) = argument
        .split_once('=')
        .ok_or_else(|| invalid("expected KEY=VALUE"))?;
    let key = key.trim();
    let mut chars = key.chars();
    let valid_key = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_key {
        return Err(invalid(
            "KEY must be an Ansible variable name: letters, digits and '_', not starting with a digit",
        ));
    }
    Ok((key.to_owned(), var_value(raw)))
}

fn var_value(raw: &str) -> Value {
    use serde_yaml_ng::Value as Yaml;
    let text = || Value::String(raw.to_owned());
    let trimmed = raw.trim();
    match serde_yaml_ng::from_str::<Yaml>(raw) {
        Ok(Yaml::Bool(b))
            if matches!(
                trimmed,
                "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
            ) =>
        {
            Value::Bool(b)
        }
        Ok(Yaml::Null) if matches!(trimmed, "null" | "Null" | "NULL" | "~") => Value::Null,
        Ok(Yaml::Number(n)) => yaml_number(&n, trimmed).unwrap_or_else(text),
        Ok(Yaml::String(s)) if is_quoted(trimmed) => Value::String(s),
        // Everything else, including text YAML would reinterpret (`#ff0000` is a comment to
        // YAML, `a: b` a mapping), is taken literally.
        _ => text(),
    }
}

/// A YAML number as JSON, if the text is written the way the number prints (so leading zeros,
/// `+`, hex and the like stay text, as their author most likely meant).
fn yaml_number(n: &serde_yaml_ng::Number, text: &str) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return (i.to_string() == text).then(|| Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return (u.to_string() == text).then(|| Value::from(u));
    }
    let f = n.as_f64()?;
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || ".-eE".contains(c));
    if plain {
        serde_json::Number::from_f64(f).map(Value::Number)
    } else {
        None
    }
}

fn is_quoted(text: &str) -> bool {
    text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vars_are_typed_like_yaml_scalars() {
        for (argument, key, value) in [
            ("port=3001", "port", json!(3001)),
            ("ratio=0.5", "ratio", json!(0.5)),
            ("debug=true", "debug", json!(true)),
            ("debug=false", "debug", json!(false)),
            ("nothing=null", "nothing", json!(null)),
            ("name=uptime kuma", "name", json!("uptime kuma")),
            ("empty=", "empty", json!("")),
            ("mode=0644", "mode", json!("0644")),
            ("hex=0x1F", "hex", json!("0x1F")),
            ("answer=yes", "answer", json!("yes")),
            ("color=#ff0000", "color", json!("#ff0000")),
            ("pair=a: b", "pair", json!("a: b")),
            ("list=[1, 2]", "list", json!("[1, 2]")),
            ("url=http://x/?a=b", "url", json!("http://x/?a=b")),
            ("quoted=\"3001\"", "quoted", json!("3001")),
            ("inf=.inf", "inf", json!(".inf")),
            (" homelab_root =/srv/lab", "homelab_root", json!("/srv/lab")),
        ] {
            assert_eq!(
                parse_var(argument).expect(argument),
                (key.to_owned(), value),
                "{argument}"
            );
        }
    }

    #[test]
    fn bad_vars_name_the_key_but_never_the_value() {
        for (argument, key) in [
            ("novalue", "novalue"),
            ("=hunter2", ""),
            ("1abc=hunter2", "1abc"),
            ("db-pass=hunter2", "db-pass"),
        ] {
            let error = parse_var(argument).expect_err(argument).to_string();
            assert!(error.contains(&format!("{key:?}")), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn the_default_agent_id_is_a_valid_id() {
        let id = default_agent_id();
        assert!(id.starts_with("infra"));
        assert!(chiffon_types::AgentId::parse(&id).is_ok(), "{id}");
    }

    #[test]
    fn the_work_item_timeout_wins_over_the_default() {
        let (_current, catalog) = watch::channel(AgentCatalog::default());
        let executor = InfraExecutor::new(
            PlaybookRunner::new("/repo"),
            Duration::from_secs(60),
            catalog,
        );
        let mut item = WorkItem::default();
        assert_eq!(executor.timeout(&item), Duration::from_secs(60));
        item.timeout = Some(prost_types::Duration {
            seconds: 5,
            nanos: 0,
        });
        assert_eq!(executor.timeout(&item), Duration::from_secs(5));
        item.timeout = Some(prost_types::Duration {
            seconds: -5,
            nanos: 0,
        });
        assert_eq!(executor.timeout(&item), Duration::from_secs(60));
    }
}
