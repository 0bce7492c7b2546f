//! What the bus test binaries share: a bus per test on either backend, sample messages, and
//! receive helpers whose timeouts only guard against hanging.

#![allow(dead_code)] // Each test binary uses its own subset.

use chiffon_bus::memory::MemoryBus;
use chiffon_bus::rabbitmq::RabbitBus;
use chiffon_bus::testing::{BrokerLock, RabbitVhost};
use chiffon_bus::{
    Bus, BusMessage, BusSettings, DeadLetter, DeadLetterSubscription, Delivery, Destination,
    Subscription,
};
use chiffon_proto::v1::{AgentKind, CancelWork, WorkEvent, WorkItem, WorkResult, WorkStatus};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits for; reaching it means the test failed.
pub const GUARD: Duration = Duration::from_secs(30);

pub const INFRA: Destination = Destination::Work(AgentKind::Infra);
pub const DESKTOP: Destination = Destination::Work(AgentKind::Desktop);

/// Which implementation a conformance test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Memory,
    RabbitMq,
}

/// A bus for one test. On RabbitMQ it lives in a vhost of its own, deleted afterwards.
pub struct TestBus {
    pub bus: Arc<dyn Bus>,
    pub shutdown: CancellationToken,
    // Dropped in this order after the bus: the vhost while the lock is still held.
    _vhost: Option<RabbitVhost>,
    _lock: Option<BrokerLock>,
}

impl TestBus {
    pub async fn open(backend: Backend) -> TestBus {
        TestBus::with_settings(backend, BusSettings::default()).await
    }

    pub async fn with_settings(backend: Backend, settings: BusSettings) -> TestBus {
        install_tracing();
        let shutdown = CancellationToken::new();
        match backend {
            Backend::Memory => TestBus {
                bus: Arc::new(MemoryBus::new(settings, shutdown.clone())),
                shutdown,
                _vhost: None,
                _lock: None,
            },
            Backend::RabbitMq => {
                let lock = BrokerLock::shared();
                let vhost = RabbitVhost::create();
                let bus = RabbitBus::connect(&vhost.amqp_url(), settings, shutdown.clone())
                    .await
                    .expect("connect to the test broker");
                TestBus {
                    bus: Arc::new(bus),
                    shutdown,
                    _vhost: Some(vhost),
                    _lock: Some(lock),
                }
            }
        }
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Records spans with OpenTelemetry for the whole test process, so trace propagation can be
/// checked; logs go to the test output when `RUST_LOG` asks for them. A process-wide subscriber,
/// because per-thread ones race with span callsites first seen by concurrent tests.
pub fn install_tracing() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    static PROVIDER: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let logs = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
            );
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bus-tests")))
            .with(logs);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global tracing subscriber in the bus tests");
        provider
    });
}

/// The next delivery, failing the test when none arrives.
pub async fn recv(subscription: &mut Subscription) -> Delivery {
    tokio::time::timeout(GUARD, subscription.next())
        .await
        .expect("no delivery arrived in time")
        .expect("the subscription ended")
}

/// The next dead letter, failing the test when none arrives.
pub async fn recv_dead(subscription: &mut DeadLetterSubscription) -> DeadLetter {
    tokio::time::timeout(GUARD, subscription.next())
        .await
        .expect("no dead letter arrived in time")
        .expect("the dead-letter subscription ended")
}

pub fn work_item(work_id: &str, kind: AgentKind) -> BusMessage {
    BusMessage::WorkItem(WorkItem {
        work_id: work_id.into(),
        request_id: "request-1".into(),
        plan_id: "plan-1".into(),
        step_id: "step-1".into(),
        attempt: 1,
        agent_kind: kind as i32,
        plan_content_hash: "sha256:abc".into(),
        ..Default::default()
    })
}

pub fn infra_item(work_id: &str) -> BusMessage {
    work_item(work_id, AgentKind::Infra)
}

pub fn event(sequence: i64) -> BusMessage {
    BusMessage::WorkEvent(WorkEvent {
        work_id: "work-1".into(),
        request_id: "request-1".into(),
        step_id: "step-1".into(),
        agent_id: "agent-1".into(),
        sequence,
        ..Default::default()
    })
}

pub fn result() -> BusMessage {
    BusMessage::WorkResult(WorkResult {
        work_id: "work-1".into(),
        request_id: "request-1".into(),
        step_id: "step-1".into(),
        agent_id: "agent-1".into(),
        status: WorkStatus::Succeeded as i32,
        event_count: 3,
        ..Default::default()
    })
}

pub fn cancel(work_id: &str) -> BusMessage {
    BusMessage::CancelWork(CancelWork {
        work_id: work_id.into(),
        request_id: "request-1".into(),
        reason: "the user aborted the request".into(),
    })
}
