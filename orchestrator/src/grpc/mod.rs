//! The gRPC services: thin adapters that validate requests, call the [`Orchestrator`] and turn
//! its answers into `chiffon.v1` messages. Ids and run options are parsed and checked here, so
//! the engine takes typed values; errors become statuses here and nowhere else.
//!
//! [`Orchestrator`]: crate::Orchestrator

mod agent;
mod catalog;
mod orchestrator;
mod suggestion;

pub use agent::AgentApi;
pub use catalog::CatalogApi;
pub use orchestrator::OrchestratorApi;
pub use suggestion::SuggestionApi;

use crate::error::OrchestratorError;
use tonic::Status;
use uuid::Uuid;

/// The id a caller sent in `field` (a UUID from an earlier answer).
fn id(field: &str, value: &str) -> Result<Uuid, Status> {
    Ok(crate::validate::parse_id(field, value)?)
}

impl From<OrchestratorError> for Status {
    fn from(error: OrchestratorError) -> Self {
        let message = error.to_string();
        match error {
            OrchestratorError::InvalidArgument(_) => Status::invalid_argument(message),
            OrchestratorError::NotFound { .. } | OrchestratorError::UnknownAgent { .. } => {
                Status::not_found(message)
            }
            OrchestratorError::FailedPrecondition(_) => Status::failed_precondition(message),
            OrchestratorError::Database(error) => {
                tracing::error!(%error, "database operation failed");
                Status::unavailable("the orchestrator's database is unavailable; try again shortly")
            }
            OrchestratorError::Bus(_) => Status::unavailable(message),
            OrchestratorError::Corrupt { .. } => {
                tracing::error!(%message, "stored data is corrupt");
                Status::internal(message)
            }
        }
    }
}
