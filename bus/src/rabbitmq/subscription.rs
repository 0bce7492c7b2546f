//! What the bus's subscribers see: raw deliveries decoded into [`Delivery`]s (dead-lettering
//! those that cannot be decoded) and dead-letter-queue messages read as [`DeadLetter`]s.
//!
//! The consumer below knows nothing of the protocol; this is where broker deliveries meet the
//! codec and the tracing spans.

use super::SYSTEM;
use super::ack::RabbitAcker;
use super::consumer::ResilientConsumer;
use super::message::{broker_death, read_dead_letter, take_delivery};
use crate::{
    DeadLetter, DeadLetterSource, Delivery, Destination, SubscriptionSource, codec, telemetry,
};
use async_trait::async_trait;

/// A subscription to a work, status or control destination.
pub(super) struct RabbitSubscription {
    pub(super) consumer: ResilientConsumer,
    /// What the deliveries must be, checked by the codec.
    pub(super) destination: Destination,
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

/// A subscription to the dead-letter queue.
pub(super) struct RabbitDeadLetters {
    pub(super) consumer: ResilientConsumer,
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
