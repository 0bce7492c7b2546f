//! Taking work from the queue, claiming it, running it, and reporting it; and the control
//! fan-out that cancels it.

use super::membership::with_deadline;
use super::retry::{Backoff, FailureLog, bus_error_kind, is_permanent, sleep_unless, status_kind};
use super::{Agent, RunningWork, lock};
use crate::{AgentError, RunOutcome};
use chiffon_bus::{BusError, BusMessage, Delivery, Destination, Envelope, Subscription};
use chiffon_proto::v1::{
    BusErrorCode, ClaimOutcome, ClaimWorkRequest, WorkEvent, WorkItem, WorkResult, WorkStatus,
    work_event,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

/// Events buffered between an executor and the publisher. Small on purpose: when the bus is
/// slow the executor waits (and with it ansible-playbook) instead of memory growing.
const EVENT_BUFFER: usize = 32;

/// What to do with a delivery after asking for its claim.
enum ClaimDecision {
    /// The claim is ours: acknowledge and run.
    Run,
    /// Someone else runs it or it must not run: acknowledge and forget.
    Drop(String),
    /// The orchestrator could not answer, or the work must run on another agent: back to the
    /// queue, after a pause.
    Later,
    /// The orchestrator says the item itself is invalid.
    Invalid(String),
}

impl Agent {
    /// Takes deliveries from the work queue while a slot is free, until the agent stops.
    /// Returns an error only if the bus ended the subscription on its own.
    pub(super) async fn consume_work(
        self: &Arc<Self>,
        mut subscription: Subscription,
        tasks: &TaskTracker,
    ) -> Result<(), AgentError> {
        let slots = Arc::new(Semaphore::new(self.config.max_concurrent_work));
        let mut claim_backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut claim_failures = FailureLog::new("claiming work");
        loop {
            // Wait for a slot before taking a delivery, so that a busy agent leaves messages in
            // the queue for its idle peers.
            let permit = tokio::select! {
                () = self.stop.cancelled() => return Ok(()),
                permit = Arc::clone(&slots).acquire_owned() => permit,
            };
            let Ok(permit) = permit else { return Ok(()) };
            let delivery = tokio::select! {
                () = self.stop.cancelled() => return Ok(()),
                delivery = subscription.next() => delivery,
            };
            let Some(delivery) = delivery else {
                return Err(AgentError::Bus(BusError::Closed));
            };
            self.take_delivery(
                delivery,
                permit,
                tasks,
                &mut claim_backoff,
                &mut claim_failures,
            )
            .await;
        }
    }

    async fn take_delivery(
        self: &Arc<Self>,
        delivery: Delivery,
        permit: OwnedSemaphorePermit,
        tasks: &TaskTracker,
        claim_backoff: &mut Backoff,
        claim_failures: &mut FailureLog,
    ) {
        let item = match &delivery.message {
            BusMessage::WorkItem(item) => item.clone(),
            other => {
                let reason = format!("a {} does not belong on a work queue", other.type_name());
                return settle(
                    delivery
                        .dead_letter(BusErrorCode::WrongQueue, &reason)
                        .await,
                );
            }
        };
        if let Err(reason) = self.check(&item) {
            tracing::warn!(work_id = %item.work_id, %reason, "dead-lettering a work item");
            return settle(
                delivery
                    .dead_letter(BusErrorCode::InvalidMessage, &reason)
                    .await,
            );
        }

        let span = tracing::info_span!(
            "work",
            work_id = %item.work_id,
            request_id = %item.request_id,
            step_id = %item.step_id,
            attempt = item.attempt,
        );
        chiffon_observability::propagation::continue_trace(&span, &delivery.envelope.trace);
        async {
            if lock(&self.work).knows(&item.work_id) {
                // The orchestrator would grant the claim again to this very process, so only
                // this process can tell that the item is already running or just ran here.
                tracing::info!("dropping a copy of work this agent already took");
                return settle(delivery.ack().await);
            }
            match self.claim(&item.work_id, claim_failures).await {
                ClaimDecision::Run => {
                    claim_backoff.reset();
                    let cancel = self.stop.child_token();
                    lock(&self.work).running.insert(
                        item.work_id.clone(),
                        RunningWork {
                            cancel: cancel.clone(),
                            stop_reason: None,
                        },
                    );
                    // The claim now owns the work; the message has served its purpose. If the
                    // ack is lost the copy that comes back is refused by the claim.
                    settle(delivery.ack().await);
                    let agent = Arc::clone(self);
                    tasks.spawn(
                        async move {
                            agent.run_work(item, cancel).await;
                            drop(permit);
                        }
                        .in_current_span(),
                    );
                }
                ClaimDecision::Drop(detail) => {
                    claim_backoff.reset();
                    tracing::info!(%detail, "not running work the orchestrator did not grant");
                    settle(delivery.ack().await);
                }
                ClaimDecision::Invalid(detail) => {
                    tracing::warn!(%detail, "the orchestrator rejected the work item");
                    settle(
                        delivery
                            .dead_letter(BusErrorCode::InvalidMessage, &detail)
                            .await,
                    );
                }
                ClaimDecision::Later => {
                    sleep_unless(claim_backoff.next_delay(), &self.stop).await;
                    settle(delivery.retry().await);
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Why `item` cannot be run by this agent, if it cannot.
    fn check(&self, item: &WorkItem) -> Result<(), String> {
        if item.work_id.is_empty() {
            return Err("the work item has no work_id".to_owned());
        }
        if item.agent_kind != i32::from(self.config.kind) {
            let kind = chiffon_proto::v1::AgentKind::try_from(item.agent_kind)
                .map(chiffon_bus::agent_kind_slug)
                .unwrap_or("unknown");
            return Err(format!(
                "work for {kind} agents reached a {} agent",
                chiffon_bus::agent_kind_slug(self.config.kind)
            ));
        }
        if item.action.is_none() {
            return Err("the work item has no action".to_owned());
        }
        Ok(())
    }

    async fn claim(&self, work_id: &str, failures: &mut FailureLog) -> ClaimDecision {
        let request = ClaimWorkRequest {
            work_id: work_id.to_owned(),
            agent_id: self.config.agent_id.clone(),
            instance_id: self.instance_id.clone(),
        };
        let response = match self.client.clone().claim_work(with_deadline(request)).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == tonic::Code::InvalidArgument => {
                return ClaimDecision::Invalid(status.message().to_owned());
            }
            Err(status) => {
                failures.failed(status_kind(&status), &status);
                return ClaimDecision::Later;
            }
        };
        failures.succeeded();
        match ClaimOutcome::try_from(response.outcome) {
            Ok(ClaimOutcome::Granted) => ClaimDecision::Run,
            Ok(ClaimOutcome::HeldElsewhere) => ClaimDecision::Drop(format!(
                "held by another agent process: {}",
                response.detail
            )),
            Ok(ClaimOutcome::NotRunnable) => {
                ClaimDecision::Drop(format!("not runnable: {}", response.detail))
            }
            Ok(ClaimOutcome::OtherAgent) => {
                tracing::debug!(detail = %response.detail, "work for another agent; giving it back");
                ClaimDecision::Later
            }
            Ok(ClaimOutcome::Unspecified) | Err(_) => {
                tracing::warn!(
                    outcome = response.outcome,
                    "the orchestrator gave no claim outcome"
                );
                ClaimDecision::Later
            }
        }
    }

    /// Runs one granted work item, publishing its events and then its result.
    async fn run_work(&self, item: WorkItem, cancel: CancellationToken) {
        tracing::info!("running work");
        let (events_tx, mut events_rx) = mpsc::channel(EVENT_BUFFER);
        let execute = self.executor.execute(&item, cancel, events_tx);
        let publish_events = async {
            let mut sequence: i64 = 0;
            let mut published: i64 = 0;
            while let Some(task) = events_rx.recv().await {
                sequence += 1;
                let event = WorkEvent {
                    work_id: item.work_id.clone(),
                    request_id: item.request_id.clone(),
                    step_id: item.step_id.clone(),
                    agent_id: self.config.agent_id.clone(),
                    sequence,
                    occurred_at: Some(SystemTime::now().into()),
                    detail: Some(work_event::Detail::Task(task)),
                };
                let key = format!("event:{}:{sequence}", item.work_id);
                if self.publish(BusMessage::WorkEvent(event), &item, key).await {
                    published += 1;
                }
            }
            published
        };
        let (outcome, event_count) = tokio::join!(execute, publish_events);

        let stop_reason = lock(&self.work)
            .finish(&item.work_id)
            .and_then(|w| w.stop_reason);
        let result = self.result(&item, outcome, event_count, stop_reason);
        tracing::info!(status = ?result.status(), error = %result.error, "work ended");
        let key = format!("result:{}", item.work_id);
        self.publish(BusMessage::WorkResult(result), &item, key)
            .await;
    }

    fn result(
        &self,
        item: &WorkItem,
        outcome: RunOutcome,
        event_count: i64,
        stop_reason: Option<String>,
    ) -> WorkResult {
        let mut error = outcome.error;
        if outcome.status == WorkStatus::Cancelled {
            let reason = stop_reason.or_else(|| {
                self.stop
                    .is_cancelled()
                    .then(|| "the agent is shutting down".to_owned())
            });
            if let Some(reason) = reason {
                error = format!("{error} ({reason})");
            }
        }
        WorkResult {
            work_id: item.work_id.clone(),
            request_id: item.request_id.clone(),
            step_id: item.step_id.clone(),
            agent_id: self.config.agent_id.clone(),
            status: outcome.status.into(),
            exit_code: outcome.exit_code,
            host_stats: outcome.host_stats,
            failed_tasks: outcome.failed_tasks,
            error,
            started_at: Some(outcome.started_at.into()),
            finished_at: Some(outcome.finished_at.into()),
            event_count,
            commit: outcome.commit,
        }
    }

    /// Publishes `message` about `item` to the status queue, retrying with backoff until the
    /// broker confirms it: events and results are never dropped or reordered while the agent
    /// runs. Gives up (false) only once the shutdown grace is over.
    async fn publish(&self, message: BusMessage, item: &WorkItem, idempotency_key: String) -> bool {
        let envelope = Envelope {
            correlation_id: item.request_id.clone(),
            idempotency_key,
            // Filled by the bus from the current span (the work item's).
            trace: Default::default(),
        };
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        let mut failures = FailureLog::new("publishing to the status queue");
        loop {
            let attempt = self
                .bus
                .publish(Destination::Status, message.clone(), envelope.clone());
            let outcome = tokio::select! {
                outcome = attempt => outcome,
                () = self.publish_deadline.cancelled() => break,
            };
            match outcome {
                Ok(()) => {
                    failures.succeeded();
                    return true;
                }
                Err(error) if is_permanent(&error) => {
                    tracing::error!(
                        key = %envelope.idempotency_key,
                        %error,
                        "cannot publish to the status queue; the orchestrator will treat the work as interrupted"
                    );
                    return false;
                }
                Err(error) => failures.failed(bus_error_kind(&error), &error),
            }
            if !sleep_unless(backoff.next_delay(), &self.publish_deadline).await {
                break;
            }
        }
        tracing::error!(
            key = %envelope.idempotency_key,
            "gave up publishing to the status queue at shutdown; the orchestrator will treat the work as interrupted"
        );
        false
    }

    /// Applies cancellations from the control fan-out until the agent stops.
    pub(super) async fn control_loop(self: Arc<Self>, mut subscription: Subscription) {
        loop {
            let delivery = tokio::select! {
                () = self.stop.cancelled() => return,
                delivery = subscription.next() => delivery,
            };
            let Some(delivery) = delivery else {
                if !self.stop.is_cancelled() {
                    self.fail(AgentError::Bus(BusError::Closed));
                }
                return;
            };
            match &delivery.message {
                BusMessage::CancelWork(cancel) => {
                    let reason = if cancel.reason.is_empty() {
                        "cancelled by the orchestrator".to_owned()
                    } else {
                        format!("cancelled: {}", cancel.reason)
                    };
                    if !self.stop_work(&cancel.work_id, &reason) {
                        tracing::debug!(work_id = %cancel.work_id, "cancellation for work not running here");
                    }
                    settle(delivery.ack().await);
                }
                other => {
                    let reason = format!(
                        "a {} does not belong on the control fan-out",
                        other.type_name()
                    );
                    settle(
                        delivery
                            .dead_letter(BusErrorCode::WrongQueue, &reason)
                            .await,
                    );
                }
            }
        }
    }
}

/// Logs a failure to settle a delivery. Nothing else can be done: an unsettled message comes
/// back, and the claim makes sure it does not run twice.
fn settle(result: Result<(), BusError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "could not settle a delivery; it will be delivered again");
    }
}
