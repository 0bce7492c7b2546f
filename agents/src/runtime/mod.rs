//! The runtime every agent kind shares: register, heartbeat, consume, claim, run, report, obey
//! cancellations, shut down. Agent kinds differ only in their [`Executor`].
//!
//! The life of one work item:
//! 1. It arrives on the kind's work queue ([`Destination::Work`]).
//! 2. The agent claims it with `ClaimWork`. The claim, recorded in the orchestrator's database,
//!    is what makes at-least-once delivery safe: a copy delivered again (to this or another
//!    agent process) is refused, so a playbook never runs twice for the same work item. Once
//!    granted, the delivery is acknowledged, because from then on the claim, not the message,
//!    owns the work. A refused claim is acknowledged and dropped; a claim that could not be
//!    asked (orchestrator unreachable) sends the message back to the queue for later.
//! 3. The executor runs it; each event is published to the status queue as a `WorkEvent`, in
//!    order, numbered from 1, retried until the broker takes it.
//! 4. The `WorkResult` follows the last event, retried the same way.
//!
//! Tasks: the work consumer runs in [`run_agent`]'s own future; the heartbeat, control,
//! catalog-report and suggestion-report loops and one task per running work item are spawned
//! on a `TaskTracker` and all end through one cancellation token before [`run_agent`] returns.

mod membership;
pub(crate) mod retry;
mod work;

use crate::{AgentError, RunOutcome};
use chiffon_bus::{Bus, Destination};
use chiffon_proto::v1::agent_service_client::AgentServiceClient;
use chiffon_proto::v1::{
    AgentKind, CatalogIssue, Inventory, Playbook, Suggestion, TaskEvent, WorkItem,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Identity and limits of one agent process.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Stable id of the agent, the same across restarts (letters, digits, `.`, `_`, `-`; at most
    /// 128 characters), e.g. `infra-nas`.
    pub agent_id: String,
    /// The kind of work it takes; it consumes that kind's work queue.
    pub kind: AgentKind,
    /// Host name reported to the orchestrator.
    pub hostname: String,
    /// Chiffon version reported to the orchestrator.
    pub version: String,
    /// Heartbeat interval used when the orchestrator does not name one at registration.
    pub heartbeat_interval: Duration,
    /// Work items run at the same time; a delivery is only taken when a slot is free.
    pub max_concurrent_work: usize,
    /// After shutdown is requested, how long the agent keeps trying to publish the events and
    /// results of the work it stopped before giving up on an unreachable broker.
    pub shutdown_grace: Duration,
}

impl AgentConfig {
    /// A configuration for `agent_id` of `kind`, with this machine's host name, this build's
    /// version, a 30 s heartbeat fallback, one work item at a time and a 15 s shutdown grace
    /// (longer than the default 5 s a stopped playbook gets to exit).
    pub fn new(agent_id: impl Into<String>, kind: AgentKind) -> Self {
        Self {
            agent_id: agent_id.into(),
            kind,
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            heartbeat_interval: Duration::from_secs(30),
            max_concurrent_work: 1,
            shutdown_grace: Duration::from_secs(15),
        }
    }

    fn validate(&self) -> Result<(), AgentError> {
        let valid_id = !self.agent_id.is_empty()
            && self.agent_id.len() <= 128
            && self
                .agent_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid_id {
            return Err(AgentError::Config {
                setting: "agent id",
                reason: format!(
                    "{:?} must be 1 to 128 letters, digits, '.', '_' or '-'",
                    self.agent_id
                ),
            });
        }
        if self.kind == AgentKind::Unspecified {
            return Err(AgentError::Config {
                setting: "agent kind",
                reason: "an agent must have a kind".to_owned(),
            });
        }
        if self.max_concurrent_work == 0 {
            return Err(AgentError::Config {
                setting: "max concurrent work",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.heartbeat_interval.is_zero() {
            return Err(AgentError::Config {
                setting: "heartbeat interval",
                reason: "must be longer than zero".to_owned(),
            });
        }
        Ok(())
    }
}

/// What an agent can run, as the orchestrator is told at every registration and whenever it
/// changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentCatalog {
    /// Playbooks the agent can run.
    pub playbooks: Vec<Playbook>,
    /// Files of its repository it could not index, or only in part, and what the repository
    /// needs but lacks.
    pub issues: Vec<CatalogIssue>,
    /// Inventories it runs playbooks against, the default first.
    pub inventories: Vec<Inventory>,
}

/// What an agent kind does with a work item; everything else is the runtime's job.
#[async_trait::async_trait]
pub trait Executor: Send + Sync + 'static {
    /// What this agent can run now, sent to the orchestrator at every registration; empty for
    /// kinds without a repository.
    fn catalog(&self) -> AgentCatalog;

    /// Changes of [`Executor::catalog`] while the agent runs, for kinds whose catalog can
    /// change (a repository being edited). The runtime reports each new value with
    /// `ReportCatalog`. `None` (the default) for a catalog that never changes.
    fn catalog_updates(&self) -> Option<watch::Receiver<AgentCatalog>> {
        None
    }

    /// Findings about the agent's repository (ansible-lint's suggestions), for kinds that lint
    /// one. The runtime reports each new value with `ReportSuggestions`; the value present when
    /// the agent starts is not reported. `None` (the default) for kinds without suggestions.
    fn suggestion_updates(&self) -> Option<watch::Receiver<Vec<Suggestion>>> {
        None
    }

    /// Called after every successful registration (the first and each one after the
    /// orchestrator forgot the process), for kinds that start background work then, such as
    /// linting their repository. Must return at once.
    fn registered(&self) {}

    /// Runs `item` to its end. Progress goes to `events` in order (the channel is bounded:
    /// waiting on it is how a slow bus slows the work down). When `cancel` fires the work must
    /// stop promptly and report `Cancelled`. Never fails as such: every problem is an outcome.
    async fn execute(
        &self,
        item: &WorkItem,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome;
}

/// The gRPC client type, with trace propagation on every call.
type Client = AgentServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Interceptor>,
>;
type Interceptor = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;

/// How long one unary call to the orchestrator may take before it counts as failed.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Work ids remembered after they ended, to refuse a late redelivery that the orchestrator would
/// still grant to this same process (a claim is granted again to its holder).
const RECENT_WORK: usize = 1024;

/// Runs an agent until `shutdown` fires (or the bus shuts down, or the orchestrator refuses the
/// agent): registers (retrying while the orchestrator is unreachable), heartbeats, takes work of
/// `config.kind` from `bus` and runs it with `executor`.
///
/// On shutdown it stops taking work, cancels what is running, publishes those results (for up
/// to `config.shutdown_grace`) and returns `Ok(())`.
pub async fn run_agent(
    config: AgentConfig,
    executor: Arc<dyn Executor>,
    bus: Arc<dyn Bus>,
    orchestrator: tonic::transport::Channel,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    config.validate()?;
    let instance_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        agent_id = %config.agent_id,
        kind = chiffon_bus::agent_kind_slug(config.kind),
        %instance_id,
        "agent starting"
    );
    let stop = shutdown.child_token();
    let agent = Arc::new(Agent {
        client: AgentServiceClient::with_interceptor(
            orchestrator,
            chiffon_observability::propagation::inject_grpc as Interceptor,
        ),
        config,
        instance_id,
        executor,
        bus,
        stop: stop.clone(),
        publish_deadline: CancellationToken::new(),
        work: Mutex::new(WorkTable::default()),
        fatal: Mutex::new(None),
        reregister: Notify::new(),
    });

    let result = agent.serve().await;
    stop.cancel();
    let fatal = lock(&agent.fatal).take();
    match fatal {
        Some(error) => Err(error),
        None => result,
    }
}

/// Everything the agent's tasks share.
struct Agent {
    config: AgentConfig,
    instance_id: String,
    client: Client,
    executor: Arc<dyn Executor>,
    bus: Arc<dyn Bus>,
    /// Fires when the agent stops for any reason; every loop and running work item listens.
    stop: CancellationToken,
    /// Fires `shutdown_grace` after `stop`: publishing gives up then.
    publish_deadline: CancellationToken,
    work: Mutex<WorkTable>,
    /// An error a background task hit that ends the agent.
    fatal: Mutex<Option<AgentError>>,
    /// Wakes the heartbeat loop to register again at once (the orchestrator answered another
    /// call with NOT_FOUND), so registration stays in one place.
    reregister: Notify,
}

/// Work this process is running or just ran.
#[derive(Default)]
struct WorkTable {
    running: HashMap<String, RunningWork>,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
}

struct RunningWork {
    cancel: CancellationToken,
    /// Why it was stopped, for the result's error.
    stop_reason: Option<String>,
}

impl WorkTable {
    fn knows(&self, work_id: &str) -> bool {
        self.running.contains_key(work_id) || self.recent_set.contains(work_id)
    }

    fn finish(&mut self, work_id: &str) -> Option<RunningWork> {
        let running = self.running.remove(work_id);
        if self.recent_set.insert(work_id.to_owned()) {
            self.recent.push_back(work_id.to_owned());
            if self.recent.len() > RECENT_WORK
                && let Some(oldest) = self.recent.pop_front()
            {
                self.recent_set.remove(&oldest);
            }
        }
        running
    }
}

/// Locks `mutex`, recovering the data if a panicking thread poisoned it: the tables stay
/// consistent because every critical section is a single insert or remove.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Agent {
    /// Registers, subscribes, and consumes work until stopped; then drains.
    async fn serve(self: &Arc<Self>) -> Result<(), AgentError> {
        // Subscribed before registering, so a change made while registering is reported after.
        let catalog_updates = self.executor.catalog_updates();
        let suggestion_updates = self.executor.suggestion_updates();
        let Some(heartbeat_interval) = self.register().await? else {
            return Ok(());
        };
        let Some(work) = self.subscribe(Destination::Work(self.config.kind)).await? else {
            return Ok(());
        };
        let Some(control) = self.subscribe(Destination::Control).await? else {
            return Ok(());
        };

        let tasks = TaskTracker::new();
        tasks.spawn(Arc::clone(self).heartbeat_loop(heartbeat_interval));
        tasks.spawn(Arc::clone(self).control_loop(control));
        if let Some(updates) = catalog_updates {
            tasks.spawn(Arc::clone(self).report_loop::<membership::CatalogReport>(updates));
        }
        if let Some(updates) = suggestion_updates {
            tasks.spawn(Arc::clone(self).report_loop::<membership::SuggestionReport>(updates));
        }
        let consumed = self.consume_work(work, &tasks).await;

        // Stop taking work, stop what runs, and give the results a bounded time to go out.
        self.stop_all_work("the agent is shutting down");
        self.stop.cancel();
        tasks.close();
        if tokio::time::timeout(self.config.shutdown_grace, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace = ?self.config.shutdown_grace,
                "results are still unpublished after the shutdown grace; giving up on them"
            );
            self.publish_deadline.cancel();
            tasks.wait().await;
        }
        tracing::info!("agent stopped");
        consumed
    }

    /// Subscribes to `destination`, retrying while the broker is unreachable; `None` when
    /// stopped first.
    async fn subscribe(
        &self,
        destination: Destination,
    ) -> Result<Option<chiffon_bus::Subscription>, AgentError> {
        let mut backoff = retry::Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut failures = retry::FailureLog::new("subscribing to the message bus");
        loop {
            match self.bus.subscribe(destination).await {
                Ok(subscription) => {
                    failures.succeeded();
                    tracing::debug!(queue = %destination.name(), "subscribed");
                    return Ok(Some(subscription));
                }
                Err(error) if retry::is_permanent(&error) => return Err(error.into()),
                Err(error) => failures.failed(retry::bus_error_kind(&error), &error),
            }
            if !retry::sleep_unless(backoff.next_delay(), &self.stop).await {
                return Ok(None);
            }
        }
    }

    /// Ids of the work running now.
    fn running_work_ids(&self) -> Vec<String> {
        lock(&self.work).running.keys().cloned().collect()
    }

    /// Stops one running work item, remembering why; false if it is not running here.
    fn stop_work(&self, work_id: &str, reason: &str) -> bool {
        let mut table = lock(&self.work);
        let Some(running) = table.running.get_mut(work_id) else {
            return false;
        };
        running.stop_reason.get_or_insert_with(|| reason.to_owned());
        running.cancel.cancel();
        tracing::info!(work_id, reason, "stopping work");
        true
    }

    fn stop_all_work(&self, reason: &str) {
        for work_id in self.running_work_ids() {
            self.stop_work(&work_id, reason);
        }
    }

    /// Ends the agent with `error` (from a background task).
    fn fail(&self, error: AgentError) {
        tracing::error!(%error, "the agent cannot go on");
        lock(&self.fatal).get_or_insert(error);
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_validated() {
        let good = AgentConfig::new("infra-nas", AgentKind::Infra);
        assert!(good.validate().is_ok());
        for (config, setting) in [
            (AgentConfig::new("bad id!", AgentKind::Infra), "agent id"),
            (AgentConfig::new("", AgentKind::Infra), "agent id"),
            (AgentConfig::new("x", AgentKind::Unspecified), "agent kind"),
            (
                AgentConfig {
                    max_concurrent_work: 0,
                    ..good.clone()
                },
                "max concurrent work",
            ),
        ] {
            match config.validate() {
                Err(AgentError::Config { setting: named, .. }) => assert_eq!(named, setting),
                other => panic!("expected a config error for {setting}, got {other:?}"),
            }
        }
    }

    #[test]
    fn finished_work_is_remembered_for_a_while() {
        let mut table = WorkTable::default();
        table.running.insert(
            "w0".into(),
            RunningWork {
                cancel: CancellationToken::new(),
                stop_reason: None,
            },
        );
        assert!(table.knows("w0"));
        assert!(table.finish("w0").is_some());
        assert!(table.knows("w0"));
        for i in 1..=RECENT_WORK {
            table.finish(&format!("w{i}"));
        }
        assert!(!table.knows("w0"), "the oldest id is forgotten");
        assert!(table.knows(&format!("w{RECENT_WORK}")));
        assert_eq!(table.recent.len(), RECENT_WORK);
    }
}
