//! The wire format shared by every bus implementation: typed messages become a protobuf body plus
//! string headers, and received bytes become typed messages or a [`BusErrorCode`] saying why
//! they cannot be.
//!
//! Both [`crate::memory::MemoryBus`] and [`crate::rabbitmq::RabbitBus`] send everything through
//! [`encode_for`] and read everything through [`decode`], so a message the in-process bus accepts
//! is exactly a message RabbitMQ consumers accept, and a bad message is dead-lettered with the
//! same code by both.

use crate::{
    BusError, BusMessage, DeadLetter, Destination, Envelope, PROTOCOL_VERSION, RawMessage, headers,
};
use chiffon_proto::v1::{
    AgentKind, BusErrorCode, CancelWork, WorkEvent, WorkItem, WorkResult, WorkStatus,
};
use prost::Message as _;

/// Fully qualified protobuf name of [`WorkItem`], as sent in [`headers::MESSAGE_TYPE`].
pub const WORK_ITEM_TYPE: &str = "chiffon.v1.WorkItem";
/// Fully qualified protobuf name of [`WorkEvent`].
pub const WORK_EVENT_TYPE: &str = "chiffon.v1.WorkEvent";
/// Fully qualified protobuf name of [`WorkResult`].
pub const WORK_RESULT_TYPE: &str = "chiffon.v1.WorkResult";
/// Fully qualified protobuf name of [`CancelWork`].
pub const CANCEL_WORK_TYPE: &str = "chiffon.v1.CancelWork";

/// Major protocol version this build reads; must match the major part of [`PROTOCOL_VERSION`].
const SUPPORTED_MAJOR: u32 = 1;

/// Why a received message cannot be processed: the code that goes into
/// [`headers::ERROR_CODE`] and a sentence for people.
pub type Rejection = (BusErrorCode, String);

impl BusMessage {
    /// Fully qualified protobuf name of the body, e.g. `chiffon.v1.WorkItem`.
    pub fn type_name(&self) -> &'static str {
        match self {
            BusMessage::WorkItem(_) => WORK_ITEM_TYPE,
            BusMessage::WorkEvent(_) => WORK_EVENT_TYPE,
            BusMessage::WorkResult(_) => WORK_RESULT_TYPE,
            BusMessage::CancelWork(_) => CANCEL_WORK_TYPE,
        }
    }

    /// The work item the message is about.
    pub fn work_id(&self) -> &str {
        match self {
            BusMessage::WorkItem(m) => &m.work_id,
            BusMessage::WorkEvent(m) => &m.work_id,
            BusMessage::WorkResult(m) => &m.work_id,
            BusMessage::CancelWork(m) => &m.work_id,
        }
    }

    /// The request the message belongs to.
    pub fn request_id(&self) -> &str {
        match self {
            BusMessage::WorkItem(m) => &m.request_id,
            BusMessage::WorkEvent(m) => &m.request_id,
            BusMessage::WorkResult(m) => &m.request_id,
            BusMessage::CancelWork(m) => &m.request_id,
        }
    }

    fn encode_body(&self) -> Vec<u8> {
        match self {
            BusMessage::WorkItem(m) => m.encode_to_vec(),
            BusMessage::WorkEvent(m) => m.encode_to_vec(),
            BusMessage::WorkResult(m) => m.encode_to_vec(),
            BusMessage::CancelWork(m) => m.encode_to_vec(),
        }
    }
}

/// The idempotency key publishing uses when [`Envelope::idempotency_key`] is empty:
/// `work:<work_id>`, `event:<work_id>:<sequence>`, `result:<work_id>` or `cancel:<work_id>`.
pub fn default_idempotency_key(message: &BusMessage) -> String {
    match message {
        BusMessage::WorkItem(m) => format!("work:{}", m.work_id),
        BusMessage::WorkEvent(m) => format!("event:{}:{}", m.work_id, m.sequence),
        BusMessage::WorkResult(m) => format!("result:{}", m.work_id),
        BusMessage::CancelWork(m) => format!("cancel:{}", m.work_id),
    }
}

/// Fails with [`BusError::UnknownDestination`] for a destination no broker has (the work queue
/// of [`AgentKind::Unspecified`]).
pub fn ensure_destination_exists(destination: Destination) -> Result<(), BusError> {
    match destination {
        Destination::Work(AgentKind::Unspecified) => Err(BusError::UnknownDestination {
            destination: destination.name(),
        }),
        Destination::Work(_) | Destination::Status | Destination::Control => Ok(()),
    }
}

/// Longest header name AMQP can carry (a short string).
const MAX_HEADER_NAME_BYTES: usize = 255;

/// Fails with [`BusError::InvalidMessage`] when `raw` cannot travel on every implementation:
/// AMQP limits header names to 255 bytes.
pub fn ensure_transportable(raw: &RawMessage) -> Result<(), BusError> {
    match raw
        .headers
        .keys()
        .find(|name| name.len() > MAX_HEADER_NAME_BYTES)
    {
        Some(name) => Err(BusError::InvalidMessage {
            message_type: "raw message",
            reason: format!(
                "header name '{}…' is longer than the {MAX_HEADER_NAME_BYTES} bytes AMQP allows",
                name.chars().take(40).collect::<String>()
            ),
        }),
        None => Ok(()),
    }
}

/// Checks that `message` belongs on `destination` and is complete, then encodes it with
/// [`encode`]. This is what the typed [`crate::Bus::publish`] sends.
pub fn encode_for(
    destination: Destination,
    message: &BusMessage,
    envelope: &Envelope,
) -> Result<RawMessage, BusError> {
    ensure_destination_exists(destination)?;
    let wrong_destination = || BusError::WrongDestination {
        message_type: message.type_name(),
        destination: destination.name(),
    };
    if !carries_type(destination, message.type_name()) {
        return Err(wrong_destination());
    }
    match check_message(destination, message) {
        Ok(()) => Ok(encode(message, envelope)),
        Err((BusErrorCode::WrongQueue, _)) => Err(wrong_destination()),
        Err((_, reason)) => Err(BusError::InvalidMessage {
            message_type: message.type_name(),
            reason,
        }),
    }
}

/// Encodes `message` without checking it: protobuf body plus the protocol version, message type,
/// correlation id, idempotency key and trace headers. An empty correlation id becomes the
/// message's request id, an empty idempotency key becomes [`default_idempotency_key`], and an
/// empty trace becomes the trace context of the current span.
pub fn encode(message: &BusMessage, envelope: &Envelope) -> RawMessage {
    let correlation_id = if envelope.correlation_id.is_empty() {
        message.request_id().to_owned()
    } else {
        envelope.correlation_id.clone()
    };
    let idempotency_key = if envelope.idempotency_key.is_empty() {
        default_idempotency_key(message)
    } else {
        envelope.idempotency_key.clone()
    };
    let trace = if envelope.trace.is_empty() {
        chiffon_observability::propagation::current_trace_headers()
    } else {
        envelope.trace.clone()
    };

    let mut raw_headers = std::collections::HashMap::from([
        (
            headers::PROTOCOL_VERSION.to_owned(),
            PROTOCOL_VERSION.to_owned(),
        ),
        (
            headers::MESSAGE_TYPE.to_owned(),
            message.type_name().to_owned(),
        ),
        (headers::CORRELATION_ID.to_owned(), correlation_id),
        (headers::IDEMPOTENCY_KEY.to_owned(), idempotency_key),
    ]);
    // Only the two W3C headers travel: anything else in the map would collide with, or be
    // mistaken for, protocol headers.
    for name in [headers::TRACEPARENT, headers::TRACESTATE] {
        if let Some(value) = trace.get(name).filter(|value| !value.is_empty()) {
            raw_headers.insert(name.to_owned(), value.clone());
        }
    }
    RawMessage {
        body: message.encode_body(),
        headers: raw_headers,
    }
}

/// Reads a message received from `destination`, or says why it must be dead-lettered.
///
/// Checks, in order: the protocol version (`UNSUPPORTED_PROTOCOL_VERSION`), the message type
/// (`INVALID_MESSAGE` when missing, `UNKNOWN_MESSAGE_TYPE` when unknown), that the type belongs on
/// the destination (`WRONG_QUEUE`), the body (`MALFORMED_PAYLOAD`), the required headers and
/// fields (`INVALID_MESSAGE`) and finally that a work item's agent kind matches its queue
/// (`WRONG_QUEUE`).
pub fn decode(
    destination: Destination,
    raw: &RawMessage,
) -> Result<(BusMessage, Envelope), Rejection> {
    check_protocol_version(raw)?;
    let type_name = raw.headers.get(headers::MESSAGE_TYPE).ok_or_else(|| {
        invalid(format!(
            "the message has no {} header",
            headers::MESSAGE_TYPE
        ))
    })?;
    let message = match type_name.as_str() {
        WORK_ITEM_TYPE | WORK_EVENT_TYPE | WORK_RESULT_TYPE | CANCEL_WORK_TYPE
            if !carries_type(destination, type_name) =>
        {
            return Err(wrong_queue(type_name, destination));
        }
        WORK_ITEM_TYPE => BusMessage::WorkItem(decode_body::<WorkItem>(raw, type_name)?),
        WORK_EVENT_TYPE => BusMessage::WorkEvent(decode_body::<WorkEvent>(raw, type_name)?),
        WORK_RESULT_TYPE => BusMessage::WorkResult(decode_body::<WorkResult>(raw, type_name)?),
        CANCEL_WORK_TYPE => BusMessage::CancelWork(decode_body::<CancelWork>(raw, type_name)?),
        other => {
            return Err((
                BusErrorCode::UnknownMessageType,
                format!("message type '{other}' is not one the Chiffon bus carries"),
            ));
        }
    };

    let envelope = Envelope {
        correlation_id: required_header(raw, headers::CORRELATION_ID)?,
        idempotency_key: required_header(raw, headers::IDEMPOTENCY_KEY)?,
        trace: [headers::TRACEPARENT, headers::TRACESTATE]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), raw.headers.get(name)?.clone())))
            .collect(),
    };
    check_message(destination, &message)?;
    Ok((message, envelope))
}

/// Marks `message` as dead-lettered: adds the [`headers::ERROR_CODE`], [`headers::ERROR`] and
/// [`headers::ORIGINAL_QUEUE`] headers and wraps it as a [`DeadLetter`].
pub fn dead_letter(
    mut message: RawMessage,
    code: BusErrorCode,
    reason: String,
    original_queue: String,
) -> DeadLetter {
    message.headers.insert(
        headers::ERROR_CODE.to_owned(),
        code.as_str_name().to_owned(),
    );
    message
        .headers
        .insert(headers::ERROR.to_owned(), reason.clone());
    message
        .headers
        .insert(headers::ORIGINAL_QUEUE.to_owned(), original_queue.clone());
    DeadLetter {
        message,
        code,
        reason,
        original_queue,
    }
}

/// The explanation recorded when a message exceeds the delivery limit, identical for every
/// implementation.
pub(crate) fn delivery_limit_reason(delivery_limit: u32) -> String {
    format!(
        "the message went back to its queue more than {delivery_limit} times without being \
         acknowledged (delivery limit)"
    )
}

/// Whether messages of type `type_name` may travel on `destination` at all; a work item's agent
/// kind is checked after decoding, in [`check_message`].
fn carries_type(destination: Destination, type_name: &str) -> bool {
    match destination {
        Destination::Work(_) => type_name == WORK_ITEM_TYPE,
        Destination::Status => type_name == WORK_EVENT_TYPE || type_name == WORK_RESULT_TYPE,
        Destination::Control => type_name == CANCEL_WORK_TYPE,
    }
}

/// Required fields, then the agent kind of a work item against its queue.
fn check_message(destination: Destination, message: &BusMessage) -> Result<(), Rejection> {
    validate(message).map_err(invalid)?;
    if let (BusMessage::WorkItem(item), Destination::Work(kind)) = (message, destination)
        && item.agent_kind != kind as i32
    {
        return Err((
            BusErrorCode::WrongQueue,
            format!(
                "work item {} is for {} agents but arrived on {}",
                item.work_id,
                agent_kind_name(item.agent_kind),
                destination.name()
            ),
        ));
    }
    Ok(())
}

/// The rules of each message type (from the field comments in `work.proto`).
fn validate(message: &BusMessage) -> Result<(), String> {
    match message {
        BusMessage::WorkItem(m) => {
            require(&[
                ("work_id", &m.work_id),
                ("request_id", &m.request_id),
                ("plan_id", &m.plan_id),
                ("step_id", &m.step_id),
            ])?;
            match AgentKind::try_from(m.agent_kind) {
                Ok(AgentKind::Infra | AgentKind::Desktop) => {}
                Ok(AgentKind::Unspecified) => return Err("agent_kind is not set".to_owned()),
                Err(_) => {
                    return Err(format!(
                        "agent_kind {} is not a known agent kind",
                        m.agent_kind
                    ));
                }
            }
            if m.attempt < 1 {
                return Err(format!("attempt is {} but attempts start at 1", m.attempt));
            }
            Ok(())
        }
        BusMessage::WorkEvent(m) => {
            require(&[
                ("work_id", &m.work_id),
                ("request_id", &m.request_id),
                ("step_id", &m.step_id),
                ("agent_id", &m.agent_id),
            ])?;
            if m.sequence < 1 {
                return Err(format!(
                    "sequence is {} but event sequences start at 1",
                    m.sequence
                ));
            }
            Ok(())
        }
        BusMessage::WorkResult(m) => {
            require(&[
                ("work_id", &m.work_id),
                ("request_id", &m.request_id),
                ("step_id", &m.step_id),
                ("agent_id", &m.agent_id),
            ])?;
            match WorkStatus::try_from(m.status) {
                Ok(WorkStatus::Unspecified) => Err("status is not set".to_owned()),
                Ok(_) => Ok(()),
                Err(_) => Err(format!("status {} is not a known work status", m.status)),
            }
        }
        BusMessage::CancelWork(m) => {
            require(&[("work_id", &m.work_id), ("request_id", &m.request_id)])
        }
    }
}

fn require(fields: &[(&str, &String)]) -> Result<(), String> {
    match fields.iter().find(|(_, value)| value.is_empty()) {
        Some((name, _)) => Err(format!("{name} is empty")),
        None => Ok(()),
    }
}

fn check_protocol_version(raw: &RawMessage) -> Result<(), Rejection> {
    let unsupported = |reason: String| (BusErrorCode::UnsupportedProtocolVersion, reason);
    let Some(version) = raw.headers.get(headers::PROTOCOL_VERSION) else {
        return Err(unsupported(format!(
            "the message has no {} header",
            headers::PROTOCOL_VERSION
        )));
    };
    let parts: Vec<Option<u32>> = version.split('.').map(|part| part.parse().ok()).collect();
    match parts.as_slice() {
        [Some(SUPPORTED_MAJOR)] | [Some(SUPPORTED_MAJOR), Some(_)] => Ok(()),
        [Some(_)] | [Some(_), Some(_)] => Err(unsupported(format!(
            "protocol version {version} is not supported; this consumer reads {SUPPORTED_MAJOR}.x"
        ))),
        _ => Err(unsupported(format!(
            "protocol version '{version}' is not a MAJOR.MINOR version number"
        ))),
    }
}

fn decode_body<M: prost::Message + Default>(
    raw: &RawMessage,
    type_name: &str,
) -> Result<M, Rejection> {
    M::decode(raw.body.as_slice()).map_err(|error| {
        (
            BusErrorCode::MalformedPayload,
            format!("the body is not a valid {type_name}: {error}"),
        )
    })
}

fn required_header(raw: &RawMessage, name: &str) -> Result<String, Rejection> {
    match raw.headers.get(name) {
        Some(value) if !value.is_empty() => Ok(value.clone()),
        _ => Err(invalid(format!("the message has no {name} header"))),
    }
}

fn invalid(reason: String) -> Rejection {
    (BusErrorCode::InvalidMessage, reason)
}

fn wrong_queue(type_name: &str, destination: Destination) -> Rejection {
    (
        BusErrorCode::WrongQueue,
        format!("a {type_name} does not belong on {}", destination.name()),
    )
}

fn agent_kind_name(kind: i32) -> String {
    AgentKind::try_from(kind)
        .map(|kind| crate::agent_kind_slug(kind).to_owned())
        .unwrap_or_else(|_| format!("unknown ({kind})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn work_item(kind: AgentKind) -> WorkItem {
        WorkItem {
            work_id: "w1".into(),
            request_id: "r1".into(),
            plan_id: "p1".into(),
            step_id: "s1".into(),
            attempt: 1,
            agent_kind: kind as i32,
            ..Default::default()
        }
    }

    fn event(sequence: i64) -> BusMessage {
        BusMessage::WorkEvent(WorkEvent {
            work_id: "w1".into(),
            request_id: "r1".into(),
            step_id: "s1".into(),
            agent_id: "a1".into(),
            sequence,
            ..Default::default()
        })
    }

    fn cancel() -> BusMessage {
        BusMessage::CancelWork(CancelWork {
            work_id: "w1".into(),
            request_id: "r1".into(),
            reason: "user".into(),
        })
    }

    fn trace() -> HashMap<String, String> {
        HashMap::from([
            (
                headers::TRACEPARENT.to_owned(),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
            ),
            (headers::TRACESTATE.to_owned(), "vendor=1".to_owned()),
        ])
    }

    fn code_of(destination: Destination, raw: &RawMessage) -> BusErrorCode {
        match decode(destination, raw) {
            Ok(decoded) => panic!("expected a rejection, decoded {decoded:?}"),
            Err((code, reason)) => {
                assert!(!reason.is_empty());
                code
            }
        }
    }

    #[test]
    fn supported_major_matches_the_protocol_version() {
        assert_eq!(
            PROTOCOL_VERSION.split('.').next(),
            Some(SUPPORTED_MAJOR.to_string().as_str())
        );
    }

    #[test]
    fn round_trip_keeps_message_and_envelope() {
        let message = BusMessage::WorkItem(work_item(AgentKind::Infra));
        let envelope = Envelope {
            correlation_id: "corr".into(),
            idempotency_key: "key".into(),
            trace: trace(),
        };
        let raw = encode_for(Destination::Work(AgentKind::Infra), &message, &envelope).unwrap();
        assert_eq!(raw.headers[headers::PROTOCOL_VERSION], PROTOCOL_VERSION);
        assert_eq!(raw.headers[headers::MESSAGE_TYPE], "chiffon.v1.WorkItem");
        assert_eq!(raw.headers[headers::CORRELATION_ID], "corr");
        assert_eq!(raw.headers[headers::IDEMPOTENCY_KEY], "key");
        assert_eq!(raw.headers[headers::TRACESTATE], "vendor=1");

        let decoded = decode(Destination::Work(AgentKind::Infra), &raw).unwrap();
        assert_eq!(decoded, (message, envelope));
    }

    #[test]
    fn empty_envelope_fields_get_defaults() {
        let raw = encode(&event(7), &Envelope::default());
        assert_eq!(raw.headers[headers::CORRELATION_ID], "r1");
        assert_eq!(raw.headers[headers::IDEMPOTENCY_KEY], "event:w1:7");
        // No tracing subscriber records spans here, so no trace context exists to fill in.
        assert!(!raw.headers.contains_key(headers::TRACEPARENT));
        assert_eq!(default_idempotency_key(&cancel()), "cancel:w1");
    }

    #[test]
    fn empty_trace_is_filled_from_the_current_span() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;

        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("publisher");
            let raw = span.in_scope(|| encode(&event(1), &Envelope::default()));
            let traceparent = &raw.headers[headers::TRACEPARENT];
            assert!(traceparent.starts_with("00-"), "{traceparent}");
        });
    }

    #[test]
    fn unsupported_or_missing_protocol_version() {
        let mut raw = encode(&event(1), &Envelope::default());
        for version in ["2.0", "0.9", "one", "1.x", ""] {
            raw.headers
                .insert(headers::PROTOCOL_VERSION.into(), version.into());
            assert_eq!(
                code_of(Destination::Status, &raw),
                BusErrorCode::UnsupportedProtocolVersion,
                "{version}"
            );
        }
        raw.headers
            .insert(headers::PROTOCOL_VERSION.into(), "1.7".into());
        assert!(
            decode(Destination::Status, &raw).is_ok(),
            "any 1.x minor is readable"
        );
        raw.headers
            .insert(headers::PROTOCOL_VERSION.into(), "1".into());
        assert!(decode(Destination::Status, &raw).is_ok());
        raw.headers.remove(headers::PROTOCOL_VERSION);
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::UnsupportedProtocolVersion
        );
    }

    #[test]
    fn unknown_or_missing_message_type() {
        let mut raw = encode(&event(1), &Envelope::default());
        raw.headers
            .insert(headers::MESSAGE_TYPE.into(), "chiffon.v1.Nope".into());
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::UnknownMessageType
        );
        raw.headers.remove(headers::MESSAGE_TYPE);
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::InvalidMessage
        );
    }

    #[test]
    fn undecodable_body_is_malformed() {
        let mut raw = encode(&event(1), &Envelope::default());
        raw.body = vec![0xff, 0xff, 0xff];
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::MalformedPayload
        );
    }

    #[test]
    fn missing_ids_and_headers_are_invalid() {
        let mut item = work_item(AgentKind::Infra);
        item.work_id.clear();
        let raw = encode(&BusMessage::WorkItem(item), &Envelope::default());
        assert_eq!(
            code_of(Destination::Work(AgentKind::Infra), &raw),
            BusErrorCode::InvalidMessage
        );

        let raw = encode(&event(0), &Envelope::default());
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::InvalidMessage
        );

        let mut raw = encode(&event(1), &Envelope::default());
        raw.headers.remove(headers::IDEMPOTENCY_KEY);
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::InvalidMessage
        );

        // An empty body decodes to a message whose every field is empty.
        let mut raw = encode(&cancel(), &Envelope::default());
        raw.body.clear();
        assert_eq!(
            code_of(Destination::Control, &raw),
            BusErrorCode::InvalidMessage
        );

        let unset = BusMessage::WorkResult(WorkResult {
            work_id: "w1".into(),
            request_id: "r1".into(),
            step_id: "s1".into(),
            agent_id: "a1".into(),
            ..Default::default()
        });
        let raw = encode(&unset, &Envelope::default());
        assert_eq!(
            code_of(Destination::Status, &raw),
            BusErrorCode::InvalidMessage
        );
    }

    #[test]
    fn types_only_travel_on_their_destination() {
        let item = BusMessage::WorkItem(work_item(AgentKind::Desktop));
        let raw = encode(&item, &Envelope::default());
        assert_eq!(code_of(Destination::Status, &raw), BusErrorCode::WrongQueue);
        assert_eq!(
            code_of(Destination::Work(AgentKind::Infra), &raw),
            BusErrorCode::WrongQueue
        );
        assert!(decode(Destination::Work(AgentKind::Desktop), &raw).is_ok());

        let raw = encode(&cancel(), &Envelope::default());
        assert_eq!(code_of(Destination::Status, &raw), BusErrorCode::WrongQueue);
        assert_eq!(
            code_of(Destination::Work(AgentKind::Infra), &raw),
            BusErrorCode::WrongQueue
        );

        let raw = encode(&event(1), &Envelope::default());
        assert_eq!(
            code_of(Destination::Control, &raw),
            BusErrorCode::WrongQueue
        );
    }

    #[test]
    fn typed_encoding_refuses_wrong_destinations_and_invalid_messages() {
        let item = BusMessage::WorkItem(work_item(AgentKind::Desktop));
        for destination in [Destination::Work(AgentKind::Infra), Destination::Status] {
            assert!(matches!(
                encode_for(destination, &item, &Envelope::default()),
                Err(BusError::WrongDestination {
                    message_type: "chiffon.v1.WorkItem",
                    ..
                })
            ));
        }
        assert!(matches!(
            encode_for(
                Destination::Work(AgentKind::Unspecified),
                &item,
                &Envelope::default()
            ),
            Err(BusError::UnknownDestination { .. })
        ));
        assert!(matches!(
            encode_for(Destination::Control, &event(1), &Envelope::default()),
            Err(BusError::WrongDestination {
                message_type: "chiffon.v1.WorkEvent",
                ..
            })
        ));
        let error = encode_for(Destination::Status, &event(0), &Envelope::default()).unwrap_err();
        assert!(matches!(error, BusError::InvalidMessage { .. }));
        assert_eq!(
            error.to_string(),
            "invalid chiffon.v1.WorkEvent: sequence is 0 but event sequences start at 1"
        );
    }

    #[test]
    fn dead_letter_adds_the_error_headers() {
        let raw = encode(&event(1), &Envelope::default());
        let letter = dead_letter(
            raw.clone(),
            BusErrorCode::MalformedPayload,
            "bad".into(),
            "chiffon.status".into(),
        );
        assert_eq!(letter.message.body, raw.body);
        assert_eq!(
            letter.message.headers[headers::ERROR_CODE],
            "BUS_ERROR_CODE_MALFORMED_PAYLOAD"
        );
        assert_eq!(letter.message.headers[headers::ERROR], "bad");
        assert_eq!(
            letter.message.headers[headers::ORIGINAL_QUEUE],
            "chiffon.status"
        );
        assert_eq!(letter.code, BusErrorCode::MalformedPayload);
    }
}
