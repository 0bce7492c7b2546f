//! Waiting between attempts, and logging failures once rather than on every attempt.

use std::fmt::Display;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) use chiffon_bus::Backoff;

/// Sleeps for `delay`; false if `stop` fired first.
pub(crate) async fn sleep_unless(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = stop.cancelled() => false,
    }
}

/// Logs a repeating failure once per kind (e.g. per gRPC status code) at warning level and the
/// repeats at debug level, so an orchestrator that is down for an hour does not flood the log.
#[derive(Debug)]
pub(crate) struct FailureLog {
    what: &'static str,
    /// What happens next, said after each first failure of a kind.
    follow_up: &'static str,
    last_kind: Option<String>,
}

impl FailureLog {
    /// A log for attempts at `what`, e.g. "registering with the orchestrator", that are retried
    /// until they work.
    pub(crate) fn new(what: &'static str) -> Self {
        Self::with_follow_up(what, "retrying until it works")
    }

    /// A log for attempts at `what` whose failures lead to `follow_up`, e.g. "trying again when
    /// the repository changes".
    pub(crate) fn with_follow_up(what: &'static str, follow_up: &'static str) -> Self {
        Self {
            what,
            follow_up,
            last_kind: None,
        }
    }

    /// Records a failed attempt of the given kind.
    pub(crate) fn failed(&mut self, kind: impl Into<String>, error: &dyn Display) {
        let kind = kind.into();
        if self.last_kind.as_ref() == Some(&kind) {
            tracing::debug!(%error, "{} failed again; {}", self.what, self.follow_up);
        } else {
            tracing::warn!(%error, "{} failed; {}", self.what, self.follow_up);
            self.last_kind = Some(kind);
        }
    }

    /// Records a success, saying so if it ends a run of failures.
    pub(crate) fn succeeded(&mut self) {
        if self.last_kind.take().is_some() {
            tracing::info!("{} works again", self.what);
        }
    }
}

/// The kind of a gRPC failure, for [`FailureLog`].
pub(crate) fn status_kind(status: &tonic::Status) -> String {
    format!("{:?}", status.code())
}

/// The kind of a bus failure, for [`FailureLog`].
pub(crate) fn bus_error_kind(error: &chiffon_bus::BusError) -> String {
    variant_name(error)
}

/// The name of an error enum's variant, taken from its `Debug` form so that new variants need
/// no change here; the kind of a failure for [`FailureLog`].
pub(crate) fn variant_name(error: &dyn std::fmt::Debug) -> String {
    format!("{error:?}")
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect()
}

/// True for bus errors that retrying cannot fix: the message or destination is wrong (a bug), or
/// the bus was shut down.
pub(crate) fn is_permanent(error: &chiffon_bus::BusError) -> bool {
    use chiffon_bus::BusError;
    matches!(
        error,
        BusError::WrongDestination { .. }
            | BusError::InvalidMessage { .. }
            | BusError::UnknownDestination { .. }
            | BusError::InvalidUrl(_)
            | BusError::Closed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_errors_are_grouped_by_variant() {
        let error = chiffon_bus::BusError::Unavailable {
            address: "a".into(),
            reason: "b".into(),
        };
        assert_eq!(bus_error_kind(&error), "Unavailable");
        assert_eq!(bus_error_kind(&chiffon_bus::BusError::Closed), "Closed");
        assert!(!is_permanent(&error));
        assert!(is_permanent(&chiffon_bus::BusError::Closed));
    }

    #[tokio::test]
    async fn sleeping_stops_early_when_told() {
        let stop = CancellationToken::new();
        stop.cancel();
        assert!(!sleep_unless(Duration::from_secs(3600), &stop).await);
        assert!(sleep_unless(Duration::ZERO, &CancellationToken::new()).await);
    }
}
