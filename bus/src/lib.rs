//! The message bus between the orchestrator and its agents.
//!
//! One interface, [`Bus`], with two implementations that keep the same semantics:
//! [`rabbitmq::RabbitBus`] (lapin, for distributed deployments) and [`memory::MemoryBus`] (in
//! process, for `chiffon dev`). Both carry protobuf bodies with the headers documented in
//! `docs/protocol.md`, deliver at least once with manual acks, redeliver what a consumer did not
//! ack, and dead-letter what cannot be processed with a [`BusErrorCode`].
//!
//! Three destinations exist:
//! - one work queue per agent kind (`chiffon.work.infra`, …), competing consumers;
//! - the status queue (`chiffon.status`), where agents report events and results in order;
//! - the control fan-out (`chiffon.control`), where every subscribed agent process sees every
//!   cancellation.
//!
//! The RabbitMQ adapter heals a lost connection by itself, retrying with exponential backoff
//! with jitter ([`Backoff`], which the orchestrator and the agents use for their own retries
//! too). It lives in `src/rabbitmq/`, one module per responsibility, listed in [`rabbitmq`]'s
//! documentation.

pub mod backoff;
pub mod codec;
pub mod memory;
pub mod rabbitmq;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use backoff::Backoff;

use async_trait::async_trait;
use chiffon_proto::v1::{AgentKind, BusErrorCode, CancelWork, WorkEvent, WorkItem, WorkResult};
use std::collections::HashMap;
use std::time::Duration;

/// Version of the bus protocol this build speaks, sent in the [`headers::PROTOCOL_VERSION`]
/// header. Consumers accept any message with the same major version.
pub const PROTOCOL_VERSION: &str = "1.0";

/// Header names (AMQP message headers / properties), as documented in `docs/protocol.md`.
pub mod headers {
    /// `MAJOR.MINOR` version of the bus protocol the sender speaks.
    pub const PROTOCOL_VERSION: &str = "x-chiffon-protocol-version";
    /// Fully qualified protobuf type of the body, e.g. `chiffon.v1.WorkItem`.
    pub const MESSAGE_TYPE: &str = "x-chiffon-message-type";
    /// Id tying every message of one request together (the request id).
    pub const CORRELATION_ID: &str = "x-chiffon-correlation-id";
    /// Key a consumer uses to recognise a message it already processed.
    pub const IDEMPOTENCY_KEY: &str = "x-chiffon-idempotency-key";
    /// Name of the [`super::BusErrorCode`] value that dead-lettered a message.
    pub const ERROR_CODE: &str = "x-chiffon-error-code";
    /// Sentence explaining why a message was dead-lettered.
    pub const ERROR: &str = "x-chiffon-error";
    /// Queue the dead-lettered message was consumed from.
    pub const ORIGINAL_QUEUE: &str = "x-chiffon-original-queue";
    /// W3C trace parent.
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C trace state.
    pub const TRACESTATE: &str = "tracestate";
}

/// Where a message goes, or where a subscription reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// The work queue of one agent kind; each message goes to one consumer.
    Work(AgentKind),
    /// The status queue the orchestrator consumes: work events and results.
    Status,
    /// The control fan-out: every subscriber receives every message.
    Control,
}

impl Destination {
    /// Name of the queue (or, for [`Destination::Control`], the exchange) on the broker.
    pub fn name(self) -> String {
        match self {
            Destination::Work(kind) => format!("chiffon.work.{}", agent_kind_slug(kind)),
            Destination::Status => "chiffon.status".to_owned(),
            Destination::Control => "chiffon.control".to_owned(),
        }
    }
}

/// Lower-case name of an agent kind as used in queue names, e.g. `infra`.
pub fn agent_kind_slug(kind: AgentKind) -> &'static str {
    match kind {
        AgentKind::Unspecified => "unspecified",
        AgentKind::Infra => "infra",
        AgentKind::Desktop => "desktop",
    }
}

/// A message body the bus knows how to carry.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    /// Work for an agent kind's queue.
    WorkItem(WorkItem),
    /// Progress of running work, for the status queue.
    WorkEvent(WorkEvent),
    /// Outcome of work, for the status queue.
    WorkResult(WorkResult),
    /// A cancellation, for the control fan-out.
    CancelWork(CancelWork),
}

/// The metadata that travels with every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Id tying the message to its request (the request id). Left empty, publishing fills in
    /// the message's `request_id`.
    pub correlation_id: String,
    /// Key identifying this logical message across redeliveries and re-publishes, e.g.
    /// `work:<work_id>` or `event:<work_id>:<sequence>`. Left empty, publishing fills in
    /// [`codec::default_idempotency_key`].
    pub idempotency_key: String,
    /// W3C trace-context headers (`traceparent`, `tracestate`); empty when no trace is recorded.
    pub trace: HashMap<String, String>,
}

/// A message exactly as it travels: body bytes and string headers. Used to publish messages the
/// typed API would refuse to build (tests of malformed input) and to read dead letters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawMessage {
    /// The protobuf-encoded body.
    pub body: Vec<u8>,
    /// Every header, by name.
    pub headers: HashMap<String, String>,
}

/// A message that was dead-lettered, as read from the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The original body and headers, plus the error headers.
    pub message: RawMessage,
    /// Why it was dead-lettered.
    pub code: BusErrorCode,
    /// Explanation for people.
    pub reason: String,
    /// Queue it was consumed from.
    pub original_queue: String,
}

/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker could not be reached or the connection dropped and did not come back in time.
    #[error("message broker unavailable at {address}: {reason}")]
    Unavailable {
        /// Broker address without credentials.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The broker did not confirm a publish (negative ack or confirm lost with the connection).
    #[error("the broker did not confirm the message to {destination}: {reason}")]
    NotConfirmed {
        /// Queue or exchange name.
        destination: String,
        /// What happened.
        reason: String,
    },
    /// The message does not belong on that destination, e.g. a work item sent to the status queue.
    #[error("a {message_type} cannot be sent to {destination}")]
    WrongDestination {
        /// Protobuf type of the message.
        message_type: &'static str,
        /// Queue or exchange name.
        destination: String,
    },
    /// The message breaks a rule of its type (a required id is empty, a number is out of range…),
    /// so no consumer could process it.
    #[error("invalid {message_type}: {reason}")]
    InvalidMessage {
        /// Protobuf type of the message, or `raw message` for [`Bus::publish_raw`].
        message_type: &'static str,
        /// Which rule it breaks.
        reason: String,
    },
    /// No such destination exists, e.g. the work queue of [`AgentKind::Unspecified`].
    #[error("{destination} does not exist: work queues exist only for concrete agent kinds")]
    UnknownDestination {
        /// Queue name that was asked for.
        destination: String,
    },
    /// The AMQP URL could not be parsed.
    #[error("invalid AMQP URL: {0}")]
    InvalidUrl(String),
    /// The bus was shut down.
    #[error("the message bus is shut down")]
    Closed,
}

/// Settings shared by both implementations.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// How many times a work or status message may go back to its queue unacknowledged (retry,
    /// dropped delivery or subscription, lost connection) before it is dead-lettered with
    /// `DELIVERY_LIMIT_EXCEEDED`; a message is thus delivered at most `delivery_limit + 1` times.
    /// On RabbitMQ this is the queues' `x-delivery-limit`, so every process sharing a broker must
    /// use the same value (the broker refuses to redeclare a queue with different arguments).
    pub delivery_limit: u32,
    /// Unacked deliveries a consumer holds at once (AMQP prefetch).
    pub prefetch: u16,
    /// Longest wait between reconnection attempts after the broker went away.
    pub max_reconnect_backoff: Duration,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            delivery_limit: 5,
            prefetch: 16,
            max_reconnect_backoff: Duration::from_secs(5),
        }
    }
}

/// The bus: publish messages, subscribe to a destination, read dead letters.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes `message` to `destination` and returns once the broker has it (publisher
    /// confirm). Trace headers of the current span are added when `envelope.trace` is empty.
    ///
    /// Nothing is sent when the message does not belong on `destination`
    /// ([`BusError::WrongDestination`]) or breaks a rule of its type
    /// ([`BusError::InvalidMessage`]): such a message would only be dead-lettered.
    async fn publish(
        &self,
        destination: Destination,
        message: BusMessage,
        envelope: Envelope,
    ) -> Result<(), BusError>;

    /// Publishes bytes and headers as given, without validation.
    async fn publish_raw(
        &self,
        destination: Destination,
        message: RawMessage,
    ) -> Result<(), BusError>;

    /// Starts consuming `destination`. Work and status queues have competing consumers; every
    /// control subscription receives every control message published after it started.
    /// Messages that cannot be decoded are dead-lettered by the subscription itself and never
    /// returned. The subscription survives broker restarts.
    async fn subscribe(&self, destination: Destination) -> Result<Subscription, BusError>;

    /// Starts consuming the dead-letter queue.
    async fn subscribe_dead_letters(&self) -> Result<DeadLetterSubscription, BusError>;
}

/// A stream of deliveries from one destination.
pub struct Subscription {
    inner: Box<dyn SubscriptionSource>,
}

impl Subscription {
    /// Wraps an implementation's delivery source.
    pub fn new(inner: Box<dyn SubscriptionSource>) -> Self {
        Self { inner }
    }

    /// The next delivery; `None` once the bus has shut down.
    pub async fn next(&mut self) -> Option<Delivery> {
        self.inner.next().await
    }
}

/// Implementation side of a [`Subscription`].
#[async_trait]
pub trait SubscriptionSource: Send {
    /// The next decoded delivery; `None` once the bus has shut down.
    async fn next(&mut self) -> Option<Delivery>;
}

/// A stream of dead letters.
pub struct DeadLetterSubscription {
    inner: Box<dyn DeadLetterSource>,
}

impl DeadLetterSubscription {
    /// Wraps an implementation's dead-letter source.
    pub fn new(inner: Box<dyn DeadLetterSource>) -> Self {
        Self { inner }
    }

    /// The next dead letter (acknowledged on receipt); `None` once the bus has shut down.
    pub async fn next(&mut self) -> Option<DeadLetter> {
        self.inner.next().await
    }
}

/// Implementation side of a [`DeadLetterSubscription`].
#[async_trait]
pub trait DeadLetterSource: Send {
    /// The next dead letter; `None` once the bus has shut down.
    async fn next(&mut self) -> Option<DeadLetter>;
}

/// One delivered message. Exactly one of [`Delivery::ack`], [`Delivery::retry`] or
/// [`Delivery::dead_letter`] settles it; a delivery dropped unsettled is redelivered later.
///
/// Delivery is at least once: after a lost connection or a crash the same message can arrive
/// again (with `redelivered` set, or even as a fresh copy), so consumers must be idempotent.
pub struct Delivery {
    /// The decoded body.
    pub message: BusMessage,
    /// Its metadata.
    pub envelope: Envelope,
    /// True when the broker delivered this message before (to this or another consumer).
    pub redelivered: bool,
    acker: Box<dyn Acker>,
    span: tracing::Span,
}

impl Delivery {
    /// Builds a delivery from its parts (for implementations).
    pub fn new(
        message: BusMessage,
        envelope: Envelope,
        redelivered: bool,
        acker: Box<dyn Acker>,
    ) -> Self {
        Self {
            message,
            envelope,
            redelivered,
            acker,
            span: tracing::Span::none(),
        }
    }

    /// Sets the span that represents handling this delivery (for implementations).
    pub fn with_span(mut self, span: tracing::Span) -> Self {
        self.span = span;
        self
    }

    /// The span of this delivery, a child of the publisher's trace; instrument the handling of
    /// the message with it so the trace continues through the consumer.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Done with it: the broker forgets the message.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }

    /// Not now: the message goes back to its queue for another delivery (counted against the
    /// delivery limit).
    pub async fn retry(self) -> Result<(), BusError> {
        self.acker.retry().await
    }

    /// Never: the message moves to the dead-letter queue with `code` and `reason`.
    pub async fn dead_letter(self, code: BusErrorCode, reason: &str) -> Result<(), BusError> {
        self.acker.dead_letter(code, reason.to_owned()).await
    }
}

/// Implementation side of settling a [`Delivery`].
#[async_trait]
pub trait Acker: Send + Sync {
    /// Acknowledges the delivery.
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    /// Returns the delivery to its queue.
    async fn retry(self: Box<Self>) -> Result<(), BusError>;
    /// Moves the delivery to the dead-letter queue.
    async fn dead_letter(
        self: Box<Self>,
        code: BusErrorCode,
        reason: String,
    ) -> Result<(), BusError>;
}
