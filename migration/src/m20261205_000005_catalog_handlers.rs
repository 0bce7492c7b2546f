//! Handlers in the catalog: `catalog_playbooks` gain `handlers`, a JSON array of the names of the
//! handlers a playbook's plays and roles define ("Restart jellyfin"), which run when its tasks
//! notify them. Parts carry theirs inside the `parts` JSON.
//!
//! The column defaults to an empty array, so rows written before this migration stay valid on
//! both backends until the agent's next registration replaces its catalog.

use sea_orm_migration::{prelude::*, schema::*};

/// The migration adding the handlers of catalog playbooks.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CatalogPlaybooks::Table)
                    .add_column(
                        json_binary(CatalogPlaybooks::Handlers)
                            .default(Expr::val("[]"))
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CatalogPlaybooks::Table)
                    .drop_column(CatalogPlaybooks::Handlers)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CatalogPlaybooks {
    Table,
    Handlers,
}
