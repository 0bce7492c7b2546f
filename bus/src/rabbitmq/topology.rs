//! The broker's topology: the exchanges and queues the bus declares, with their arguments, and
//! where each publish goes.
//!
//! Kept apart so that the names and queue arguments, which every process sharing a broker must
//! agree on (the broker refuses to redeclare a queue with other arguments), are all in one
//! place; see `docs/protocol.md`.

use crate::{BusSettings, Destination};
use chiffon_proto::v1::AgentKind;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

/// Exchange that receives every dead-lettered message.
pub const DEAD_LETTER_EXCHANGE: &str = "chiffon.dlx";
/// Queue bound to [`DEAD_LETTER_EXCHANGE`], read by [`crate::Bus::subscribe_dead_letters`].
pub const DEAD_LETTER_QUEUE: &str = "chiffon.dead-letters";
/// Fanout exchange of [`Destination::Control`]; each control subscription binds a queue of its own.
pub const CONTROL_EXCHANGE: &str = "chiffon.control";

/// Where a publish goes on the broker.
pub(super) struct Target {
    pub(super) exchange: &'static str,
    pub(super) routing_key: String,
    /// Unroutable messages come back as an error instead of vanishing.
    pub(super) mandatory: bool,
    /// Queue or exchange name for errors.
    pub(super) name: String,
}

impl Target {
    pub(super) fn destination(destination: Destination) -> Target {
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

    pub(super) fn dead_letters() -> Target {
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
pub(super) struct QueueSpec {
    pub(super) name: String,
    arguments: FieldTable,
}

impl QueueSpec {
    /// A work or status queue.
    pub(super) fn delivery_limited(name: String, settings: &BusSettings) -> QueueSpec {
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

    pub(super) fn dead_letters() -> QueueSpec {
        QueueSpec {
            name: DEAD_LETTER_QUEUE.to_owned(),
            arguments: quorum_arguments(),
        }
    }

    pub(super) async fn declare(&self, channel: &Channel) -> Result<(), String> {
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
pub(super) async fn declare_topology(
    channel: &Channel,
    settings: &BusSettings,
) -> Result<(), String> {
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
    bind_to_fanout(channel, DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE).await?;
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

/// Declares a control subscription's own queue — exclusive, auto-deleted, named by the broker —
/// bound to [`CONTROL_EXCHANGE`], and returns its name. Each connection needs a new one: the
/// broker deletes it with the connection that declared it.
pub(super) async fn declare_control_queue(channel: &Channel) -> Result<String, String> {
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
    bind_to_fanout(channel, &name, CONTROL_EXCHANGE).await?;
    Ok(name)
}

/// Binds `queue` to the fanout `exchange`, which ignores routing keys.
async fn bind_to_fanout(channel: &Channel, queue: &str, exchange: &str) -> Result<(), String> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|error| format!("binding {queue} to {exchange}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_exchange_is_the_control_destination() {
        assert_eq!(Destination::Control.name(), CONTROL_EXCHANGE);
    }
}
