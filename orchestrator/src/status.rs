//! Consumes the status queue: progress events and results that agents report about work.
//!
//! Messages are handled one at a time, in queue order, so a step's events are recorded in the
//! order its agent sent them and its result after them. A message that can never be recorded is
//! dead-lettered with a reason. One that failed for a passing reason (the database was briefly
//! unreachable) is tried again here, with backoff, rather than handed back to the queue: that
//! would put it behind later messages and count against the queue's delivery limit.

use crate::engine::Orchestrator;
use crate::error::OrchestratorError;
use chiffon_bus::{Backoff, BusMessage, Delivery, Subscription};
use chiffon_proto::v1::BusErrorCode;
use std::time::Duration;
use tracing::Instrument as _;

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
        let span = delivery.span().clone();
        if let Err(error) = handle(&orchestrator, delivery).instrument(span).await {
            tracing::warn!(%error, "settling a status message failed; the broker will redeliver it");
        }
    }
}

async fn handle(
    orchestrator: &Orchestrator,
    delivery: Delivery,
) -> Result<(), chiffon_bus::BusError> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
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
            Ok(()) => return delivery.ack().await,
            Err(
                error @ (OrchestratorError::InvalidArgument(_)
                | OrchestratorError::NotFound { .. }
                | OrchestratorError::Corrupt { .. }),
            ) => {
                tracing::warn!(%error, "dead-lettering a status message that cannot be recorded");
                return delivery
                    .dead_letter(BusErrorCode::InvalidMessage, &error.to_string())
                    .await;
            }
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in = ?delay, "recording a status message failed");
                tokio::select! {
                    // Unsettled, the message is redelivered to the next orchestrator process.
                    () = orchestrator.shutdown_token().cancelled() => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
