//! Opening the database and bringing its schema up to date.

use chiffon_migration::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Connects to `url` (`postgres://…` or `sqlite://…`) and applies pending migrations.
///
/// SQLite gets a single connection: it allows one writer at a time anyway, and one connection
/// turns would-be "database is locked" errors into an orderly queue.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(1);
    }
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}
