//! Consumes the status queue: progress events and results that agents report about work.
//!
//! Messages are handled one at a time, in queue order, so a step's events are recorded in the
//! order its agent sent them and its result after them. A message that can never be recorded is
//! dead-lettered with a reason; one that failed for a passing reason (the database was briefly
//! unreachable) goes back to the queue.

use crate::engine::Orchestrator;
use crate::error::OrchestratorError;
use chiffon_bus::{BusMessage, Delivery, Subscription};
use chiffon_proto::v1::BusErrorCode;
use std::time::Duration;

/// Pause before a message that failed for a passing reason is handed back to the queue.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

pub(crate) async fn run(orchestrator: Orchestrator, mut status: Subscription) {
    let shutdown = orchestrator.shutdown_token().clone();
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => return,
            next = status.next() => match next {
                Some(delivery) => delivery,
                None => return,
            },
        };
        if let Err(error) = handle(&orchestrator, delivery).await {
            tracing::warn!(%error, "settling a status message failed; the broker will redeliver it");
        }
    }
}

async fn handle(
    orchestrator: &Orchestrator,
    delivery: Delivery,
) -> Result<(), chiffon_bus::BusError> {
    let outcome = match &delivery.message {
        BusMessage::WorkEvent(event) => orchestrator.record_work_event(event.clone()).await,
        BusMessage::WorkResult(result) => orchestrator.record_work_result(result.clone()).await,
        BusMessage::WorkItem(_) | BusMessage::CancelWork(_) => {
            return delivery
                .dead_letter(
                    BusErrorCode::WrongQueue,
                    "the status queue carries work events and results only",
                )
                .await;
        }
    };
    match outcome {
        Ok(()) => delivery.ack().await,
        Err(
            error @ (OrchestratorError::InvalidArgument(_)
            | OrchestratorError::NotFound { .. }
            | OrchestratorError::Corrupt { .. }),
        ) => {
            tracing::warn!(%error, "dead-lettering a status message that cannot be recorded");
            delivery
                .dead_letter(BusErrorCode::InvalidMessage, &error.to_string())
                .await
        }
        Err(error) => {
            tracing::warn!(%error, "recording a status message failed; it will be retried");
            tokio::time::sleep(RETRY_PAUSE).await;
            delivery.retry().await
        }
    }
}
