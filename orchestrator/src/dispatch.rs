//! Publishes queued steps to their agent kind's work queue.
//!
//! Steps are committed as queued before they are published, so a crash in between loses
//! nothing: every queued step is published again at start, and again whenever it has waited
//! longer than [`REPUBLISH_AFTER`] without an agent claiming it (its message may have been
//! dead-lettered while the orchestrator was unreachable). Duplicates are harmless because agents
//! claim work before running it. While the broker is away the dispatcher keeps retrying with
//! backoff; the step simply stays queued meanwhile.

use crate::engine::Orchestrator;
use chiffon_bus::{Backoff, BusMessage, Destination};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// A queued step nobody claimed for this long is published again.
pub(crate) const REPUBLISH_AFTER: Duration = Duration::from_secs(60);

pub(crate) async fn run(orchestrator: Orchestrator, mut queued: mpsc::UnboundedReceiver<Uuid>) {
    let shutdown = orchestrator.shutdown_token().clone();
    // Start publishes every queued step already; the first sweep comes one period later.
    let mut sweep = tokio::time::interval_at(
        tokio::time::Instant::now() + REPUBLISH_AFTER,
        REPUBLISH_AFTER,
    );
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step_ids = tokio::select! {
            () = shutdown.cancelled() => return,
            next = queued.recv() => match next {
                Some(step_id) => vec![step_id],
                None => return,
            },
            _ = sweep.tick() => match orchestrator.unclaimed_steps(REPUBLISH_AFTER).await {
                Ok(step_ids) => step_ids,
                Err(error) => {
                    tracing::warn!(%error, "looking for unclaimed work failed");
                    Vec::new()
                }
            },
        };
        for step_id in step_ids {
            let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
            while let Err(error) = publish(&orchestrator, step_id).await {
                if !error.is_transient() {
                    // Retrying cannot help (stored data this step needs is missing or corrupt),
                    // and waiting here would hold back every other step. The step stays queued
                    // and the next sweep tries it again.
                    tracing::error!(%step_id, %error, "cannot build the work item of a queued step");
                    break;
                }
                let delay = backoff.next_delay();
                tracing::warn!(%step_id, %error, retry_in = ?delay, "publishing work failed");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

async fn publish(orchestrator: &Orchestrator, step_id: Uuid) -> crate::Result<()> {
    let Some((item, envelope)) = orchestrator.work_item(step_id).await? else {
        // Claimed, cancelled or finished since it was queued: nothing to send.
        return Ok(());
    };
    let destination = Destination::Work(item.agent_kind());
    let work_id = item.work_id.clone();
    orchestrator
        .bus()
        .publish(destination, BusMessage::WorkItem(item), envelope)
        .await?;
    tracing::info!(%step_id, %work_id, queue = %destination.name(), "work published");
    Ok(())
}
