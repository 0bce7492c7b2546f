//! Chiffon's agents.
//!
//! Every agent kind shares one [`runtime`]: it registers with the orchestrator, heartbeats,
//! consumes its kind's work queue, claims each work item before running it, streams progress
//! and the result back on the bus, and honours cancellations. Kinds differ only in their
//! [`runtime::Executor`]. The first kind is the [`infra`] agent, whose executor runs
//! `ansible-playbook` ([`ansible`]) on playbooks of an infrastructure repository
//! ([`catalog`]). For the repository itself the infra agent lints it and fixes what the user
//! accepts ([`suggest`]) and scaffolds playbooks for new services ([`template`]), each time on
//! a new branch made with [`git`], never in the user's working tree.
//!
//! Architecture invariants: agents never touch the database (they only speak gRPC to the
//! orchestrator and publish on the bus); a work item runs only after the orchestrator granted
//! this process its claim; every task an agent spawns is owned and ends with the agent.

#![warn(missing_docs)]

pub mod ansible;
pub mod catalog;
mod error;
pub mod git;
pub mod infra;
mod outcome;
pub mod runtime;
pub mod suggest;
pub mod template;

pub use error::AgentError;
pub use outcome::RunOutcome;
