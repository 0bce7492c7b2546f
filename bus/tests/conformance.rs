//! The behaviour every bus implementation must share, written once and run against both the
//! in-process bus and RabbitMQ (a fresh vhost per test): `cargo test -p chiffon-bus --test
//! conformance` needs the test broker.

mod common;

use chiffon_bus::{
    BusError, BusMessage, BusSettings, Destination, Envelope, PROTOCOL_VERSION, RawMessage, codec,
    headers,
};
use chiffon_proto::v1::{AgentKind, BusErrorCode};
use common::*;
use std::collections::{HashMap, HashSet};

/// Instantiates every behaviour below once per backend.
macro_rules! conformance {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Memory).await;
                }
            )*
        }
        mod rabbitmq {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::RabbitMq).await;
                }
            )*
        }
    };
}

conformance!(
    round_trip_keeps_message_and_headers,
    trace_continues_from_the_publishing_span,
    competing_consumers_share_a_work_queue,
    status_queue_keeps_order,
    dropped_subscription_returns_unacked_deliveries,
    dropped_delivery_is_redelivered,
    retry_redelivers,
    delivery_limit_dead_letters,
    consumer_can_dead_letter,
    malformed_body_is_dead_lettered,
    unknown_type_is_dead_lettered,
    missing_protocol_version_is_dead_lettered,
    unsupported_protocol_version_is_dead_lettered,
    invalid_message_is_dead_lettered,
    wrong_type_for_queue_is_dead_lettered,
    wrong_agent_kind_is_dead_lettered,
    bad_control_message_is_dead_lettered,
    control_reaches_every_subscriber,
    publish_refuses_wrong_destinations_and_invalid_messages,
    shutdown_ends_the_bus,
);

fn sample_trace() -> HashMap<String, String> {
    HashMap::from([
        (
            headers::TRACEPARENT.to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        ),
        (headers::TRACESTATE.to_owned(), "chiffon=1".to_owned()),
    ])
}

async fn round_trip_keeps_message_and_headers(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(INFRA).await.unwrap();
    let envelope = Envelope {
        correlation_id: "request-1".into(),
        idempotency_key: "work:work-1".into(),
        trace: sample_trace(),
    };
    test.bus
        .publish(INFRA, infra_item("work-1"), envelope.clone())
        .await
        .unwrap();
    // Left empty, the correlation id and idempotency key are derived from the message.
    test.bus
        .publish(INFRA, infra_item("work-2"), Envelope::default())
        .await
        .unwrap();

    let delivery = recv(&mut subscription).await;
    assert_eq!(delivery.message, infra_item("work-1"));
    assert_eq!(delivery.envelope, envelope);
    assert!(!delivery.redelivered);
    delivery.ack().await.unwrap();

    let delivery = recv(&mut subscription).await;
    assert_eq!(delivery.message, infra_item("work-2"));
    assert_eq!(delivery.envelope.correlation_id, "request-1");
    assert_eq!(delivery.envelope.idempotency_key, "work:work-2");
    delivery.ack().await.unwrap();
}

async fn trace_continues_from_the_publishing_span(backend: Backend) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing::Instrument as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    // Opening the bus installs the recording subscriber.
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(Destination::Status).await.unwrap();
    let request = tracing::info_span!("request");
    let trace_id = request.context().span().span_context().trace_id();
    test.bus
        .publish(Destination::Status, event(1), Envelope::default())
        .instrument(request)
        .await
        .unwrap();

    let delivery = recv(&mut subscription).await;
    let traceparent = &delivery.envelope.trace[headers::TRACEPARENT];
    assert!(traceparent.contains(&trace_id.to_string()), "{traceparent}");
    assert_eq!(
        delivery.span().context().span().span_context().trace_id(),
        trace_id
    );
    delivery.ack().await.unwrap();
}

async fn competing_consumers_share_a_work_queue(backend: Backend) {
    // One unsettled delivery per consumer, so neither can take both messages.
    let settings = BusSettings {
        prefetch: 1,
        ..BusSettings::default()
    };
    let test = TestBus::with_settings(backend, settings).await;
    let mut first = test.bus.subscribe(INFRA).await.unwrap();
    let mut second = test.bus.subscribe(INFRA).await.unwrap();
    for work_id in ["work-1", "work-2"] {
        test.bus
            .publish(INFRA, infra_item(work_id), Envelope::default())
            .await
            .unwrap();
    }

    let a = recv(&mut first).await;
    let b = recv(&mut second).await;
    let received: HashSet<String> = [&a, &b]
        .iter()
        .map(|delivery| delivery.message.work_id().to_owned())
        .collect();
    assert_eq!(
        received,
        HashSet::from(["work-1".to_owned(), "work-2".to_owned()])
    );
    a.ack().await.unwrap();
    b.ack().await.unwrap();
}

async fn status_queue_keeps_order(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(Destination::Status).await.unwrap();
    let sent: Vec<BusMessage> = (1..=20).map(event).chain([result()]).collect();
    for message in &sent {
        test.bus
            .publish(Destination::Status, message.clone(), Envelope::default())
            .await
            .unwrap();
    }
    for expected in &sent {
        let delivery = recv(&mut subscription).await;
        assert_eq!(&delivery.message, expected);
        delivery.ack().await.unwrap();
    }
}

async fn dropped_subscription_returns_unacked_deliveries(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut first = test.bus.subscribe(Destination::Status).await.unwrap();
    test.bus
        .publish(Destination::Status, event(1), Envelope::default())
        .await
        .unwrap();
    let unsettled = recv(&mut first).await;
    assert!(!unsettled.redelivered);
    drop(first);

    let mut second = test.bus.subscribe(Destination::Status).await.unwrap();
    let again = recv(&mut second).await;
    assert_eq!(again.message, event(1));
    assert!(again.redelivered);
    // Settling a delivery of the dropped subscription is harmless.
    unsettled.ack().await.unwrap();
    again.ack().await.unwrap();
}

async fn dropped_delivery_is_redelivered(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(INFRA).await.unwrap();
    test.bus
        .publish(INFRA, infra_item("work-1"), Envelope::default())
        .await
        .unwrap();
    drop(recv(&mut subscription).await);

    let again = recv(&mut subscription).await;
    assert_eq!(again.message, infra_item("work-1"));
    assert!(again.redelivered);
    again.ack().await.unwrap();
}

async fn retry_redelivers(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(INFRA).await.unwrap();
    test.bus
        .publish(INFRA, infra_item("work-1"), Envelope::default())
        .await
        .unwrap();
    recv(&mut subscription).await.retry().await.unwrap();

    let again = recv(&mut subscription).await;
    assert_eq!(again.message, infra_item("work-1"));
    assert!(again.redelivered);
    again.ack().await.unwrap();
}

async fn delivery_limit_dead_letters(backend: Backend) {
    let settings = BusSettings {
        delivery_limit: 2,
        ..BusSettings::default()
    };
    let test = TestBus::with_settings(backend, settings.clone()).await;
    let mut subscription = test.bus.subscribe(Destination::Status).await.unwrap();
    let mut dead_letters = test.bus.subscribe_dead_letters().await.unwrap();
    test.bus
        .publish(Destination::Status, event(1), Envelope::default())
        .await
        .unwrap();

    // Delivered once, then once more for each of the `delivery_limit` allowed returns.
    for attempt in 0..=settings.delivery_limit {
        let delivery = recv(&mut subscription).await;
        assert_eq!(delivery.message, event(1));
        assert_eq!(delivery.redelivered, attempt > 0);
        delivery.retry().await.unwrap();
    }
    let letter = recv_dead(&mut dead_letters).await;
    assert_eq!(letter.code, BusErrorCode::DeliveryLimitExceeded);
    assert_eq!(letter.original_queue, "chiffon.status");
    assert_eq!(
        letter.message.headers[headers::ERROR_CODE],
        "BUS_ERROR_CODE_DELIVERY_LIMIT_EXCEEDED"
    );
    assert_eq!(
        codec::decode(Destination::Status, &letter.message)
            .unwrap()
            .0,
        event(1)
    );

    // The next delivery is a new message: the dead-lettered one is gone from the queue.
    test.bus
        .publish(Destination::Status, event(2), Envelope::default())
        .await
        .unwrap();
    let next = recv(&mut subscription).await;
    assert_eq!(next.message, event(2));
    next.ack().await.unwrap();
}

async fn consumer_can_dead_letter(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(INFRA).await.unwrap();
    let mut dead_letters = test.bus.subscribe_dead_letters().await.unwrap();
    test.bus
        .publish(INFRA, infra_item("work-1"), Envelope::default())
        .await
        .unwrap();
    let delivery = recv(&mut subscription).await;
    delivery
        .dead_letter(
            BusErrorCode::InvalidMessage,
            "the plan step no longer exists",
        )
        .await
        .unwrap();

    let letter = recv_dead(&mut dead_letters).await;
    assert_eq!(letter.code, BusErrorCode::InvalidMessage);
    assert_eq!(letter.reason, "the plan step no longer exists");
    assert_eq!(letter.original_queue, "chiffon.work.infra");
    assert_eq!(
        letter.message.headers[headers::ERROR],
        "the plan step no longer exists"
    );
    assert_eq!(
        letter.message.headers[headers::IDEMPOTENCY_KEY],
        "work:work-1"
    );
    assert_eq!(
        codec::decode(INFRA, &letter.message).unwrap().0,
        infra_item("work-1")
    );
}

/// Publishes `bad` and then `good` raw to `destination`: the subscription must skip `bad`
/// (dead-lettered with `code`) and deliver `good`.
async fn assert_dead_lettered(
    backend: Backend,
    destination: Destination,
    bad: RawMessage,
    good: BusMessage,
    code: BusErrorCode,
) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(destination).await.unwrap();
    let mut dead_letters = test.bus.subscribe_dead_letters().await.unwrap();
    test.bus
        .publish_raw(destination, bad.clone())
        .await
        .unwrap();
    test.bus
        .publish(destination, good.clone(), Envelope::default())
        .await
        .unwrap();

    let delivery = recv(&mut subscription).await;
    assert_eq!(delivery.message, good);
    delivery.ack().await.unwrap();

    let letter = recv_dead(&mut dead_letters).await;
    assert_eq!(letter.code, code, "{}", letter.reason);
    assert!(!letter.reason.is_empty());
    assert_eq!(letter.message.body, bad.body);
    assert_eq!(
        letter.message.headers[headers::ERROR_CODE],
        code.as_str_name()
    );
    assert_eq!(letter.message.headers[headers::ERROR], letter.reason);
    for (name, value) in &bad.headers {
        assert_eq!(
            letter.message.headers.get(name),
            Some(value),
            "header {name}"
        );
    }
    if destination == Destination::Control {
        // Each control subscription reads a queue of its own.
        assert!(!letter.original_queue.is_empty());
    } else {
        assert_eq!(letter.original_queue, destination.name());
    }
}

fn encoded(message: &BusMessage) -> RawMessage {
    codec::encode(message, &Envelope::default())
}

async fn malformed_body_is_dead_lettered(backend: Backend) {
    let mut bad = encoded(&event(1));
    bad.body = vec![0xff, 0xff, 0xff, 0xff];
    assert_dead_lettered(
        backend,
        Destination::Status,
        bad,
        event(2),
        BusErrorCode::MalformedPayload,
    )
    .await;
}

async fn unknown_type_is_dead_lettered(backend: Backend) {
    let mut bad = encoded(&infra_item("work-1"));
    bad.headers
        .insert(headers::MESSAGE_TYPE.into(), "chiffon.v1.Teapot".into());
    let good = infra_item("work-2");
    assert_dead_lettered(backend, INFRA, bad, good, BusErrorCode::UnknownMessageType).await;
}

async fn missing_protocol_version_is_dead_lettered(backend: Backend) {
    let mut bad = encoded(&infra_item("work-1"));
    bad.headers.remove(headers::PROTOCOL_VERSION);
    let good = infra_item("work-2");
    assert_dead_lettered(
        backend,
        INFRA,
        bad,
        good,
        BusErrorCode::UnsupportedProtocolVersion,
    )
    .await;
}

async fn unsupported_protocol_version_is_dead_lettered(backend: Backend) {
    let mut bad = encoded(&event(1));
    bad.headers
        .insert(headers::PROTOCOL_VERSION.into(), "2.0".into());
    assert_ne!(PROTOCOL_VERSION, "2.0");
    let code = BusErrorCode::UnsupportedProtocolVersion;
    assert_dead_lettered(backend, Destination::Status, bad, event(2), code).await;
}

async fn invalid_message_is_dead_lettered(backend: Backend) {
    // Sequences start at 1, so this event could never be deduplicated.
    let bad = encoded(&event(0));
    let code = BusErrorCode::InvalidMessage;
    assert_dead_lettered(backend, Destination::Status, bad, event(1), code).await;
}

async fn wrong_type_for_queue_is_dead_lettered(backend: Backend) {
    let bad = encoded(&cancel("work-1"));
    assert_dead_lettered(
        backend,
        Destination::Status,
        bad,
        result(),
        BusErrorCode::WrongQueue,
    )
    .await;
}

async fn wrong_agent_kind_is_dead_lettered(backend: Backend) {
    let bad = encoded(&work_item("work-1", AgentKind::Desktop));
    let good = infra_item("work-2");
    assert_dead_lettered(backend, INFRA, bad, good, BusErrorCode::WrongQueue).await;
}

async fn bad_control_message_is_dead_lettered(backend: Backend) {
    let mut bad = encoded(&cancel("work-1"));
    bad.headers
        .insert(headers::PROTOCOL_VERSION.into(), "3.1".into());
    let code = BusErrorCode::UnsupportedProtocolVersion;
    assert_dead_lettered(backend, Destination::Control, bad, cancel("work-2"), code).await;
}

async fn control_reaches_every_subscriber(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut first = test.bus.subscribe(Destination::Control).await.unwrap();
    let mut second = test.bus.subscribe(Destination::Control).await.unwrap();
    test.bus
        .publish(Destination::Control, cancel("work-1"), Envelope::default())
        .await
        .unwrap();

    for subscription in [&mut first, &mut second] {
        let delivery = recv(subscription).await;
        assert_eq!(delivery.message, cancel("work-1"));
        assert_eq!(delivery.envelope.idempotency_key, "cancel:work-1");
        delivery.ack().await.unwrap();
    }
}

async fn publish_refuses_wrong_destinations_and_invalid_messages(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(INFRA).await.unwrap();
    let refused = [
        (INFRA, work_item("work-1", AgentKind::Desktop)),
        (DESKTOP, infra_item("work-1")),
        (Destination::Status, infra_item("work-1")),
        (INFRA, cancel("work-1")),
        (INFRA, event(1)),
        (Destination::Control, event(1)),
        (Destination::Control, result()),
        (Destination::Status, cancel("work-1")),
    ];
    for (destination, message) in refused {
        let error = test
            .bus
            .publish(destination, message.clone(), Envelope::default())
            .await;
        match error {
            Err(BusError::WrongDestination {
                message_type,
                destination: name,
            }) => {
                assert_eq!(message_type, message.type_name());
                assert_eq!(name, destination.name());
            }
            other => panic!("{} to {destination:?}: {other:?}", message.type_name()),
        }
    }

    let invalid = test
        .bus
        .publish(Destination::Status, event(0), Envelope::default())
        .await;
    assert!(
        matches!(invalid, Err(BusError::InvalidMessage { .. })),
        "{invalid:?}"
    );
    let mut oversized = encoded(&infra_item("work-1"));
    oversized.headers.insert("x".repeat(300), String::new());
    let invalid = test.bus.publish_raw(INFRA, oversized).await;
    assert!(
        matches!(invalid, Err(BusError::InvalidMessage { .. })),
        "{invalid:?}"
    );
    let nowhere = Destination::Work(AgentKind::Unspecified);
    let unknown = test
        .bus
        .publish_raw(nowhere, encoded(&infra_item("work-1")))
        .await;
    assert!(
        matches!(unknown, Err(BusError::UnknownDestination { .. })),
        "{unknown:?}"
    );
    let unknown = test.bus.subscribe(nowhere).await.err();
    assert!(
        matches!(unknown, Some(BusError::UnknownDestination { .. })),
        "{unknown:?}"
    );

    // Nothing refused reached the queue: the first delivery is the first accepted message.
    test.bus
        .publish(INFRA, infra_item("work-2"), Envelope::default())
        .await
        .unwrap();
    let delivery = recv(&mut subscription).await;
    assert_eq!(delivery.message, infra_item("work-2"));
    delivery.ack().await.unwrap();
}

async fn shutdown_ends_the_bus(backend: Backend) {
    let test = TestBus::open(backend).await;
    let mut subscription = test.bus.subscribe(Destination::Status).await.unwrap();
    let mut dead_letters = test.bus.subscribe_dead_letters().await.unwrap();
    test.shutdown.cancel();

    let next = tokio::time::timeout(GUARD, subscription.next())
        .await
        .expect("next() hung");
    assert!(next.is_none());
    let next = tokio::time::timeout(GUARD, dead_letters.next())
        .await
        .expect("next() hung");
    assert!(next.is_none());
    let published = test
        .bus
        .publish(Destination::Status, event(1), Envelope::default())
        .await;
    assert!(matches!(published, Err(BusError::Closed)), "{published:?}");
    let subscribed = test.bus.subscribe(Destination::Status).await.err();
    assert!(
        matches!(subscribed, Some(BusError::Closed)),
        "{subscribed:?}"
    );
}
