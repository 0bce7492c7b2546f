//! The orchestrator's rows in PostgreSQL or SQLite: the only module that knows sea-orm.
//!
//! The engine decides what changes and in which transaction; the functions here say how a
//! change is written and how a question is read, one aggregate per module. Reads take any
//! connection (the pool or an open transaction); writes take the transaction the engine opened,
//! so every change and the events that report it commit together.

mod connect;
pub use connect::connect;

pub(crate) mod agents;
pub(crate) mod catalog;
pub(crate) mod events;
pub(crate) mod plans;
pub(crate) mod requests;
mod rows;
pub(crate) mod steps;
pub(crate) mod suggestions;

use crate::error::Result;
use sea_orm::TransactionTrait as _;

/// The database the orchestrator keeps its state in (a pool, cheap to clone).
pub type Database = sea_orm::DatabaseConnection;

/// Anything a read can run on: the database or an open transaction.
pub(crate) use sea_orm::ConnectionTrait as Reader;

/// An open transaction; dropped without [`commit`] it rolls back.
pub(crate) type Transaction = sea_orm::DatabaseTransaction;

/// Opens a transaction.
pub(crate) async fn begin(db: &Database) -> Result<Transaction> {
    Ok(db.begin().await?)
}

/// Commits a transaction.
pub(crate) async fn commit(txn: Transaction) -> Result<()> {
    Ok(txn.commit().await?)
}

/// The current time as stored in rows.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
