//! One connection to the broker: connecting, declaring the topology on it and publishing with
//! confirms over its shared channel.
//!
//! A `Link` is what the supervisor replaces after an outage; everything that needs the broker
//! borrows the current one and tells a failed connection from a failed channel by asking it.

use super::topology::{Target, declare_topology};
use crate::BusSettings;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::time::Duration;
use tokio::sync::Mutex;

/// Longest wait for TCP connect plus AMQP handshake before an attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to the broker with the topology declared on it.
pub(super) struct Link {
    /// Increases with every reconnection.
    pub(super) generation: u64,
    pub(super) connection: Connection,
    /// Channel in confirm mode that every publish shares; replaced when it fails.
    publisher: Mutex<Option<Channel>>,
}

impl Link {
    pub(super) fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// A new channel on this connection.
    pub(super) async fn open_channel(&self) -> Result<Channel, String> {
        self.connection
            .create_channel()
            .await
            .map_err(|error| format!("opening a channel: {error}"))
    }

    async fn publisher(&self) -> lapin::Result<Channel> {
        let mut publisher = self.publisher.lock().await;
        if let Some(channel) = publisher
            .as_ref()
            .filter(|channel| channel.status().connected())
        {
            return Ok(channel.clone());
        }
        let channel = self.connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *publisher = Some(channel.clone());
        Ok(channel)
    }

    pub(super) async fn reset_publisher(&self) {
        *self.publisher.lock().await = None;
    }

    pub(super) async fn publish(
        &self,
        target: &Target,
        body: &[u8],
        properties: BasicProperties,
    ) -> lapin::Result<Confirmation> {
        let channel = self.publisher().await?;
        let options = BasicPublishOptions {
            mandatory: target.mandatory,
            immediate: false,
        };
        channel
            .basic_publish(
                target.exchange.into(),
                target.routing_key.as_str().into(),
                options,
                body,
                properties,
            )
            .await?
            .await
    }
}

/// Connects, declares the topology and opens the confirm-mode publish channel.
pub(super) async fn open_link(
    uri: &AMQPUri,
    settings: &BusSettings,
    generation: u64,
) -> Result<Link, String> {
    let properties = ConnectionProperties::default()
        .with_connection_name(format!("chiffon (pid {})", std::process::id()).into());
    let connection = tokio::time::timeout(
        CONNECT_TIMEOUT,
        Connection::connect_uri(uri.clone(), properties),
    )
    .await
    .map_err(|_| format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))?
    .map_err(|error| error.to_string())?;
    let mut link = Link {
        generation,
        connection,
        publisher: Mutex::new(None),
    };
    let channel = link.open_channel().await?;
    declare_topology(&channel, settings).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|error| format!("enabling publisher confirms: {error}"))?;
    *link.publisher.get_mut() = Some(channel);
    Ok(link)
}
