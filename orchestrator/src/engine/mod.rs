//! The orchestrator's operations on requests, plan revisions, approvals, steps and their work,
//! split by aggregate into the modules below; what may happen next is [`crate::machine`]'s to
//! decide, how it is written [`crate::store`]'s.
//!
//! Every operation runs in one database transaction that first locks the request row it changes,
//! so concurrent operations on one request apply one after another and each records its events
//! with consecutive sequence numbers. Side effects outside the database (waking watchers,
//! publishing work, broadcasting cancellations) are collected in [`Effects`] and happen only
//! after the commit; work that was committed as queued but not yet published is published again
//! on start, which is safe because agents claim work before running it.

use crate::error::Result;
use crate::events::EventHub;
use crate::mapping;
use crate::planner::{CatalogPlanner, Planner};
use crate::store::{self, Database, Transaction};
use chiffon_bus::{Bus, BusMessage, Destination, Envelope};
use chiffon_proto::v1 as pb;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

pub use crate::store::plans::PlanWithSteps;

mod agents;
mod catalog;
mod lifecycle;
mod placement;
mod requests;
mod reruns;
mod suggestions;

/// Name recorded as the planner of the plans that apply an accepted suggestion.
const SUGGESTION_PLANNER: &str = "suggestion";
/// Name recorded as the planner of the plans that re-run failed hosts.
const RERUN_PLANNER: &str = "rerun";

/// Settings of the orchestrator's state machine.
#[derive(Clone)]
pub struct OrchestratorConfig {
    /// How often agents are asked to send a heartbeat.
    pub heartbeat_interval: Duration,
    /// An agent silent for this long is offline, and the work it was running fails.
    pub agent_offline_after: Duration,
    /// The confidence (0 to 1) a catalog playbook needs to be used for a task; below it the
    /// answer is "no playbook fits". See [`mapping::DEFAULT_THRESHOLD`] for how the default was
    /// chosen.
    pub match_threshold: f64,
    /// What turns a request's text into a plan.
    pub planner: Arc<dyn Planner>,
}

impl std::fmt::Debug for OrchestratorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrchestratorConfig")
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("agent_offline_after", &self.agent_offline_after)
            .field("match_threshold", &self.match_threshold)
            .field("planner", &self.planner.name())
            .finish()
    }
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(5),
            agent_offline_after: Duration::from_secs(30),
            match_threshold: mapping::DEFAULT_THRESHOLD,
            planner: Arc::new(CatalogPlanner),
        }
    }
}

/// What an agent must do with a work item it tried to claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run it.
    Granted,
    /// Another agent process holds it.
    HeldElsewhere(String),
    /// It must not run (any more).
    NotRunnable(String),
    /// It must run on another agent; the claimer gives the message back to the queue.
    OtherAgent(String),
}

/// Side effects of a committed transaction.
#[derive(Default)]
struct Effects {
    events: Vec<pb::RequestEvent>,
    dispatch: Vec<Uuid>,
    cancel: Vec<pb::CancelWork>,
}

/// Handle to the orchestrator; cheap to clone.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    bus: Arc<dyn Bus>,
    hub: EventHub,
    dispatch: mpsc::UnboundedSender<Uuid>,
    config: OrchestratorConfig,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    started_at: chrono::DateTime<chrono::Utc>,
}

impl Orchestrator {
    /// Starts the orchestrator's background work (publishing queued steps, consuming the status
    /// queue, watching agent heartbeats) on a migrated database. Everything stops when
    /// `shutdown` is cancelled; [`Orchestrator::stopped`] waits for it.
    pub async fn start(
        db: Database,
        bus: Arc<dyn Bus>,
        config: OrchestratorConfig,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let (dispatch, to_dispatch) = mpsc::unbounded_channel();
        let orchestrator = Self {
            inner: Arc::new(Inner {
                db,
                bus,
                hub: EventHub::new(),
                dispatch,
                config,
                tasks: TaskTracker::new(),
                shutdown,
                started_at: chrono::Utc::now(),
            }),
        };
        let status = orchestrator
            .inner
            .bus
            .subscribe(Destination::Status)
            .await?;
        let tasks = &orchestrator.inner.tasks;
        tasks.spawn(crate::dispatch::run(orchestrator.clone(), to_dispatch));
        tasks.spawn(crate::status::run(orchestrator.clone(), status));
        tasks.spawn(crate::reaper::run(orchestrator.clone()));
        orchestrator.requeue_unpublished().await?;
        Ok(orchestrator)
    }

    /// Waits until every background task has stopped (after shutdown was requested).
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    pub(crate) fn bus(&self) -> &Arc<dyn Bus> {
        &self.inner.bus
    }

    pub(crate) fn config(&self) -> &OrchestratorConfig {
        &self.inner.config
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Re-sends steps that were committed as queued; the previous process may have stopped
    /// before publishing them.
    async fn requeue_unpublished(&self) -> Result<()> {
        for step_id in self.unclaimed_steps(Duration::ZERO).await? {
            let _ = self.inner.dispatch.send(step_id);
        }
        Ok(())
    }

    /// Steps queued at least `waiting` ago that no agent has claimed.
    pub(crate) async fn unclaimed_steps(&self, waiting: Duration) -> Result<Vec<Uuid>> {
        let waiting = chrono::Duration::from_std(waiting).unwrap_or(chrono::Duration::zero());
        store::steps::unclaimed(self.db(), chrono::Utc::now() - waiting).await
    }

    /// The one way a change is made durable: commit, then (and only then) announce its events,
    /// publish the work it queued and broadcast the work it stopped.
    async fn commit(&self, txn: Transaction, effects: Effects) -> Result<()> {
        store::commit(txn).await?;
        self.inner.hub.publish(effects.events);
        for step_id in effects.dispatch {
            // The dispatcher only stops at shutdown; the step stays queued and is sent on start.
            let _ = self.inner.dispatch.send(step_id);
        }
        for cancel in effects.cancel {
            let envelope = Envelope {
                correlation_id: cancel.request_id.clone(),
                idempotency_key: format!("cancel:{}", cancel.work_id),
                ..Envelope::default()
            };
            if let Err(error) = self
                .bus()
                .publish(
                    Destination::Control,
                    BusMessage::CancelWork(cancel),
                    envelope,
                )
                .await
            {
                // Heartbeats carry the same instruction, so the agent still learns about it.
                tracing::warn!(%error, "broadcasting a cancellation failed; heartbeats will carry it");
            }
        }
        Ok(())
    }
}
