//! A message as it travels, in AMQP terms: the properties a [`RawMessage`] is published with,
//! the [`RawMessage`] a delivery carries, and why the broker dead-lettered one.
//!
//! The only place that knows AMQP field types, so the rest of the adapter handles plain string
//! headers as the codec and `docs/protocol.md` define them.

use super::ack::PendingAck;
use crate::{BusError, DeadLetter, RawMessage, codec, headers};
use chiffon_proto::v1::BusErrorCode;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use tokio::sync::mpsc;

/// AMQP delivery mode of messages written to disk.
const PERSISTENT: u8 = 2;
/// Headers RabbitMQ sets when it dead-letters a message itself.
const FIRST_DEATH_REASON: &str = "x-first-death-reason";
const FIRST_DEATH_QUEUE: &str = "x-first-death-queue";
const X_DEATH: &str = "x-death";
/// `x-first-death-reason` of a message that exceeded a quorum queue's delivery limit.
const DELIVERY_LIMIT_DEATH: &str = "delivery_limit";

/// Splits a lapin delivery into the message as it traveled and the handle that settles it.
pub(super) fn take_delivery(
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
    let pending = PendingAck::new(delivery.acker, dropped.clone());
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
pub(super) fn properties(raw: &RawMessage) -> Result<BasicProperties, BusError> {
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
pub(super) fn broker_death(table: Option<&FieldTable>) -> Option<(String, String)> {
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
pub(super) fn read_dead_letter(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BusMessage, Envelope};

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
