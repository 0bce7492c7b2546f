//! Richer catalog entries and the files agents could not index.
//!
//! - `catalog_playbooks` gains the details discovery reports (roles, services, compose stacks,
//!   templates, variables, play names), each a JSON array. They are added with a default of an
//!   empty array so rows written before this migration stay valid on both backends: an agent's
//!   next registration replaces them with full entries anyway.
//! - `catalog_issues` holds, per agent, the repository files that discovery left out (broken
//!   YAML, unparsable playbooks) with the line of the problem.
//!
//! The column types follow the initial migration (`json_binary`: `jsonb` on PostgreSQL, text on
//! SQLite). SQLite accepts one change per `ALTER TABLE`, so each column is its own statement.

use sea_orm_migration::{prelude::*, schema::*};

/// Maximum length of an agent id; must match the initial migration's `agents.id`.
const AGENT_ID_LEN: u32 = 128;

/// The migration adding catalog details and catalog issues.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The JSON array columns this migration adds to `catalog_playbooks`, in order.
const DETAIL_COLUMNS: [CatalogPlaybooks; 6] = [
    CatalogPlaybooks::Roles,
    CatalogPlaybooks::Services,
    CatalogPlaybooks::ComposeStacks,
    CatalogPlaybooks::Templates,
    CatalogPlaybooks::Variables,
    CatalogPlaybooks::Plays,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in DETAIL_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(CatalogPlaybooks::Table)
                        .add_column(json_binary(column).default(Expr::val("[]")))
                        .to_owned(),
                )
                .await?;
        }
        create_catalog_issues(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogIssues::Table).to_owned())
            .await?;
        for column in DETAIL_COLUMNS.into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(CatalogPlaybooks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

async fn create_catalog_issues(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(CatalogIssues::Table)
                .col(pk_uuid(CatalogIssues::Id))
                .col(string_len(CatalogIssues::AgentId, AGENT_ID_LEN))
                .col(string(CatalogIssues::Path))
                .col(integer(CatalogIssues::Line))
                .col(text(CatalogIssues::Message))
                // Inside CREATE TABLE, because SQLite cannot add a foreign key later; an agent's
                // issues go with the agent, like its playbooks.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_catalog_issues_agent_id")
                        .from(CatalogIssues::Table, CatalogIssues::AgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .on_update(ForeignKeyAction::NoAction),
                )
                .to_owned(),
        )
        .await?;
    // Issues are replaced and listed per agent; also serves the cascade from `agents`.
    manager
        .create_index(
            Index::create()
                .name("idx_catalog_issues_agent_id")
                .table(CatalogIssues::Table)
                .col(CatalogIssues::AgentId)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden, Clone, Copy)]
enum CatalogPlaybooks {
    Table,
    Roles,
    Services,
    ComposeStacks,
    Templates,
    Variables,
    Plays,
}

#[derive(DeriveIden)]
enum CatalogIssues {
    Table,
    Id,
    AgentId,
    Path,
    Line,
    Message,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}
