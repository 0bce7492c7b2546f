//! The one error type of this crate.
//!
//! Failures of a single piece of work (a playbook that fails, a path outside the repository, a
//! timeout) are not errors here: they are [`crate::RunOutcome`]s reported to the orchestrator.
//! [`AgentError`] is for what stops an agent from starting or running at all.

use std::path::PathBuf;

/// What can stop an agent, or make a configuration value unusable.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The infrastructure repository is missing or unreadable.
    #[error("the infrastructure repository {} cannot be used: {reason}", path.display())]
    Repository {
        /// The repository path as configured.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A `--var KEY=VALUE` argument could not be understood.
    #[error("invalid --var {key:?}=…: {reason}")]
    InvalidVar {
        /// The argument's key (what precedes `=`); the value is left out because it may be a
        /// secret.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration setting has a value the agent cannot work with.
    #[error("invalid setting {setting}: {reason}")]
    Config {
        /// Name of the setting, as the operator knows it.
        setting: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// The orchestrator answered with an error that retrying cannot fix (e.g. an invalid agent
    /// id), so the agent gives up instead of retrying forever.
    #[error("the orchestrator refused agent {agent_id}: {message} ({code:?})")]
    Rejected {
        /// The agent's id.
        agent_id: String,
        /// The gRPC status code of the refusal.
        code: tonic::Code,
        /// The orchestrator's explanation.
        message: String,
    },

    /// The message bus failed in a way the agent cannot recover from.
    #[error("the message bus failed: {0}")]
    Bus(#[from] chiffon_bus::BusError),

    /// A background task of the agent panicked; this is a bug.
    #[error("internal error in the agent: {0}")]
    Internal(String),
}
