//! Spans shared by both bus implementations, so a trace looks the same whether it crossed
//! RabbitMQ or the in-process bus.

use crate::{BusMessage, Envelope};
use chiffon_observability::propagation::continue_trace;
use tracing::Span;

/// The span of one publish. When the caller supplied trace headers the span joins that trace;
/// otherwise it is a child of the current span and its context is what the codec injects.
pub(crate) fn publish_span(
    system: &'static str,
    destination: &str,
    message_type: &str,
    envelope: &Envelope,
) -> Span {
    let span = tracing::info_span!(
        "bus.publish",
        otel.kind = "producer",
        messaging.system = system,
        messaging.destination.name = destination,
        messaging.message.type = message_type,
    );
    if !envelope.trace.is_empty() {
        continue_trace(&span, &envelope.trace);
    }
    span
}

/// The span of one delivery, continuing the publisher's trace from the message headers.
pub(crate) fn delivery_span(
    system: &'static str,
    queue: &str,
    message: &BusMessage,
    envelope: &Envelope,
    redelivered: bool,
) -> Span {
    let span = tracing::info_span!(
        "bus.deliver",
        otel.kind = "consumer",
        messaging.system = system,
        messaging.destination.name = queue,
        messaging.message.type = message.type_name(),
        messaging.message.conversation_id = %envelope.correlation_id,
        chiffon.idempotency_key = %envelope.idempotency_key,
        chiffon.work_id = message.work_id(),
        redelivered,
    );
    continue_trace(&span, &envelope.trace);
    span
}
