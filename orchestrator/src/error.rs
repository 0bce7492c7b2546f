//! The orchestrator's error type. Every failure a caller can cause or observe is one variant with
//! a message written for that caller; `grpc::status` turns it into a gRPC status in one place.

use chiffon_bus::BusError;
use sea_orm::DbErr;

/// Why an orchestrator operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// The caller sent something unusable; the message says what and how to fix it.
    #[error("{0}")]
    InvalidArgument(String),
    /// The named thing does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up, e.g. "request".
        what: &'static str,
        /// The id the caller gave.
        id: String,
    },
    /// The operation is valid in general but not in the current state, e.g. approving a
    /// superseded revision.
    #[error("{0}")]
    FailedPrecondition(String),
    /// An agent process the orchestrator does not know (or no longer knows) made a call.
    #[error("agent {agent_id} with instance {instance_id} is not registered; register again")]
    UnknownAgent {
        /// The agent's id.
        agent_id: String,
        /// The process id it gave.
        instance_id: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// The message bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// Stored data could not be decoded; a bug or a manual edit of the database.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
}

impl OrchestratorError {
    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }

    /// True unless retrying the same operation can only fail the same way: the database or
    /// the bus may come back, a corrupt row or a missing one will not.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Bus(_))
    }

    pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Result of orchestrator operations.
pub type Result<T, E = OrchestratorError> = std::result::Result<T, E>;
