//! Chiffon's orchestrator: it turns requests into plans, holds them for approval, dispatches the
//! approved steps to agents over the bus and records everything that happens.
//!
//! - [`engine`] is the state machine and the only writer of the database;
//! - [`planner`] turns a request's text into steps from the agents' catalogs, using
//!   [`mapping`], which ranks catalog playbooks for a task with a confidence and reasons;
//! - [`catalog`] answers questions about the catalog (list, get, match, issues);
//! - [`suggestions`] checks, lists and explains the ansible-lint findings agents report;
//! - [`events`] records each request's history and streams it to watchers;
//! - `dispatch`, `status` and `reaper` are the background tasks that publish work, consume
//!   agents' reports and notice agents that went silent;
//! - [`grpc`] and [`server`] expose it all over one gRPC port.
//!
//! Invariant: nothing is published to a work queue unless the plan revision it belongs to has
//! an approval row bound to its content hash.

pub mod catalog;
pub mod convert;
mod dispatch;
pub mod engine;
pub mod error;
mod events;
pub mod grpc;
mod machine;
pub mod mapping;
pub mod planner;
mod reaper;
pub mod server;
mod status;
pub mod store;
pub mod suggestions;
mod validate;

pub use engine::{Orchestrator, OrchestratorConfig};
pub use error::{OrchestratorError, Result};
