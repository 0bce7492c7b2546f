//! The RabbitMQ bus (lapin): durable quorum queues, publisher confirms, manual acks, a
//! dead-letter exchange and a connection that heals itself.
//!
//! Topology, declared idempotently on every (re)connection — see `docs/protocol.md`:
//! - `chiffon.work.<kind>` and `chiffon.status`: durable quorum queues with a delivery limit,
//!   dead-lettering at least once to `chiffon.dlx`, refusing publishes when full;
//! - `chiffon.dlx`: fanout exchange bound to the durable quorum queue `chiffon.dead-letters`;
//! - `chiffon.control`: fanout exchange; each control subscription binds its own exclusive,
//!   auto-deleted, server-named queue to it.
//!
//! A supervisor task owns the connection. When the broker goes away it reconnects with
//! exponential backoff with jitter ([`crate::Backoff`], capped at
//! [`BusSettings::max_reconnect_backoff`]) and redeclares the topology; subscriptions then
//! resume on the new connection without their owner noticing, and publishes issued meanwhile
//! wait for it (at most [`OUTAGE_WAIT`]). Deliveries that were unsettled when the connection
//! dropped go back to their queue on the broker and are delivered again: consumers must be
//! idempotent.
//!
//! This module holds what callers see — [`RabbitBus`] and its [`Bus`] implementation — and the
//! state every handle shares (the current connection, publishing with confirms). The parts
//! behind it have a module each:
//! - `topology`: the exchanges and queues, and where a publish goes;
//! - `link`: one connection with the topology declared on it;
//! - `supervisor`: the task that replaces a lost connection;
//! - `consumer`: a consumer that resumes on every new connection;
//! - `subscription`: deliveries decoded into [`Subscription`]s and dead letters;
//! - `ack`: settling deliveries, including those dropped unsettled;
//! - `message`: a [`RawMessage`] to and from AMQP properties and headers.

mod ack;
mod consumer;
mod link;
mod message;
mod subscription;
mod supervisor;
mod topology;

pub use topology::{CONTROL_EXCHANGE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE};

use crate::{
    Backoff, Bus, BusError, BusMessage, BusSettings, DeadLetterSubscription, Destination, Envelope,
    RawMessage, Subscription, codec, headers, telemetry,
};
use ack::{PendingAck, requeue_dropped};
use async_trait::async_trait;
use chiffon_proto::v1::BusErrorCode;
use consumer::{ResilientConsumer, Source};
use lapin::Confirmation;
use lapin::uri::AMQPUri;
use link::{Link, open_link};
use std::sync::Arc;
use std::time::Duration;
use subscription::{RabbitDeadLetters, RabbitSubscription};
use supervisor::Supervisor;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use topology::{QueueSpec, Target};
use tracing::Instrument as _;

/// How long a publish (or a new subscription) waits for a connection to the broker before it
/// fails with [`BusError::Unavailable`]; a publish also fails ([`BusError::NotConfirmed`]) when
/// its confirm has not arrived by then.
pub const OUTAGE_WAIT: Duration = Duration::from_secs(30);

/// Value of the `messaging.system` span attribute.
const SYSTEM: &str = "rabbitmq";
/// First wait between reconnection (and consumer restart) attempts; the waits then grow up to
/// `max_reconnect_backoff`.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The backoff between attempts to reach the broker again, for the supervisor's reconnects and
/// the consumers' restarts alike.
fn reconnect_backoff(settings: &BusSettings) -> Backoff {
    Backoff::new(
        INITIAL_BACKOFF.min(settings.max_reconnect_backoff),
        settings.max_reconnect_backoff,
    )
}

/// The RabbitMQ bus. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct RabbitBus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RabbitBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitBus")
            .field("address", &self.shared.address)
            .finish_non_exhaustive()
    }
}

impl RabbitBus {
    /// Connects to the broker at `amqp_url` (`amqp://user:password@host:5672/vhost`), declares
    /// the topology and starts the tasks that keep the connection alive until `shutdown` is
    /// cancelled (or every handle to the bus is dropped).
    ///
    /// Fails with [`BusError::InvalidUrl`] or, when the first connection cannot be made,
    /// [`BusError::Unavailable`]; later outages are healed in the background. Credentials never
    /// appear in errors or logs.
    pub async fn connect(
        amqp_url: &str,
        settings: BusSettings,
        shutdown: CancellationToken,
    ) -> Result<RabbitBus, BusError> {
        let address = redact_url(amqp_url);
        let uri: AMQPUri = amqp_url.parse().map_err(|error: String| {
            // The parser quotes the whole URL in some errors.
            BusError::InvalidUrl(format!("{address}: {}", error.replace(amqp_url, &address)))
        })?;
        let first = tokio::select! {
            () = shutdown.cancelled() => return Err(BusError::Closed),
            link = open_link(&uri, &settings, 1) => link,
        }
        .map_err(|reason| BusError::Unavailable {
            address: address.clone(),
            reason,
        })?;
        tracing::info!(%address, "connected to the message broker");

        let first = Arc::new(first);
        let (link_tx, link_rx) = watch::channel(Some(first.clone()));
        let (settle_tx, settle_rx) = mpsc::unbounded_channel();
        let tasks = TaskTracker::new();
        let supervisor = Supervisor {
            uri,
            address: address.clone(),
            settings: settings.clone(),
            shutdown: shutdown.clone(),
            link_tx,
        };
        tasks.spawn(supervisor.run(first));
        tasks.spawn(requeue_dropped(settle_rx, shutdown.clone()));
        tasks.close();
        Ok(RabbitBus {
            shared: Arc::new(Shared {
                address,
                settings,
                shutdown,
                link: link_rx,
                settle: settle_tx,
                tasks,
            }),
        })
    }

    /// Waits until the background tasks have stopped and the connection is closed, which
    /// happens once the shutdown token is cancelled (or every handle to the bus is dropped).
    pub async fn closed(&self) {
        self.shared.tasks.wait().await;
    }
}

#[async_trait]
impl Bus for RabbitBus {
    async fn publish(
        &self,
        destination: Destination,
        message: BusMessage,
        envelope: Envelope,
    ) -> Result<(), BusError> {
        let span =
            telemetry::publish_span(SYSTEM, &destination.name(), message.type_name(), &envelope);
        // Encoding inside the span makes the injected trace context the publish span's.
        let raw = span.in_scope(|| codec::encode_for(destination, &message, &envelope))?;
        self.shared
            .publish(&Target::destination(destination), &raw)
            .instrument(span)
            .await
    }

    async fn publish_raw(
        &self,
        destination: Destination,
        message: RawMessage,
    ) -> Result<(), BusError> {
        codec::ensure_destination_exists(destination)?;
        let span = telemetry::publish_span(
            SYSTEM,
            &destination.name(),
            message
                .headers
                .get(headers::MESSAGE_TYPE)
                .map_or("unknown", String::as_str),
            &Envelope::default(),
        );
        self.shared
            .publish(&Target::destination(destination), &message)
            .instrument(span)
            .await
    }

    async fn subscribe(&self, destination: Destination) -> Result<Subscription, BusError> {
        codec::ensure_destination_exists(destination)?;
        let source = match destination {
            Destination::Control => Source::Control,
            Destination::Work(_) | Destination::Status => Source::Durable(
                QueueSpec::delivery_limited(destination.name(), &self.shared.settings),
            ),
        };
        let consumer = ResilientConsumer::open(self.shared.clone(), source).await?;
        Ok(Subscription::new(Box::new(RabbitSubscription {
            consumer,
            destination,
        })))
    }

    async fn subscribe_dead_letters(&self) -> Result<DeadLetterSubscription, BusError> {
        let source = Source::Durable(QueueSpec::dead_letters());
        let consumer = ResilientConsumer::open(self.shared.clone(), source).await?;
        Ok(DeadLetterSubscription::new(Box::new(RabbitDeadLetters {
            consumer,
        })))
    }
}

/// What every handle (bus, subscription, delivery) shares. The background tasks do not hold it,
/// so they notice when the last handle is gone.
struct Shared {
    /// Broker URL without credentials, for errors and logs.
    address: String,
    settings: BusSettings,
    shutdown: CancellationToken,
    /// The current connection; `None` while reconnecting.
    link: watch::Receiver<Option<Arc<Link>>>,
    /// Deliveries dropped unsettled, for the task that returns them to their queue.
    settle: mpsc::UnboundedSender<lapin::Acker>,
    tasks: TaskTracker,
}

impl Shared {
    /// The current connection, waiting for the supervisor to establish one when there is none.
    /// `skip` names a connection the caller saw fail, so it waits for the next one.
    async fn wait_for_link(
        &self,
        skip: Option<u64>,
        deadline: Option<Instant>,
    ) -> Result<Arc<Link>, BusError> {
        let mut link_rx = self.link.clone();
        loop {
            if self.shutdown.is_cancelled() {
                return Err(BusError::Closed);
            }
            let current = link_rx.borrow_and_update().clone();
            if let Some(link) =
                current.filter(|link| Some(link.generation) != skip && link.is_connected())
            {
                return Ok(link);
            }
            let expired = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(BusError::Closed),
                changed = link_rx.changed() => {
                    if changed.is_err() {
                        return Err(BusError::Closed);
                    }
                }
                () = expired => {
                    return Err(BusError::Unavailable {
                        address: self.address.clone(),
                        reason: format!(
                            "no connection to the broker for {} s",
                            OUTAGE_WAIT.as_secs()
                        ),
                    });
                }
            }
        }
    }

    /// Publishes `raw` and waits for the broker's confirm. A connection lost before the confirm
    /// arrived is waited out and the message published again on the next connection, so the
    /// broker may hold it twice (consumers deduplicate by idempotency key).
    async fn publish(&self, target: &Target, raw: &RawMessage) -> Result<(), BusError> {
        let properties = message::properties(raw)?;
        let deadline = Instant::now() + OUTAGE_WAIT;
        let mut skip = None;
        loop {
            let link = self.wait_for_link(skip, Some(deadline)).await?;
            let not_confirmed = |reason: String| BusError::NotConfirmed {
                destination: target.name.clone(),
                reason,
            };
            let attempt = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(BusError::Closed),
                // A broker under a resource alarm holds publishes without closing the connection.
                () = tokio::time::sleep_until(deadline) => {
                    return Err(not_confirmed(format!(
                        "no confirm within {} s; the broker may be blocking publishers",
                        OUTAGE_WAIT.as_secs()
                    )));
                }
                attempt = link.publish(target, &raw.body, properties.clone()) => attempt,
            };
            match attempt {
                Ok(Confirmation::Ack(None)) => return Ok(()),
                Ok(Confirmation::Ack(Some(returned))) => {
                    return Err(not_confirmed(format!(
                        "no queue accepted it ({})",
                        returned.reply_text
                    )));
                }
                Ok(Confirmation::Nack(_)) => {
                    return Err(not_confirmed(
                        "the broker refused it; the queue may be full".to_owned(),
                    ));
                }
                Ok(Confirmation::NotRequested) => {
                    return Err(not_confirmed(
                        "publisher confirms are not enabled on the channel".to_owned(),
                    ));
                }
                Err(error) if !link.is_connected() => {
                    tracing::debug!(
                        address = %self.address,
                        %error,
                        "connection lost while publishing; publishing again after reconnecting"
                    );
                    skip = Some(link.generation);
                }
                Err(error) => {
                    // The channel failed but the connection lives: the next publish opens a new
                    // channel instead of failing the same way.
                    link.reset_publisher().await;
                    return Err(not_confirmed(error.to_string()));
                }
            }
        }
    }

    /// Moves a delivery to the dead-letter exchange: publishes it there with the error headers,
    /// waits for the confirm, then acks the original. When the publish fails the delivery goes
    /// back to its queue instead, so nothing is lost.
    async fn dead_letter(
        &self,
        pending: PendingAck,
        raw: RawMessage,
        code: BusErrorCode,
        reason: String,
        queue: String,
    ) -> Result<(), BusError> {
        let letter = codec::dead_letter(raw, code, reason, queue);
        self.publish(&Target::dead_letters(), &letter.message)
            .await?;
        pending.ack().await
    }
}
/// `url` without user name and password, for errors and logs.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    // Everything up to the last '@' may be credentials: a password with an unescaped '/' or '@'
    // must not leak, even if that hides part of the host in a rare vhost name.
    let without_credentials = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    format!("{scheme}{without_credentials}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_urls() {
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("amqps://u:p/w@d@broker/v"), "amqps://broker/v");
        assert_eq!(redact_url("amqp://broker:5672"), "amqp://broker:5672");
        assert_eq!(redact_url("user:secret@broker"), "broker");
    }

    /// Why connecting to `amqp_url` fails; panics when it succeeds.
    async fn connect_error(amqp_url: &str) -> BusError {
        RabbitBus::connect(amqp_url, BusSettings::default(), CancellationToken::new())
            .await
            .expect_err("connecting should fail")
    }

    #[tokio::test]
    async fn invalid_urls_do_not_echo_credentials() {
        let error = connect_error("http://user:secret@broker/").await;
        assert!(matches!(error, BusError::InvalidUrl(_)), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[tokio::test]
    async fn unreachable_broker_is_unavailable_without_credentials() {
        // Port 1 on the loopback interface refuses connections immediately.
        let error = connect_error("amqp://user:secret@127.0.0.1:1/%2f").await;
        assert!(matches!(error, BusError::Unavailable { .. }), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    }

    #[test]
    fn the_reconnect_backoff_starts_at_100_ms_within_the_maximum() {
        let mut backoff = reconnect_backoff(&BusSettings::default());
        assert_eq!(backoff.next_delay(), INITIAL_BACKOFF);
        let short = BusSettings {
            max_reconnect_backoff: Duration::from_millis(30),
            ..BusSettings::default()
        };
        let mut backoff = reconnect_backoff(&short);
        assert!((0..5).all(|_| backoff.next_delay() == Duration::from_millis(30)));
    }
}
