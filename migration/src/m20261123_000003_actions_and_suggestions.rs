//! Step actions, run options, re-runs and ansible-lint suggestions.
//!
//! - `steps` gain what a step does (`action`: run_playbook, apply_suggestion or
//!   generate_template), the ansible-playbook options of a playbook run (`run_options`, a JSON
//!   object), the suggestion an apply step fixes and the scaffold a template step writes.
//! - `requests` gain the run options they were submitted with, the failed request they re-run
//!   and the suggestion they apply.
//! - `suggestions` holds every finding the agents' lints reported, with its status and history.
//!
//! Columns added to existing tables are nullable or have a default, so rows written before this
//! migration stay valid on both backends: existing steps run playbooks with no options. SQLite
//! accepts one change per `ALTER TABLE` and no foreign key added later, so each column is its own
//! statement and the references added to old tables are plain columns.

use sea_orm_migration::{prelude::*, schema::*};

/// Width of status-like columns; must match `StringLen::N(32)` in the entity enums.
const STATUS_LEN: u32 = 32;
/// Maximum length of an agent id, and of the finding ids agents report.
const AGENT_ID_LEN: u32 = 128;
/// Maximum length of a stored suggestion id: an agent id, `:` and a finding id.
const SUGGESTION_ID_LEN: u32 = 2 * AGENT_ID_LEN + 1;

/// The migration adding step actions, run options, re-runs and suggestions.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in added_columns() {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        create_suggestions(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Suggestions::Table).to_owned())
            .await?;
        for (table, column) in added_columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The columns this migration adds to existing tables, in order.
fn added_columns() -> Vec<(DynIden, ColumnDef)> {
    let steps = || Steps::Table.into_iden();
    let requests = || Requests::Table.into_iden();
    vec![
        (
            steps(),
            string_len(Steps::Action, STATUS_LEN)
                .default("run_playbook")
                .to_owned(),
        ),
        (
            steps(),
            json_binary(Steps::RunOptions)
                .default(Expr::val("{}"))
                .to_owned(),
        ),
        (
            steps(),
            string_len_null(Steps::SuggestionId, SUGGESTION_ID_LEN),
        ),
        (steps(), json_binary_null(Steps::Template)),
        (
            requests(),
            json_binary(Requests::RunOptions)
                .default(Expr::val("{}"))
                .to_owned(),
        ),
        (requests(), uuid_null(Requests::RerunOfRequestId)),
        (
            requests(),
            string_len_null(Requests::SuggestionId, SUGGESTION_ID_LEN),
        ),
    ]
}

async fn create_suggestions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Suggestions::Table)
                .col(pk_uuid(Suggestions::Id))
                .col(string_len(Suggestions::SuggestionId, SUGGESTION_ID_LEN))
                .col(string_len(Suggestions::AgentId, AGENT_ID_LEN))
                .col(string_len(Suggestions::FindingId, AGENT_ID_LEN))
                .col(string(Suggestions::Rule))
                .col(string_len(Suggestions::Category, STATUS_LEN))
                .col(text(Suggestions::Title))
                .col(text(Suggestions::Reason))
                .col(text(Suggestions::Details))
                .col(string(Suggestions::Path))
                .col(big_integer(Suggestions::Line))
                .col(string_len(Suggestions::Severity, STATUS_LEN))
                .col(boolean(Suggestions::Fixable))
                .col(text(Suggestions::DocUrl))
                .col(string_len(Suggestions::Status, STATUS_LEN))
                .col(uuid_null(Suggestions::RequestId))
                .col(json_binary_null(Suggestions::Commit))
                .col(text_null(Suggestions::Error))
                .col(timestamp_with_time_zone(Suggestions::FirstSeenAt))
                .col(timestamp_with_time_zone(Suggestions::LastSeenAt))
                // A suggestion goes with its agent, like the agent's catalog.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_suggestions_agent_id")
                        .from(Suggestions::Table, Suggestions::AgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .on_update(ForeignKeyAction::NoAction),
                )
                // The history of a fix outlives a deleted request; only the link goes.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_suggestions_request_id")
                        .from(Suggestions::Table, Suggestions::RequestId)
                        .to(Requests::Table, Requests::Id)
                        .on_delete(ForeignKeyAction::SetNull)
                        .on_update(ForeignKeyAction::NoAction),
                )
                .to_owned(),
        )
        .await?;
    // The API names suggestions by this id; unique also across agents.
    create_index(
        manager,
        "idx_suggestions_suggestion_id",
        [Suggestions::SuggestionId],
        true,
    )
    .await?;
    // Each agent reports a finding once; reports upsert by it.
    create_index(
        manager,
        "idx_suggestions_agent_finding",
        [Suggestions::AgentId, Suggestions::FindingId],
        true,
    )
    .await?;
    // The list filters.
    for (name, column) in [
        ("idx_suggestions_status", Suggestions::Status),
        ("idx_suggestions_category", Suggestions::Category),
        ("idx_suggestions_path", Suggestions::Path),
    ] {
        create_index(manager, name, [column], false).await?;
    }
    Ok(())
}

async fn create_index<const N: usize>(
    manager: &SchemaManager<'_>,
    name: &str,
    columns: [Suggestions; N],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(Suggestions::Table);
    for column in columns {
        index.col(column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index).await
}

#[derive(DeriveIden)]
enum Steps {
    Table,
    Action,
    RunOptions,
    SuggestionId,
    Template,
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    Id,
    RunOptions,
    RerunOfRequestId,
    SuggestionId,
}

#[derive(DeriveIden)]
enum Suggestions {
    Table,
    Id,
    SuggestionId,
    AgentId,
    FindingId,
    Rule,
    Category,
    Title,
    Reason,
    Details,
    Path,
    Line,
    Severity,
    Fixable,
    DocUrl,
    Status,
    RequestId,
    Commit,
    Error,
    FirstSeenAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}
