//! The infrastructure agent: runs playbooks of an infrastructure repository with
//! `ansible-playbook`, on the shared [`runtime`](crate::runtime), and keeps the orchestrator's
//! view of the repository's catalog current while people edit it.

use crate::ansible::{self, PlaybookRunner};
use crate::catalog::refresh::{self, RefreshSettings};
use crate::runtime::{AgentCatalog, AgentConfig, Executor, run_agent};
use crate::{AgentError, RunOutcome};
use chiffon_bus::Bus;
use chiffon_proto::v1::{AgentKind, TaskEvent, WorkItem, WorkStatus, work_item};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
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
    /// Inventory passed as `-i`, relative to the repository root or absolute.
    pub inventory: PathBuf,
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
}

impl InfraAgentConfig {
    /// Settings for the repository at `repo` with every default: id `infra-<hostname>`,
    /// inventory `inventory/hosts.yml`, `ansible-playbook` from `$CHIFFON_ANSIBLE_PLAYBOOK` or
    /// `PATH`, no default variables, a 30 minute timeout, a 5 second cancel grace and a rescan
    /// of the repository every 5 minutes.
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        Self {
            agent_id: default_agent_id(),
            repo: repo.into(),
            inventory: PathBuf::from(ansible::DEFAULT_INVENTORY),
            ansible_playbook: ansible::default_program(),
            default_vars: Map::new(),
            default_timeout: DEFAULT_TIMEOUT,
            cancel_grace: ansible::DEFAULT_CANCEL_GRACE,
            rescan_interval: refresh::DEFAULT_INTERVAL,
        }
    }
}

/// `infra-<hostname>`, with characters an agent id cannot hold replaced by `-`.
pub fn default_agent_id() -> String {
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    let cleaned: String = hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(120)
        .collect();
    if cleaned.is_empty() {
        "infra".to_owned()
    } else {
        format!("infra-{cleaned}")
    }
}

/// Runs an infrastructure agent until `shutdown` fires: scans the repository's catalog (files
/// that cannot be indexed are logged as warnings and reported as catalog issues), serves work
/// with [`run_agent`], and meanwhile keeps the catalog current: the repository is watched and
/// rescanned on changes and every `rescan_interval`, and a changed catalog is reported to the
/// orchestrator.
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
    let catalog = refresh::scan_blocking(config.repo.clone()).await?;
    refresh::log_new_issues(&catalog, &[]);
    tracing::info!(
        repo = %config.repo.display(),
        playbooks = catalog.playbooks.len(),
        issues = catalog.issues.len(),
        "catalog scanned"
    );
    let inventory = config.repo.join(&config.inventory);
    if !tokio::fs::try_exists(&inventory).await.unwrap_or(false) {
        tracing::warn!(
            inventory = %inventory.display(),
            "the inventory does not exist; every run will fail until it does"
        );
    }

    let (current, catalog) = watch::channel(AgentCatalog::from(catalog));
    let refresher_stop = shutdown.child_token();
    let tasks = TaskTracker::new();
    tasks.spawn(refresh::keep_current(
        config.repo.clone(),
        RefreshSettings {
            interval: config.rescan_interval,
            ..RefreshSettings::default()
        },
        current,
        refresher_stop.clone(),
    ));
    tasks.close();

    let runner = PlaybookRunner::new(&config.repo)
        .with_inventory(&config.inventory)
        .with_program(&config.ansible_playbook)
        .with_default_vars(config.default_vars)
        .with_cancel_grace(config.cancel_grace);
    let executor = Arc::new(InfraExecutor::new(runner, config.default_timeout, catalog));
    let agent = AgentConfig::new(config.agent_id, AgentKind::Infra);
    let result = run_agent(agent, executor, bus, orchestrator, shutdown).await;
    // The agent may also end on its own (refused by the orchestrator, bus closed).
    refresher_stop.cancel();
    tasks.wait().await;
    result
}

/// The infra agent's [`Executor`]: runs a work item's `PlaybookRun`.
#[derive(Debug, Clone)]
pub struct InfraExecutor {
    runner: PlaybookRunner,
    default_timeout: Duration,
    catalog: watch::Receiver<AgentCatalog>,
}

impl InfraExecutor {
    /// An executor running playbooks with `runner`, for at most the work item's timeout or
    /// `default_timeout`, and advertising the latest value of `catalog`.
    pub fn new(
        runner: PlaybookRunner,
        default_timeout: Duration,
        catalog: watch::Receiver<AgentCatalog>,
    ) -> Self {
        Self {
            runner,
            default_timeout,
            catalog,
        }
    }

    /// The work item's timeout when it has a usable one, else the default.
    fn timeout(&self, item: &WorkItem) -> Duration {
        item.timeout
            .and_then(|t| Duration::try_from(t).ok())
            .filter(|t| !t.is_zero())
            .unwrap_or(self.default_timeout)
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

    async fn execute(
        &self,
        item: &WorkItem,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome {
        let Some(work_item::Action::PlaybookRun(run)) = &item.action else {
            return RunOutcome::ended_early(
                WorkStatus::Failed,
                "the work item has no playbook to run",
            );
        };
        self.runner
            .run(run, self.timeout(item), cancel, events)
            .await
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
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{id}"
        );
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
