//! Settling deliveries: acking, requeueing and dead-lettering one, and returning to its queue
//! one that was dropped unsettled.
//!
//! lapin settles asynchronously while `Drop` is synchronous, and a settle that fails with its
//! channel is not an error for the caller; both rules live here so every delivery follows them.

use super::Shared;
use crate::{Acker, BusError, RawMessage};
use async_trait::async_trait;
use chiffon_proto::v1::BusErrorCode;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A nack that puts the one delivery back into its queue.
const REQUEUE: BasicNackOptions = BasicNackOptions {
    multiple: false,
    requeue: true,
};

/// Settles one lapin delivery. Exactly one of `ack` / `requeue` runs; when neither did, `Drop`
/// hands the delivery to [`requeue_dropped`].
pub(super) struct PendingAck {
    acker: Option<lapin::Acker>,
    dropped: mpsc::UnboundedSender<lapin::Acker>,
}

impl PendingAck {
    /// Settles `acker` once; `dropped` takes it back if neither `ack` nor `requeue` is called.
    pub(super) fn new(acker: lapin::Acker, dropped: mpsc::UnboundedSender<lapin::Acker>) -> Self {
        Self {
            acker: Some(acker),
            dropped,
        }
    }

    pub(super) async fn ack(mut self) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => settled(acker.ack(BasicAckOptions::default()).await),
            None => Ok(()),
        }
    }

    async fn requeue(mut self) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => settled(acker.nack(REQUEUE).await),
            None => Ok(()),
        }
    }
}

impl Drop for PendingAck {
    fn drop(&mut self) {
        if let Some(acker) = self.acker.take() {
            // Fails only once the bus stopped, when closing the channel returns the message.
            let _ = self.dropped.send(acker);
        }
    }
}

/// An ack, nack or reject only fails when the delivery's channel is gone; the broker then
/// returns the message to its queue by itself, which is the outcome a retry wants and which an
/// idempotent consumer tolerates after an ack, so it is not an error for the caller.
fn settled(result: lapin::Result<bool>) -> Result<(), BusError> {
    match result {
        Ok(true) => {}
        Ok(false) => tracing::debug!(
            "the delivery's channel is gone; the broker will deliver the message again"
        ),
        Err(error) => tracing::debug!(
            %error,
            "could not settle the delivery; the broker will deliver the message again"
        ),
    }
    Ok(())
}

/// Settles a delivery handed out by a subscription; it keeps the message as it traveled for
/// dead-lettering.
pub(super) struct RabbitAcker {
    pub(super) pending: PendingAck,
    pub(super) shared: Arc<Shared>,
    pub(super) raw: RawMessage,
    /// Queue the delivery came from, for the dead letter's header.
    pub(super) queue: String,
}

#[async_trait]
impl Acker for RabbitAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.pending.ack().await
    }

    async fn retry(self: Box<Self>) -> Result<(), BusError> {
        self.pending.requeue().await
    }

    async fn dead_letter(
        self: Box<Self>,
        code: BusErrorCode,
        reason: String,
    ) -> Result<(), BusError> {
        let RabbitAcker {
            pending,
            shared,
            raw,
            queue,
        } = *self;
        shared.dead_letter(pending, raw, code, reason, queue).await
    }
}

/// Returns deliveries that were dropped unsettled to their queue. Settling is asynchronous and
/// `Drop` is not, so the deliveries' drop handlers hand their ackers over to this task.
pub(super) async fn requeue_dropped(
    mut dropped: mpsc::UnboundedReceiver<lapin::Acker>,
    shutdown: CancellationToken,
) {
    loop {
        let acker = tokio::select! {
            biased;
            // Closing the connection on shutdown returns every unsettled message anyway.
            () = shutdown.cancelled() => return,
            acker = dropped.recv() => match acker {
                Some(acker) => acker,
                None => return,
            },
        };
        if let Err(error) = acker.nack(REQUEUE).await {
            tracing::debug!(%error, "could not return a dropped delivery; the broker returns it when its channel closes");
        }
    }
}
