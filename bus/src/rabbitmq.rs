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
//! exponential backoff (capped at [`BusSettings::max_reconnect_backoff`]) and redeclares the
//! topology; subscriptions then resume on the new connection without their owner noticing, and
//! publishes issued meanwhile wait for it (at most [`OUTAGE_WAIT`]). Deliveries that were
//! unsettled when the connection dropped go back to their queue on the broker and are delivered
//! again: consumers must be idempotent.

use crate::{
    Acker, Bus, BusError, BusMessage, BusSettings, DeadLetter, DeadLetterSource,
    DeadLetterSubscription, Delivery, Destination, Envelope, RawMessage, Subscription,
    SubscriptionSource, codec, headers, telemetry,
};
use async_trait::async_trait;
use chiffon_proto::v1::{AgentKind, BusErrorCode};
use futures::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer, Event,
    ExchangeKind,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

/// Exchange that receives every dead-lettered message.
pub const DEAD_LETTER_EXCHANGE: &str = "chiffon.dlx";
/// Queue bound to [`DEAD_LETTER_EXCHANGE`], read by [`Bus::subscribe_dead_letters`].
pub const DEAD_LETTER_QUEUE: &str = "chiffon.dead-letters";
/// Fanout exchange of [`Destination::Control`]; each control subscription binds a queue of its own.
pub const CONTROL_EXCHANGE: &str = "chiffon.control";
/// How long a publish (or a new subscription) waits for a connection to the broker before it
/// fails with [`BusError::Unavailable`]; a publish also fails ([`BusError::NotConfirmed`]) when
/// its confirm has not arrived by then.
pub const OUTAGE_WAIT: Duration = Duration::from_secs(30);

/// Value of the `messaging.system` span attribute.
const SYSTEM: &str = "rabbitmq";
/// Longest wait for TCP connect plus AMQP handshake before an attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First wait between reconnection attempts; doubles up to `max_reconnect_backoff`.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// How often the supervisor checks the connection state. lapin reports a close initiated by
/// the broker (for instance on shutdown) only through the connection status, not as an event.
const LIVENESS_POLL: Duration = Duration::from_millis(250);
/// Longest wait for a clean connection close on shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// AMQP delivery mode of messages written to disk.
const PERSISTENT: u8 = 2;
/// Headers RabbitMQ sets when it dead-letters a message itself.
const FIRST_DEATH_REASON: &str = "x-first-death-reason";
const FIRST_DEATH_QUEUE: &str = "x-first-death-queue";
const X_DEATH: &str = "x-death";
/// `x-first-death-reason` of a message that exceeded a quorum queue's delivery limit.
const DELIVERY_LIMIT_DEATH: &str = "delivery_limit";

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
        let properties = properties(raw)?;
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

/// One connection to the broker with the topology declared on it.
struct Link {
    /// Increases with every reconnection.
    generation: u64,
    connection: Connection,
    /// Channel in confirm mode that every publish shares; replaced when it fails.
    publisher: Mutex<Option<Channel>>,
}

impl Link {
    fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    async fn publisher(&self) -> lapin::Result<Channel> {
        let mut publisher = self.publisher.lock().await;
        if let Some(channel) = publisher
            .as_ref()
            .filter(|channel| channel.status().connected())
        {
            return Ok(channel.clone());
        }
        let channel = self.connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *publisher = Some(channel.clone());
        Ok(channel)
    }

    async fn reset_publisher(&self) {
        *self.publisher.lock().await = None;
    }

    async fn publish(
        &self,
        target: &Target,
        body: &[u8],
        properties: BasicProperties,
    ) -> lapin::Result<Confirmation> {
        let channel = self.publisher().await?;
        let options = BasicPublishOptions {
            mandatory: target.mandatory,
            immediate: false,
        };
        channel
            .basic_publish(
                target.exchange.into(),
                target.routing_key.as_str().into(),
                options,
                body,
                properties,
            )
            .await?
            .await
    }
}

/// Where a publish goes on the broker.
struct Target {
    exchange: &'static str,
    routing_key: String,
    /// Unroutable messages come back as an error instead of vanishing.
    mandatory: bool,
    /// Queue or exchange name for errors.
    name: String,
}

impl Target {
    fn destination(destination: Destination) -> Target {
        match destination {
            // A control message nobody listens to is not an error: no agent runs the work.
            Destination::Control => Target {
                exchange: CONTROL_EXCHANGE,
                routing_key: String::new(),
                mandatory: false,
                name: destination.name(),
            },
            Destination::Work(_) | Destination::Status => Target {
                exchange: "",
                routing_key: destination.name(),
                mandatory: true,
                name: destination.name(),
            },
        }
    }

    fn dead_letters() -> Target {
        Target {
            exchange: DEAD_LETTER_EXCHANGE,
            routing_key: String::new(),
            mandatory: true,
            name: DEAD_LETTER_EXCHANGE.to_owned(),
        }
    }
}

/// A durable queue with its declaration arguments.
#[derive(Clone)]
struct QueueSpec {
    name: String,
    arguments: FieldTable,
}

impl QueueSpec {
    /// A work or status queue.
    fn delivery_limited(name: String, settings: &BusSettings) -> QueueSpec {
        let mut arguments = quorum_arguments();
        let long_string = |value: &str| AMQPValue::LongString(value.into());
        arguments.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(settings.delivery_limit.into()),
        );
        arguments.insert(
            "x-dead-letter-exchange".into(),
            long_string(DEAD_LETTER_EXCHANGE),
        );
        // At-least-once dead-lettering keeps a message in its queue until the dead-letter queue
        // confirmed it; RabbitMQ requires reject-publish overflow for it.
        arguments.insert(
            "x-dead-letter-strategy".into(),
            long_string("at-least-once"),
        );
        arguments.insert("x-overflow".into(), long_string("reject-publish"));
        QueueSpec { name, arguments }
    }

    fn dead_letters() -> QueueSpec {
        QueueSpec {
            name: DEAD_LETTER_QUEUE.to_owned(),
            arguments: quorum_arguments(),
        }
    }

    async fn declare(&self, channel: &Channel) -> Result<(), String> {
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(self.name.as_str().into(), options, self.arguments.clone())
            .await
            .map(drop)
            .map_err(|error| format!("declaring queue {}: {error}", self.name))
    }
}

fn quorum_arguments() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

/// Work queues that exist on the broker: one per concrete agent kind (see
/// [`crate::agent_kind_slug`]); add new kinds here too.
const WORK_KINDS: [AgentKind; 2] = [AgentKind::Infra, AgentKind::Desktop];

/// Declares every exchange, queue and binding; idempotent.
async fn declare_topology(channel: &Channel, settings: &BusSettings) -> Result<(), String> {
    let fanout = |name: &'static str| async move {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                name.into(),
                ExchangeKind::Fanout,
                options,
                FieldTable::default(),
            )
            .await
            .map_err(|error| format!("declaring exchange {name}: {error}"))
    };
    fanout(DEAD_LETTER_EXCHANGE).await?;
    QueueSpec::dead_letters().declare(channel).await?;
    channel
        .queue_bind(
            DEAD_LETTER_QUEUE.into(),
            DEAD_LETTER_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|error| {
            format!("binding {DEAD_LETTER_QUEUE} to {DEAD_LETTER_EXCHANGE}: {error}")
        })?;
    fanout(CONTROL_EXCHANGE).await?;
    let destinations = WORK_KINDS
        .into_iter()
        .map(Destination::Work)
        .chain([Destination::Status]);
    for destination in destinations {
        QueueSpec::delivery_limited(destination.name(), settings)
            .declare(channel)
            .await?;
    }
    Ok(())
}

/// Connects, declares the topology and opens the confirm-mode publish channel.
async fn open_link(uri: &AMQPUri, settings: &BusSettings, generation: u64) -> Result<Link, String> {
    let properties = ConnectionProperties::default()
        .with_connection_name(format!("chiffon (pid {})", std::process::id()).into());
    let connection = tokio::time::timeout(
        CONNECT_TIMEOUT,
        Connection::connect_uri(uri.clone(), properties),
    )
    .await
    .map_err(|_| format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))?
    .map_err(|error| error.to_string())?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|error| format!("opening a channel: {error}"))?;
    declare_topology(&channel, settings).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|error| format!("enabling publisher confirms: {error}"))?;
    Ok(Link {
        generation,
        connection,
        publisher: Mutex::new(Some(channel)),
    })
}

/// Owns the connection: watches it, replaces it when it is lost, closes it on shutdown.
struct Supervisor {
    uri: AMQPUri,
    address: String,
    settings: BusSettings,
    shutdown: CancellationToken,
    link_tx: watch::Sender<Option<Arc<Link>>>,
}

impl Supervisor {
    async fn run(self, mut link: Arc<Link>) {
        loop {
            let lost = self.watch(&link).await;
            self.link_tx.send_replace(None);
            let Some(reason) = lost else {
                let close = link
                    .connection
                    .close(lapin::protocol::constants::REPLY_SUCCESS, "shutdown".into());
                if let Ok(Err(error)) = tokio::time::timeout(CLOSE_TIMEOUT, close).await {
                    tracing::debug!(address = %self.address, %error, "closing the broker connection");
                }
                return;
            };
            tracing::warn!(
                address = %self.address,
                %reason,
                "lost the connection to the message broker; reconnecting"
            );
            let Some(next) = self.reconnect(link.generation + 1).await else {
                return;
            };
            tracing::info!(address = %self.address, "reconnected to the message broker");
            link = next;
            self.link_tx.send_replace(Some(link.clone()));
        }
    }

    /// Returns why the connection was lost, or `None` when the bus is shutting down.
    async fn watch(&self, link: &Link) -> Option<String> {
        let events = link.connection.events_listener();
        tokio::pin!(events);
        let mut poll = tokio::time::interval(LIVENESS_POLL);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                event = events.next() => match event {
                    Some(Event::Error(error)) => return Some(error.to_string()),
                    Some(_) => {}
                    None => return Some("the connection ended".to_owned()),
                },
                _ = poll.tick() => {
                    if !link.is_connected() {
                        return Some("the broker closed the connection".to_owned());
                    }
                }
            }
        }
    }

    /// Retries until a new connection is up; `None` when the bus shuts down meanwhile.
    async fn reconnect(&self, generation: u64) -> Option<Arc<Link>> {
        let mut backoff = INITIAL_BACKOFF.min(self.settings.max_reconnect_backoff);
        loop {
            let attempt = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                attempt = open_link(&self.uri, &self.settings, generation) => attempt,
            };
            match attempt {
                Ok(link) => return Some(Arc::new(link)),
                Err(reason) => tracing::warn!(
                    address = %self.address,
                    %reason,
                    retry_in_ms = backoff.as_millis(),
                    "could not reconnect to the message broker"
                ),
            }
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.settings.max_reconnect_backoff);
        }
    }
}

/// Returns deliveries that were dropped unsettled to their queue. Settling is asynchronous and
/// `Drop` is not, so the deliveries' drop handlers hand their ackers over to this task.
async fn requeue_dropped(
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
        if let Err(error) = acker
            .nack(BasicNackOptions {
                multiple: false,
                requeue: true,
            })
            .await
        {
            tracing::debug!(%error, "could not return a dropped delivery; the broker returns it when its channel closes");
        }
    }
}

/// Where a [`ResilientConsumer`] reads from.
enum Source {
    Durable(QueueSpec),
    /// A private queue bound to the control exchange, recreated on every connection.
    Control,
}

/// A consumer that outlives connections: when its channel or connection fails it starts again
/// on the next connection.
struct ResilientConsumer {
    shared: Arc<Shared>,
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
    async fn open(shared: Arc<Shared>, source: Source) -> Result<ResilientConsumer, BusError> {
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
    async fn next(&mut self) -> Option<(lapin::message::Delivery, String)> {
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
        let mut backoff = INITIAL_BACKOFF.min(self.shared.settings.max_reconnect_backoff);
        loop {
            let link = self.shared.wait_for_link(None, None).await.ok()?;
            match start_consumer(&self.shared.settings, &link, &self.source).await {
                Ok(active) => return Some(active),
                // The supervisor will replace the connection; wait for that.
                Err(_) if !link.is_connected() => continue,
                Err(reason) => tracing::warn!(
                    address = %self.shared.address,
                    %reason,
                    retry_in_ms = backoff.as_millis(),
                    "could not resume consuming"
                ),
            }
            tokio::select! {
                biased;
                () = self.shared.shutdown.cancelled() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.shared.settings.max_reconnect_backoff);
        }
    }
}

/// Opens a channel with the prefetch limit, declares the source queue and consumes it.
async fn start_consumer(
    settings: &BusSettings,
    link: &Link,
    source: &Source,
) -> Result<ActiveConsumer, String> {
    let channel = link
        .connection
        .create_channel()
        .await
        .map_err(|error| format!("opening a channel: {error}"))?;
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
        Source::Control => {
            let options = QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            };
            let queue = channel
                .queue_declare("".into(), options, FieldTable::default())
                .await
                .map_err(|error| format!("declaring a control queue: {error}"))?;
            let name = queue.name().to_string();
            channel
                .queue_bind(
                    name.as_str().into(),
                    CONTROL_EXCHANGE.into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|error| format!("binding {name} to {CONTROL_EXCHANGE}: {error}"))?;
            name
        }
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

struct RabbitSubscription {
    consumer: ResilientConsumer,
    destination: Destination,
}

#[async_trait]
impl SubscriptionSource for RabbitSubscription {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            let (delivery, queue) = self.consumer.next().await?;
            let shared = &self.consumer.shared;
            let redelivered = delivery.redelivered;
            let (raw, pending) = take_delivery(delivery, &shared.settle);
            match codec::decode(self.destination, &raw) {
                Ok((message, envelope)) => {
                    let span =
                        telemetry::delivery_span(SYSTEM, &queue, &message, &envelope, redelivered);
                    let acker = RabbitAcker {
                        pending,
                        shared: shared.clone(),
                        raw,
                        queue,
                    };
                    return Some(
                        Delivery::new(message, envelope, redelivered, Box::new(acker))
                            .with_span(span),
                    );
                }
                Err((code, reason)) => {
                    tracing::warn!(
                        %queue,
                        code = code.as_str_name(),
                        %reason,
                        "dead-lettering a message that cannot be processed"
                    );
                    if let Err(error) = shared.dead_letter(pending, raw, code, reason, queue).await
                    {
                        tracing::warn!(
                            %error,
                            "could not dead-letter the message; it stays in its queue"
                        );
                    }
                }
            }
        }
    }
}

struct RabbitDeadLetters {
    consumer: ResilientConsumer,
}

#[async_trait]
impl DeadLetterSource for RabbitDeadLetters {
    async fn next(&mut self) -> Option<DeadLetter> {
        let (delivery, _) = self.consumer.next().await?;
        let death = broker_death(delivery.properties.headers().as_ref());
        let (raw, pending) = take_delivery(delivery, &self.consumer.shared.settle);
        // Acknowledged on receipt: if the ack is lost with the connection the letter comes again.
        let _ = pending.ack().await;
        Some(read_dead_letter(
            raw,
            death,
            self.consumer.shared.settings.delivery_limit,
        ))
    }
}

/// Settles one lapin delivery. Exactly one of `ack` / `requeue` runs; when neither did, `Drop`
/// hands the delivery to [`requeue_dropped`].
struct PendingAck {
    acker: Option<lapin::Acker>,
    dropped: mpsc::UnboundedSender<lapin::Acker>,
}

impl PendingAck {
    async fn ack(mut self) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => settled(acker.ack(BasicAckOptions::default()).await),
            None => Ok(()),
        }
    }

    async fn requeue(mut self) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => settled(
                acker
                    .nack(BasicNackOptions {
                        multiple: false,
                        requeue: true,
                    })
                    .await,
            ),
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

struct RabbitAcker {
    pending: PendingAck,
    shared: Arc<Shared>,
    raw: RawMessage,
    queue: String,
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

/// Splits a lapin delivery into the message as it traveled and the handle that settles it.
fn take_delivery(
    delivery: lapin::message::Delivery,
    dropped: &mpsc::UnboundedSender<lapin::Acker>,
) -> (RawMessage, PendingAck) {
    let headers = delivery
        .properties
        .headers()
        .as_ref()
        .map(|table| {
            table
                .inner()
                .iter()
                .filter_map(|(name, value)| Some((name.to_string(), header_text(value)?)))
                .collect()
        })
        .unwrap_or_default();
    let pending = PendingAck {
        acker: Some(delivery.acker),
        dropped: dropped.clone(),
    };
    (
        RawMessage {
            body: delivery.data,
            headers,
        },
        pending,
    )
}

/// A header value as text; tables and arrays (such as `x-death`) have no text form and are left
/// out of [`RawMessage::headers`].
fn header_text(value: &AMQPValue) -> Option<String> {
    Some(match value {
        AMQPValue::LongString(text) => String::from_utf8_lossy(text.as_bytes()).into_owned(),
        AMQPValue::ShortString(text) => text.to_string(),
        AMQPValue::Boolean(value) => value.to_string(),
        AMQPValue::ShortShortInt(value) => value.to_string(),
        AMQPValue::ShortShortUInt(value) => value.to_string(),
        AMQPValue::ShortInt(value) => value.to_string(),
        AMQPValue::ShortUInt(value) => value.to_string(),
        AMQPValue::LongInt(value) => value.to_string(),
        AMQPValue::LongUInt(value) => value.to_string(),
        AMQPValue::LongLongInt(value) => value.to_string(),
        AMQPValue::Timestamp(value) => value.to_string(),
        _ => return None,
    })
}

/// The AMQP properties of `raw`: its headers as a header table, persistent delivery, and the
/// standard properties tools display (correlation id, message id, type) when they fit.
fn properties(raw: &RawMessage) -> Result<BasicProperties, BusError> {
    codec::ensure_transportable(raw)?;
    let mut table = FieldTable::default();
    for (name, value) in &raw.headers {
        // Checked above: every name fits a short string.
        if let Ok(key) = ShortString::try_new(name.as_str()) {
            table.insert(key, AMQPValue::LongString(LongString::from(value.as_str())));
        }
    }
    let short = |name: &str| {
        raw.headers
            .get(name)
            .and_then(|value| ShortString::try_new(value.as_str()).ok())
    };
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type("application/x-protobuf".into())
        .with_app_id("chiffon".into())
        .with_headers(table);
    if let Some(value) = short(headers::CORRELATION_ID) {
        properties = properties.with_correlation_id(value);
    }
    if let Some(value) = short(headers::IDEMPOTENCY_KEY) {
        properties = properties.with_message_id(value);
    }
    if let Some(value) = short(headers::MESSAGE_TYPE) {
        properties = properties.with_type(value);
    }
    Ok(properties)
}

/// Why and from which queue the broker itself dead-lettered a message, from
/// `x-first-death-reason` / `x-first-death-queue`, or the first `x-death` entry.
fn broker_death(table: Option<&FieldTable>) -> Option<(String, String)> {
    let table = table?.inner();
    let text = |table: &std::collections::BTreeMap<ShortString, AMQPValue>, name: &str| {
        table.get(name).and_then(header_text).unwrap_or_default()
    };
    if table.contains_key(FIRST_DEATH_REASON) {
        return Some((
            text(table, FIRST_DEATH_REASON),
            text(table, FIRST_DEATH_QUEUE),
        ));
    }
    match table.get(X_DEATH) {
        Some(AMQPValue::FieldArray(deaths)) => match deaths.as_slice().first() {
            Some(AMQPValue::FieldTable(death)) => {
                Some((text(death.inner(), "reason"), text(death.inner(), "queue")))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Reads a message from the dead-letter queue. Messages the bus dead-lettered carry the
/// `x-chiffon-error*` headers; messages the broker dead-lettered (delivery limit) get them added
/// here, so both look the same to the reader.
fn read_dead_letter(
    raw: RawMessage,
    death: Option<(String, String)>,
    delivery_limit: u32,
) -> DeadLetter {
    let header = |name: &str| raw.headers.get(name).cloned();
    if let Some(code_name) = header(headers::ERROR_CODE) {
        let code = BusErrorCode::from_str_name(&code_name).unwrap_or(BusErrorCode::Unspecified);
        let reason = header(headers::ERROR).unwrap_or_default();
        let original_queue = header(headers::ORIGINAL_QUEUE).unwrap_or_default();
        return DeadLetter {
            message: raw,
            code,
            reason,
            original_queue,
        };
    }
    let (code, reason, queue) = match death {
        Some((reason, queue)) if reason == DELIVERY_LIMIT_DEATH => (
            BusErrorCode::DeliveryLimitExceeded,
            codec::delivery_limit_reason(delivery_limit),
            queue,
        ),
        Some((reason, queue)) => (
            BusErrorCode::Unspecified,
            format!("the broker dead-lettered the message ({reason})"),
            queue,
        ),
        None => (
            BusErrorCode::Unspecified,
            "the message reached the dead-letter queue without a reason".to_owned(),
            String::new(),
        ),
    };
    codec::dead_letter(raw, code, reason, queue)
}

/// `url` without user name and password, for errors and logs.
pub(crate) fn redact_url(url: &str) -> String {
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
    fn control_exchange_is_the_control_destination() {
        assert_eq!(Destination::Control.name(), CONTROL_EXCHANGE);
    }

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

    #[tokio::test]
    async fn invalid_urls_do_not_echo_credentials() {
        let error = RabbitBus::connect(
            "http://user:secret@broker/",
            BusSettings::default(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BusError::InvalidUrl(_)), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[tokio::test]
    async fn unreachable_broker_is_unavailable_without_credentials() {
        // Port 1 on the loopback interface refuses connections immediately.
        let error = RabbitBus::connect(
            "amqp://user:secret@127.0.0.1:1/%2f",
            BusSettings::default(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BusError::Unavailable { .. }), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    }

    fn death_table(reason: &str) -> FieldTable {
        let mut table = FieldTable::default();
        table.insert(
            FIRST_DEATH_REASON.into(),
            AMQPValue::LongString(reason.into()),
        );
        table.insert(
            FIRST_DEATH_QUEUE.into(),
            AMQPValue::LongString("chiffon.status".into()),
        );
        table
    }

    #[test]
    fn broker_dead_letters_get_a_code() {
        let death = broker_death(Some(&death_table("delivery_limit")));
        let letter = read_dead_letter(RawMessage::default(), death, 3);
        assert_eq!(letter.code, BusErrorCode::DeliveryLimitExceeded);
        assert_eq!(letter.original_queue, "chiffon.status");
        assert_eq!(
            letter.message.headers[headers::ERROR_CODE],
            "BUS_ERROR_CODE_DELIVERY_LIMIT_EXCEEDED"
        );

        let mut death = FieldTable::default();
        death.insert("reason".into(), AMQPValue::LongString("expired".into()));
        death.insert("queue".into(), AMQPValue::LongString("q".into()));
        let mut table = FieldTable::default();
        table.insert(
            X_DEATH.into(),
            AMQPValue::FieldArray(vec![AMQPValue::FieldTable(death)].into()),
        );
        let letter = read_dead_letter(RawMessage::default(), broker_death(Some(&table)), 3);
        assert_eq!(letter.code, BusErrorCode::Unspecified);
        assert_eq!(letter.original_queue, "q");
        assert!(letter.reason.contains("expired"), "{}", letter.reason);
    }

    #[test]
    fn raw_headers_become_amqp_properties() {
        let raw = codec::encode(
            &BusMessage::CancelWork(chiffon_proto::v1::CancelWork {
                work_id: "w".into(),
                request_id: "r".into(),
                reason: String::new(),
            }),
            &Envelope::default(),
        );
        let properties = properties(&raw).unwrap();
        assert_eq!(properties.delivery_mode(), &Some(PERSISTENT));
        assert_eq!(
            properties
                .correlation_id()
                .as_ref()
                .map(ShortString::as_str),
            Some("r")
        );
        assert_eq!(
            properties.message_id().as_ref().map(ShortString::as_str),
            Some("cancel:w")
        );
        assert_eq!(
            properties.kind().as_ref().map(ShortString::as_str),
            Some("chiffon.v1.CancelWork")
        );

        let mut too_long = raw.clone();
        too_long.headers.insert("x".repeat(300), "v".into());
        assert!(matches!(
            properties_error(&too_long),
            Some(BusError::InvalidMessage { .. })
        ));
    }

    fn properties_error(raw: &RawMessage) -> Option<BusError> {
        properties(raw).err()
    }
}
