//! Chiffon's orchestrator: it turns requests into plans, holds them for approval, dispatches the
//! approved steps to agents over the bus and records everything that happens.
//!
//! - [`grpc`] parses, checks and translates what callers send, and [`server`] serves it all over
//!   one gRPC port;
//! - [`engine`] carries out each operation in one transaction, split by aggregate;
//! - `machine` decides what happens next in a request's life, as pure functions, on the
//!   [`domain`] types the engine works with;
//! - [`store`] is the only code that reads and writes the database (sea-orm), turning rows into
//!   domain values and back;
//! - [`planner`] turns a request's text into steps from the agents' catalogs, using
//!   [`mapping`], which ranks catalog playbooks for a task with a confidence and reasons;
//! - [`catalog`] holds the rules a reported catalog follows and the listing filter;
//! - [`suggestions`] holds the suggestion listing filter and what accepting one means;
//! - [`events`] records each request's history and streams it to watchers;
//! - `dispatch`, `status` and `reaper` are the background tasks that publish work, consume
//!   agents' reports and notice agents that went silent.
//!
//! Invariant: nothing is published to a work queue unless the plan revision it belongs to has
//! an approval row bound to its content hash.

pub mod catalog;
pub mod convert;
mod dispatch;
pub mod domain;
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
