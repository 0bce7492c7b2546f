//! The supervisor: the one task that owns the connection, notices when it is lost and replaces
//! it, and closes it on shutdown.
//!
//! Everyone else only reads the current connection from a watch channel, so a reconnect happens
//! once per outage however many publishers and consumers noticed it.

use super::link::{Link, open_link};
use super::reconnect_backoff;
use crate::BusSettings;
use futures::StreamExt as _;
use lapin::Event;
use lapin::uri::AMQPUri;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often the supervisor checks the connection state. lapin reports a close initiated by
/// the broker (for instance on shutdown) only through the connection status, not as an event.
const LIVENESS_POLL: Duration = Duration::from_millis(250);
/// Longest wait for a clean connection close on shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Owns the connection: watches it, replaces it when it is lost, closes it on shutdown.
pub(super) struct Supervisor {
    pub(super) uri: AMQPUri,
    /// Broker URL without credentials, for logs.
    pub(super) address: String,
    pub(super) settings: BusSettings,
    pub(super) shutdown: CancellationToken,
    /// Publishes the current connection; `None` while reconnecting.
    pub(super) link_tx: watch::Sender<Option<Arc<Link>>>,
}

impl Supervisor {
    /// Runs until shutdown, starting with the connection `link`.
    pub(super) async fn run(self, mut link: Arc<Link>) {
        loop {
            let lost = self.watch(&link).await;
            self.link_tx.send_replace(None);
            let Some(reason) = lost else {
                let close = link
                    .connection
                    .close(lapin::protocol::constants::REPLY_SUCCESS, "shutdown".into());
                if let Ok(Err(error)) = tokio::time::timeout(CLOSE_TIMEOUT, close).await {
                    tracing::debug!(address = %self.address, %error, "closing the broker connection");
                }
                return;
            };
            tracing::warn!(
                address = %self.address,
                %reason,
                "lost the connection to the message broker; reconnecting"
            );
            let Some(next) = self.reconnect(link.generation + 1).await else {
                return;
            };
            tracing::info!(address = %self.address, "reconnected to the message broker");
            link = next;
            self.link_tx.send_replace(Some(link.clone()));
        }
    }

    /// Returns why the connection was lost, or `None` when the bus is shutting down.
    async fn watch(&self, link: &Link) -> Option<String> {
        let events = link.connection.events_listener();
        tokio::pin!(events);
        let mut poll = tokio::time::interval(LIVENESS_POLL);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                event = events.next() => match event {
                    Some(Event::Error(error)) => return Some(error.to_string()),
                    Some(_) => {}
                    None => return Some("the connection ended".to_owned()),
                },
                _ = poll.tick() => {
                    if !link.is_connected() {
                        return Some("the broker closed the connection".to_owned());
                    }
                }
            }
        }
    }

    /// Retries until a new connection is up; `None` when the bus shuts down meanwhile.
    async fn reconnect(&self, generation: u64) -> Option<Arc<Link>> {
        let mut backoff = reconnect_backoff(&self.settings);
        loop {
            let attempt = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                attempt = open_link(&self.uri, &self.settings, generation) => attempt,
            };
            let reason = match attempt {
                Ok(link) => return Some(Arc::new(link)),
                Err(reason) => reason,
            };
            let retry_in = backoff.next_delay();
            tracing::warn!(
                address = %self.address,
                %reason,
                retry_in_ms = retry_in.as_millis(),
                "could not reconnect to the message broker"
            );
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                () = self.link_tx.closed() => return None,
                () = tokio::time::sleep(retry_in) => {}
            }
        }
    }
}
