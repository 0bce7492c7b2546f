//! A consumer that outlives connections: it reads one queue and, when its channel or
//! connection fails, starts again on the next connection by itself.
//!
//! Subscriptions are long-lived while connections are not; this is what lets a subscription's
//! owner ignore broker restarts.

use super::link::Link;
use super::topology::{QueueSpec, declare_control_queue};
use super::{OUTAGE_WAIT, Shared, reconnect_backoff};
use crate::{BusError, BusSettings};
use futures::StreamExt as _;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use std::sync::Arc;
use tokio::time::Instant;

/// Where a [`ResilientConsumer`] reads from.
pub(super) enum Source {
    Durable(QueueSpec),
    /// A private queue bound to the control exchange, recreated on every connection.
    Control,
}

/// A consumer that outlives connections: when its channel or connection fails it starts again
/// on the next connection.
pub(super) struct ResilientConsumer {
    pub(super) shared: Arc<Shared>,
    source: Source,
    active: Option<ActiveConsumer>,
}

struct ActiveConsumer {
    queue: String,
    consumer: Consumer,
    /// Kept so the channel lives exactly as long as the consumer; dropping both closes it and
    /// the broker returns the unsettled messages.
    _channel: Channel,
}

/// What waiting on the active consumer produced.
enum Next {
    Delivery(Box<lapin::message::Delivery>, String),
    Ended(String),
    Shutdown,
}

impl ResilientConsumer {
    /// Starts consuming, waiting at most [`OUTAGE_WAIT`] for a connection.
    pub(super) async fn open(
        shared: Arc<Shared>,
        source: Source,
    ) -> Result<ResilientConsumer, BusError> {
        let deadline = Instant::now() + OUTAGE_WAIT;
        let mut skip = None;
        loop {
            let link = shared.wait_for_link(skip, Some(deadline)).await?;
            match start_consumer(&shared.settings, &link, &source).await {
                Ok(active) => {
                    return Ok(ResilientConsumer {
                        shared,
                        source,
                        active: Some(active),
                    });
                }
                Err(_) if !link.is_connected() => skip = Some(link.generation),
                Err(reason) => {
                    return Err(BusError::Unavailable {
                        address: shared.address.clone(),
                        reason,
                    });
                }
            }
        }
    }

    /// The next raw delivery and the queue it came from; `None` once the bus shuts down.
    pub(super) async fn next(&mut self) -> Option<(lapin::message::Delivery, String)> {
        loop {
            if self.active.is_none() {
                self.active = Some(self.restart().await?);
            }
            let Some(active) = self.active.as_mut() else {
                continue;
            };
            let next = tokio::select! {
                biased;
                () = self.shared.shutdown.cancelled() => Next::Shutdown,
                item = active.consumer.next() => match item {
                    Some(Ok(delivery)) => Next::Delivery(Box::new(delivery), active.queue.clone()),
                    Some(Err(error)) => Next::Ended(error.to_string()),
                    None => Next::Ended("the broker cancelled the consumer".to_owned()),
                },
            };
            match next {
                Next::Delivery(delivery, queue) => return Some((*delivery, queue)),
                Next::Shutdown => return None,
                Next::Ended(reason) => {
                    if !self.shared.shutdown.is_cancelled() {
                        tracing::info!(
                            address = %self.shared.address,
                            queue = %active.queue,
                            %reason,
                            "consumer stopped; resuming once the broker is reachable"
                        );
                    }
                    self.active = None;
                }
            }
        }
    }

    /// Starts the consumer again, on the current connection if it is healthy or on the next one;
    /// `None` when the bus shuts down first.
    async fn restart(&self) -> Option<ActiveConsumer> {
        let mut backoff = reconnect_backoff(&self.shared.settings);
        loop {
            let link = self.shared.wait_for_link(None, None).await.ok()?;
            let reason = match start_consumer(&self.shared.settings, &link, &self.source).await {
                Ok(active) => return Some(active),
                // The supervisor will replace the connection; wait for that.
                Err(_) if !link.is_connected() => continue,
                Err(reason) => reason,
            };
            let retry_in = backoff.next_delay();
            tracing::warn!(
                address = %self.shared.address,
                %reason,
                retry_in_ms = retry_in.as_millis(),
                "could not resume consuming"
            );
            tokio::select! {
                biased;
                () = self.shared.shutdown.cancelled() => return None,
                () = tokio::time::sleep(retry_in) => {}
            }
        }
    }
}

/// Opens a channel with the prefetch limit, declares the source queue and consumes it.
async fn start_consumer(
    settings: &BusSettings,
    link: &Link,
    source: &Source,
) -> Result<ActiveConsumer, String> {
    let channel = link.open_channel().await?;
    channel
        .basic_qos(settings.prefetch, BasicQosOptions::default())
        .await
        .map_err(|error| format!("setting the prefetch limit: {error}"))?;
    let queue = match source {
        // Declaring again (idempotent) heals a queue deleted while the connection stayed up.
        Source::Durable(spec) => {
            spec.declare(&channel).await?;
            spec.name.clone()
        }
        Source::Control => declare_control_queue(&channel).await?,
    };
    let tag = format!("chiffon-{}", uuid::Uuid::new_v4());
    let consumer = channel
        .basic_consume(
            queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|error| format!("consuming {queue}: {error}"))?;
    Ok(ActiveConsumer {
        queue,
        consumer,
        _channel: channel,
    })
}
