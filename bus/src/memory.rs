//! The in-process bus of `chiffon dev`: the semantics of the RabbitMQ topology without a broker.
//!
//! It models what consumers can observe of RabbitMQ quorum queues: one FIFO queue per work
//! destination and for status, competing consumers, manual acks, a prefetch limit per
//! subscription, unsettled deliveries going back to the head of their queue with `redelivered`
//! set (dropped delivery, dropped subscription, [`Delivery::retry`]), dead-lettering once a
//! message went back more than [`BusSettings::delivery_limit`] times, and a fan-out where each
//! control subscription has its own queue without a delivery limit (like the broker's exclusive
//! classic queues). Every message is encoded and decoded with [`crate::codec`], exactly as on
//! RabbitMQ, so bad messages are dead-lettered with the same codes. Nothing is persisted: the
//! queues live as long as the process. One difference consumers cannot rely on either way: a
//! message is handed out when a subscription asks for it, whereas RabbitMQ pushes up to the
//! prefetch limit to each consumer ahead of time.

use crate::{
    Acker, Bus, BusError, BusMessage, BusSettings, DeadLetter, DeadLetterSource,
    DeadLetterSubscription, Delivery, Destination, Envelope, RawMessage, Subscription,
    SubscriptionSource, codec, telemetry,
};
use async_trait::async_trait;
use chiffon_proto::v1::BusErrorCode;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Value of the `messaging.system` span attribute.
const SYSTEM: &str = "in-memory";

/// The in-process bus. Cheap to clone; clones share the same queues.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// Creates an empty bus. Cancelling `shutdown` ends every subscription (`next()` returns
    /// `None`) and makes publishing fail with [`BusError::Closed`].
    pub fn new(settings: BusSettings, shutdown: CancellationToken) -> MemoryBus {
        MemoryBus {
            inner: Arc::new(Inner {
                settings,
                shutdown,
                state: Mutex::default(),
                dead_letters_changed: Notify::new(),
            }),
        }
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(
        &self,
        destination: Destination,
        message: BusMessage,
        envelope: Envelope,
    ) -> Result<(), BusError> {
        let span =
            telemetry::publish_span(SYSTEM, &destination.name(), message.type_name(), &envelope);
        // Encoding inside the span makes the injected trace context the publish span's.
        span.in_scope(|| {
            let raw = codec::encode_for(destination, &message, &envelope)?;
            self.inner.enqueue(destination, raw)
        })
    }

    async fn publish_raw(
        &self,
        destination: Destination,
        message: RawMessage,
    ) -> Result<(), BusError> {
        let message_type = message.headers.get(crate::headers::MESSAGE_TYPE).cloned();
        let span = telemetry::publish_span(
            SYSTEM,
            &destination.name(),
            message_type.as_deref().unwrap_or("unknown"),
            &Envelope::default(),
        );
        span.in_scope(|| {
            codec::ensure_transportable(&message)?;
            self.inner.enqueue(destination, message)
        })
    }

    async fn subscribe(&self, destination: Destination) -> Result<Subscription, BusError> {
        self.inner.ensure_open()?;
        codec::ensure_destination_exists(destination)?;
        let mut state = self.inner.lock();
        state.next_subscriber += 1;
        let subscriber = state.next_subscriber;
        let key = match destination {
            Destination::Control => QueueKey::Control(subscriber),
            Destination::Work(_) | Destination::Status => QueueKey::Shared(destination),
        };
        let delivery_limit = self.inner.settings.delivery_limit;
        let notify = state.queue(&key, delivery_limit).notify.clone();
        state.unsettled.insert(subscriber, 0);
        Ok(Subscription::new(Box::new(MemorySubscription {
            inner: self.inner.clone(),
            subscriber,
            key,
            destination,
            notify,
        })))
    }

    async fn subscribe_dead_letters(&self) -> Result<DeadLetterSubscription, BusError> {
        self.inner.ensure_open()?;
        Ok(DeadLetterSubscription::new(Box::new(MemoryDeadLetters {
            inner: self.inner.clone(),
        })))
    }
}

struct Inner {
    settings: BusSettings,
    shutdown: CancellationToken,
    state: Mutex<State>,
    dead_letters_changed: Notify,
}

/// Which queue: a shared one (work, status) or one control subscription's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum QueueKey {
    Shared(Destination),
    Control(u64),
}

#[derive(Default)]
struct State {
    queues: HashMap<QueueKey, Queue>,
    /// Delivered, not yet settled messages by delivery tag; ascending tags are delivery order,
    /// which is the order a dropped subscription returns them in (as RabbitMQ does).
    in_flight: BTreeMap<u64, InFlight>,
    /// Unsettled deliveries per live subscriber, checked against the prefetch limit.
    unsettled: HashMap<u64, usize>,
    dead_letters: VecDeque<DeadLetter>,
    next_tag: u64,
    next_subscriber: u64,
}

struct Queue {
    name: String,
    /// Messages that went back unsettled; served before `ready`, like a quorum queue's returns.
    returned: VecDeque<Stored>,
    ready: VecDeque<Stored>,
    /// `None` for control queues, which (as exclusive classic queues on RabbitMQ) have none.
    delivery_limit: Option<u32>,
    /// Woken when a message arrives or a subscriber's prefetch window opens.
    notify: Arc<Notify>,
}

struct Stored {
    raw: RawMessage,
    /// Times the message went back to the queue unsettled.
    returns: u32,
}

struct InFlight {
    key: QueueKey,
    queue_name: String,
    subscriber: u64,
    stored: Stored,
}

/// How a delivery was settled.
enum Outcome {
    Ack,
    Requeue,
    DeadLetter(BusErrorCode, String),
}

/// A decoded message taken from a queue, turned into a [`Delivery`] once the lock is released.
struct Taken {
    tag: u64,
    queue_name: String,
    message: BusMessage,
    envelope: Envelope,
    redelivered: bool,
}

impl State {
    fn queue(&mut self, key: &QueueKey, delivery_limit: u32) -> &mut Queue {
        self.queues.entry(key.clone()).or_insert_with(|| {
            let (name, delivery_limit) = match key {
                QueueKey::Shared(destination) => (destination.name(), Some(delivery_limit)),
                QueueKey::Control(subscriber) => (
                    format!("{}.subscription-{subscriber}", Destination::Control.name()),
                    None,
                ),
            };
            Queue {
                name,
                returned: VecDeque::new(),
                ready: VecDeque::new(),
                delivery_limit,
                notify: Arc::new(Notify::new()),
            }
        })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a panic elsewhere while the
        // lock was held does not make it unusable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ensure_open(&self) -> Result<(), BusError> {
        if self.shutdown.is_cancelled() {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }

    fn enqueue(&self, destination: Destination, raw: RawMessage) -> Result<(), BusError> {
        self.ensure_open()?;
        codec::ensure_destination_exists(destination)?;
        let mut state = self.lock();
        if destination == Destination::Control {
            // Fan-out: a copy for every live control subscription; none means nobody listens.
            for (key, queue) in &mut state.queues {
                if matches!(key, QueueKey::Control(_)) {
                    queue.ready.push_back(Stored {
                        raw: raw.clone(),
                        returns: 0,
                    });
                    queue.notify.notify_waiters();
                }
            }
        } else {
            let queue = state.queue(&QueueKey::Shared(destination), self.settings.delivery_limit);
            queue.ready.push_back(Stored { raw, returns: 0 });
            queue.notify.notify_waiters();
        }
        Ok(())
    }

    /// Takes the next message of `key` for `subscriber` if its prefetch window allows,
    /// dead-lettering the undecodable ones on the way.
    fn take(&self, subscriber: u64, key: &QueueKey, destination: Destination) -> Option<Taken> {
        let prefetch = usize::from(self.settings.prefetch);
        let mut state = self.lock();
        loop {
            let unsettled = state
                .unsettled
                .get(&subscriber)
                .copied()
                .unwrap_or_default();
            // A prefetch of 0 means no limit, as in AMQP.
            if prefetch != 0 && unsettled >= prefetch {
                return None;
            }
            let queue = state.queues.get_mut(key)?;
            let stored = queue
                .returned
                .pop_front()
                .or_else(|| queue.ready.pop_front())?;
            let queue_name = queue.name.clone();
            match codec::decode(destination, &stored.raw) {
                Err((code, reason)) => {
                    tracing::warn!(
                        queue = %queue_name,
                        code = code.as_str_name(),
                        %reason,
                        "dead-lettering a message that cannot be processed"
                    );
                    let letter = codec::dead_letter(stored.raw, code, reason, queue_name);
                    self.push_dead_letter(&mut state, letter);
                }
                Ok((message, envelope)) => {
                    state.next_tag += 1;
                    let tag = state.next_tag;
                    let redelivered = stored.returns > 0;
                    state.in_flight.insert(
                        tag,
                        InFlight {
                            key: key.clone(),
                            queue_name: queue_name.clone(),
                            subscriber,
                            stored,
                        },
                    );
                    *state.unsettled.entry(subscriber).or_default() += 1;
                    return Some(Taken {
                        tag,
                        queue_name,
                        message,
                        envelope,
                        redelivered,
                    });
                }
            }
        }
    }

    /// Settles delivery `tag`; does nothing when it was already settled (for instance returned
    /// to its queue when its subscription was dropped).
    fn settle(&self, tag: u64, outcome: Outcome) {
        let mut state = self.lock();
        let Some(in_flight) = state.in_flight.remove(&tag) else {
            return;
        };
        if let Some(count) = state.unsettled.get_mut(&in_flight.subscriber) {
            *count = count.saturating_sub(1);
        }
        if let Some(queue) = state.queues.get(&in_flight.key) {
            // The subscriber may be waiting for its prefetch window to open.
            queue.notify.notify_waiters();
        }
        match outcome {
            Outcome::Ack => {}
            Outcome::Requeue => self.requeue(&mut state, in_flight),
            Outcome::DeadLetter(code, reason) => {
                let letter =
                    codec::dead_letter(in_flight.stored.raw, code, reason, in_flight.queue_name);
                self.push_dead_letter(&mut state, letter);
            }
        }
    }

    /// Puts an unsettled message back at the head of its queue, or dead-letters it once it went
    /// back more often than the delivery limit allows.
    fn requeue(&self, state: &mut State, in_flight: InFlight) {
        // A control subscription's queue disappears with it, like an auto-delete queue.
        let Some(queue) = state.queues.get_mut(&in_flight.key) else {
            return;
        };
        let mut stored = in_flight.stored;
        stored.returns = stored.returns.saturating_add(1);
        match queue.delivery_limit {
            Some(limit) if stored.returns > limit => {
                tracing::warn!(
                    queue = %queue.name,
                    delivery_limit = limit,
                    "dead-lettering a message that exceeded the delivery limit"
                );
                let letter = codec::dead_letter(
                    stored.raw,
                    BusErrorCode::DeliveryLimitExceeded,
                    codec::delivery_limit_reason(limit),
                    queue.name.clone(),
                );
                self.push_dead_letter(state, letter);
            }
            _ => {
                queue.returned.push_back(stored);
                queue.notify.notify_waiters();
            }
        }
    }

    fn push_dead_letter(&self, state: &mut State, letter: DeadLetter) {
        state.dead_letters.push_back(letter);
        self.dead_letters_changed.notify_waiters();
    }

    /// Ends a subscription: its unsettled deliveries go back to their queue in delivery order,
    /// and a control subscription's queue is deleted.
    fn unsubscribe(&self, subscriber: u64, key: &QueueKey) {
        let mut state = self.lock();
        state.unsettled.remove(&subscriber);
        let tags: Vec<u64> = state
            .in_flight
            .iter()
            .filter(|(_, in_flight)| in_flight.subscriber == subscriber)
            .map(|(tag, _)| *tag)
            .collect();
        for tag in tags {
            if let Some(in_flight) = state.in_flight.remove(&tag) {
                self.requeue(&mut state, in_flight);
            }
        }
        if matches!(key, QueueKey::Control(_)) {
            state.queues.remove(key);
        }
    }
}

struct MemorySubscription {
    inner: Arc<Inner>,
    subscriber: u64,
    key: QueueKey,
    destination: Destination,
    notify: Arc<Notify>,
}

#[async_trait]
impl SubscriptionSource for MemorySubscription {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            if self.inner.shutdown.is_cancelled() {
                return None;
            }
            // Registering interest before looking at the queue means a publish between the look
            // and the wait still wakes us.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(taken) = self
                .inner
                .take(self.subscriber, &self.key, self.destination)
            {
                let span = telemetry::delivery_span(
                    SYSTEM,
                    &taken.queue_name,
                    &taken.message,
                    &taken.envelope,
                    taken.redelivered,
                );
                let acker = MemoryAcker {
                    inner: self.inner.clone(),
                    tag: taken.tag,
                    settled: false,
                };
                return Some(
                    Delivery::new(
                        taken.message,
                        taken.envelope,
                        taken.redelivered,
                        Box::new(acker),
                    )
                    .with_span(span),
                );
            }
            tokio::select! {
                () = &mut notified => {}
                () = self.inner.shutdown.cancelled() => return None,
            }
        }
    }
}

impl Drop for MemorySubscription {
    fn drop(&mut self) {
        self.inner.unsubscribe(self.subscriber, &self.key);
    }
}

struct MemoryAcker {
    inner: Arc<Inner>,
    tag: u64,
    settled: bool,
}

impl MemoryAcker {
    /// Settles the delivery; the memory bus cannot fail to.
    fn finish(mut self, outcome: Outcome) -> Result<(), BusError> {
        self.settled = true;
        self.inner.settle(self.tag, outcome);
        Ok(())
    }
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        (*self).finish(Outcome::Ack)
    }

    async fn retry(self: Box<Self>) -> Result<(), BusError> {
        (*self).finish(Outcome::Requeue)
    }

    async fn dead_letter(
        self: Box<Self>,
        code: BusErrorCode,
        reason: String,
    ) -> Result<(), BusError> {
        (*self).finish(Outcome::DeadLetter(code, reason))
    }
}

impl Drop for MemoryAcker {
    fn drop(&mut self) {
        if !self.settled {
            self.inner.settle(self.tag, Outcome::Requeue);
        }
    }
}

struct MemoryDeadLetters {
    inner: Arc<Inner>,
}

#[async_trait]
impl DeadLetterSource for MemoryDeadLetters {
    async fn next(&mut self) -> Option<DeadLetter> {
        loop {
            if self.inner.shutdown.is_cancelled() {
                return None;
            }
            let notified = self.inner.dead_letters_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(letter) = self.inner.lock().dead_letters.pop_front() {
                return Some(letter);
            }
            tokio::select! {
                () = &mut notified => {}
                () = self.inner.shutdown.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chiffon_proto::v1::{AgentKind, WorkItem};
    use futures::FutureExt as _;

    fn item(work_id: &str) -> BusMessage {
        BusMessage::WorkItem(WorkItem {
            work_id: work_id.into(),
            request_id: "r".into(),
            plan_id: "p".into(),
            step_id: "s".into(),
            attempt: 1,
            agent_kind: AgentKind::Infra as i32,
            ..Default::default()
        })
    }

    const INFRA: Destination = Destination::Work(AgentKind::Infra);

    #[tokio::test]
    async fn prefetch_limits_unsettled_deliveries() {
        let settings = BusSettings {
            prefetch: 1,
            ..BusSettings::default()
        };
        let bus = MemoryBus::new(settings, CancellationToken::new());
        let mut subscription = bus.subscribe(INFRA).await.unwrap();
        for id in ["a", "b"] {
            bus.publish(INFRA, item(id), Envelope::default())
                .await
                .unwrap();
        }
        let first = subscription.next().await.unwrap();
        // With one delivery unsettled the window is closed, so the second stays queued.
        assert!(subscription.next().now_or_never().is_none());
        first.ack().await.unwrap();
        let second = subscription.next().await.unwrap();
        assert_eq!(second.message.work_id(), "b");
    }

    #[tokio::test]
    async fn control_messages_without_subscribers_are_dropped() {
        let bus = MemoryBus::new(BusSettings::default(), CancellationToken::new());
        let cancel = BusMessage::CancelWork(chiffon_proto::v1::CancelWork {
            work_id: "w".into(),
            request_id: "r".into(),
            reason: String::new(),
        });
        bus.publish(Destination::Control, cancel, Envelope::default())
            .await
            .unwrap();
        assert!(bus.inner.lock().queues.is_empty());
    }
}
