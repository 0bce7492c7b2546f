//! RabbitMQ only: the bus heals itself across a broker restart. Stops the shared test broker, so
//! it holds the exclusive broker lock while it runs.

mod common;

use chiffon_bus::rabbitmq::RabbitBus;
use chiffon_bus::testing::{self, BrokerLock, RabbitVhost};
use chiffon_bus::{Bus, BusSettings, Destination, Envelope};
use common::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn subscriptions_and_publishes_survive_a_broker_restart() {
    install_tracing();
    let _lock = BrokerLock::exclusive();
    let vhost = RabbitVhost::create();
    let shutdown = CancellationToken::new();
    let settings = BusSettings {
        max_reconnect_backoff: Duration::from_millis(500),
        ..BusSettings::default()
    };
    let bus = RabbitBus::connect(&vhost.amqp_url(), settings, shutdown.clone())
        .await
        .unwrap();
    let mut status = bus.subscribe(Destination::Status).await.unwrap();

    let stopped = testing::stop_broker().await;
    // Issued while the broker is down: it must wait for the reconnection, not fail.
    let during_outage = bus.publish(Destination::Status, event(1), Envelope::default());
    let (published, ()) = tokio::join!(during_outage, stopped.start());
    published.expect("a publish issued during the outage succeeds after recovery");

    let delivery = recv(&mut status).await;
    assert_eq!(delivery.message, event(1));
    delivery.ack().await.unwrap();

    bus.publish(Destination::Status, event(2), Envelope::default())
        .await
        .unwrap();
    let delivery = recv(&mut status).await;
    assert_eq!(delivery.message, event(2));
    delivery.ack().await.unwrap();

    shutdown.cancel();
    tokio::time::timeout(GUARD, bus.closed())
        .await
        .expect("the bus stops after shutdown");
}
