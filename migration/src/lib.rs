//! Schema migrations of Chiffon's database, for PostgreSQL and SQLite alike.
//!
//! Migrations are written with sea-query builders only (no raw SQL) so that one definition
//! yields the right DDL on both backends. They do not use `chiffon-entity`: a migration has to
//! keep describing the schema as it was when it was written, while entities follow the code.
//!
//! Apply them with [`Migrator::up`](sea_orm_migration::MigratorTrait::up) on a connection:
//!
//! ```no_run
//! use chiffon_migration::{Migrator, MigratorTrait};
//! # async fn run(db: &sea_orm_migration::sea_orm::DatabaseConnection)
//! #     -> Result<(), sea_orm_migration::DbErr> {
//! Migrator::up(db, None).await?;
//! # Ok(())
//! # }
//! ```

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_catalog_details;
mod m20261123_000003_actions_and_suggestions;
mod m20261204_000004_plays_parts_inventories;
mod m20261205_000005_catalog_handlers;

/// Every migration of Chiffon's schema, in the order they apply.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_catalog_details::Migration),
            Box::new(m20261123_000003_actions_and_suggestions::Migration),
            Box::new(m20261204_000004_plays_parts_inventories::Migration),
            Box::new(m20261205_000005_catalog_handlers::Migration),
        ]
    }
}
