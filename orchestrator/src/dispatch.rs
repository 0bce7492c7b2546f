//! Publishes queued steps to their agent kind's work queue.
//!
//! Steps are committed as queued before they are published, so a crash in between loses
//! nothing: the next start publishes every queued step again. While the broker is away the
//! dispatcher keeps retrying with backoff; the step simply stays queued meanwhile.

use crate::engine::Orchestrator;
use chiffon_bus::{BusMessage, Destination};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

const FIRST_RETRY: Duration = Duration::from_millis(200);
const LAST_RETRY: Duration = Duration::from_secs(10);

pub(crate) async fn run(orchestrator: Orchestrator, mut queued: mpsc::UnboundedReceiver<Uuid>) {
    let shutdown = orchestrator.shutdown_token().clone();
    loop {
        let step_id = tokio::select! {
            () = shutdown.cancelled() => return,
            next = queued.recv() => match next {
                Some(step_id) => step_id,
                None => return,
            },
        };
        let mut backoff = FIRST_RETRY;
        loop {
            match publish(&orchestrator, step_id).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%step_id, %error, retry_in = ?backoff, "publishing work failed");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(LAST_RETRY);
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
