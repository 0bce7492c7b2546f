//! Initial schema: requests, plans, steps, approvals, agents, catalog playbooks, events.
//!
//! Type choices that make the one definition portable:
//! - status-like columns are `varchar(32)` holding the enum's string value, not native enums;
//! - timestamps are `timestamp with time zone` (text in SQLite, which sea-orm reads back as UTC);
//! - JSON is `json_binary`: `jsonb` on PostgreSQL, which matches the type sqlx binds
//!   `serde_json::Value` as, and text on SQLite;
//! - protobuf payloads are `blob`: `bytea` on PostgreSQL, `blob` on SQLite;
//! - foreign keys are declared inside `CREATE TABLE`, because SQLite cannot add them later.

use sea_orm_migration::{prelude::*, schema::*};

/// Width of every status-like column; must match `StringLen::N(32)` in the entity enums.
const STATUS_LEN: u32 = 32;
/// Maximum length of an agent id.
const AGENT_ID_LEN: u32 = 128;
/// Maximum length of an event kind.
const EVENT_KIND_LEN: u32 = 64;

/// The initial migration.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_requests(manager).await?;
        create_plans(manager).await?;
        create_steps(manager).await?;
        create_approvals(manager).await?;
        create_agents(manager).await?;
        create_catalog_playbooks(manager).await?;
        create_events(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so no foreign key ever points at a dropped table. Indexes go
        // with their tables.
        for table in [
            Events::Table.into_iden(),
            CatalogPlaybooks::Table.into_iden(),
            Agents::Table.into_iden(),
            Approvals::Table.into_iden(),
            Steps::Table.into_iden(),
            Plans::Table.into_iden(),
            Requests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// A `CASCADE`-on-delete foreign key named `fk_<table>_<column>`.
fn cascade_fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

/// Creates a (possibly unique) index. Separate `CREATE INDEX` statements rather than
/// constraints inside `CREATE TABLE`, because that is the one form both backends accept for
/// multi-column uniques and both report violations of as unique-constraint errors.
async fn create_index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
    unique: bool,
) -> Result<(), DbErr>
where
    T: IntoIden,
    C: IntoIden,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column.into_iden());
    }
    if unique {
        index.unique();
    }
    manager.create_index(index).await
}

async fn create_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Requests::Table)
                .col(pk_uuid(Requests::Id))
                .col(text(Requests::Text))
                .col(string_len(Requests::Status, STATUS_LEN))
                .col(text(Requests::StatusReason))
                .col(integer(Requests::CurrentPlanRevision))
                .col(big_integer(Requests::LastEventSequence))
                .col(timestamp_with_time_zone(Requests::CreatedAt))
                .col(timestamp_with_time_zone(Requests::UpdatedAt))
                .col(timestamp_with_time_zone_null(Requests::FinishedAt))
                .col(timestamp_with_time_zone_null(Requests::CancelRequestedAt))
                .to_owned(),
        )
        .await?;
    // Request listings are newest-first and filtered by time range.
    create_index(
        manager,
        "idx_requests_created_at",
        Requests::Table,
        [Requests::CreatedAt],
        false,
    )
    .await
}

async fn create_plans(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Plans::Table)
                .col(pk_uuid(Plans::Id))
                .col(uuid(Plans::RequestId))
                .col(integer(Plans::Revision))
                .col(string_len(Plans::Status, STATUS_LEN))
                .col(text(Plans::Summary))
                .col(string(Plans::ContentHash))
                .col(text(Plans::Feedback))
                .col(string(Plans::Planner))
                .col(timestamp_with_time_zone(Plans::CreatedAt))
                .foreign_key(&mut cascade_fk(
                    "fk_plans_request_id",
                    (Plans::Table, Plans::RequestId),
                    (Requests::Table, Requests::Id),
                ))
                .to_owned(),
        )
        .await?;
    // Also serves lookups of a request's plans, and the cascade from `requests`.
    create_index(
        manager,
        "ux_plans_request_id_revision",
        Plans::Table,
        [Plans::RequestId, Plans::Revision],
        true,
    )
    .await
}

async fn create_steps(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Steps::Table)
                .col(pk_uuid(Steps::Id))
                .col(uuid(Steps::PlanId))
                .col(uuid(Steps::RequestId))
                .col(integer(Steps::Position))
                .col(text(Steps::Title))
                .col(text(Steps::Rationale))
                .col(string_len(Steps::AgentKind, STATUS_LEN))
                .col(string(Steps::Playbook))
                .col(boolean(Steps::CustomPlaybookNeeded))
                .col(json_binary(Steps::DependsOn))
                .col(string_len(Steps::Risk, STATUS_LEN))
                .col(big_integer(Steps::EstimatedSeconds))
                .col(json_binary(Steps::ExtraVars))
                .col(string_len(Steps::Status, STATUS_LEN))
                .col(integer(Steps::Attempt))
                .col(uuid_null(Steps::WorkId))
                .col(string_len_null(Steps::AgentId, AGENT_ID_LEN))
                .col(string_null(Steps::InstanceId))
                .col(timestamp_with_time_zone_null(Steps::QueuedAt))
                .col(timestamp_with_time_zone_null(Steps::StartedAt))
                .col(timestamp_with_time_zone_null(Steps::FinishedAt))
                .col(integer_null(Steps::ExitCode))
                .col(text_null(Steps::Error))
                .col(blob_null(Steps::Result))
                .foreign_key(&mut cascade_fk(
                    "fk_steps_plan_id",
                    (Steps::Table, Steps::PlanId),
                    (Plans::Table, Plans::Id),
                ))
                .foreign_key(&mut cascade_fk(
                    "fk_steps_request_id",
                    (Steps::Table, Steps::RequestId),
                    (Requests::Table, Requests::Id),
                ))
                .to_owned(),
        )
        .await?;
    // Also serves lookups of a plan's steps, and the cascade from `plans`.
    create_index(
        manager,
        "ux_steps_plan_id_position",
        Steps::Table,
        [Steps::PlanId, Steps::Position],
        true,
    )
    .await?;
    // NULLs are distinct on both backends, so only dispatched steps compete for a work id.
    create_index(
        manager,
        "ux_steps_work_id",
        Steps::Table,
        [Steps::WorkId],
        true,
    )
    .await?;
    create_index(
        manager,
        "idx_steps_request_id",
        Steps::Table,
        [Steps::RequestId],
        false,
    )
    .await?;
    // The dispatcher and crash recovery look for queued and running steps.
    create_index(
        manager,
        "idx_steps_status",
        Steps::Table,
        [Steps::Status],
        false,
    )
    .await
}

async fn create_approvals(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Approvals::Table)
                .col(pk_uuid(Approvals::Id))
                .col(uuid(Approvals::PlanId))
                .col(uuid(Approvals::RequestId))
                .col(integer(Approvals::Revision))
                .col(string(Approvals::ContentHash))
                .col(string_len(Approvals::Decision, STATUS_LEN))
                .col(string(Approvals::DecidedBy))
                .col(text(Approvals::Comment))
                .col(timestamp_with_time_zone(Approvals::CreatedAt))
                .foreign_key(&mut cascade_fk(
                    "fk_approvals_plan_id",
                    (Approvals::Table, Approvals::PlanId),
                    (Plans::Table, Plans::Id),
                ))
                .to_owned(),
        )
        .await?;
    // One decision per revision: a second, concurrent approve/reject loses on this index.
    create_index(
        manager,
        "ux_approvals_plan_id",
        Approvals::Table,
        [Approvals::PlanId],
        true,
    )
    .await?;
    // A request's decision history, for the plan review page and the audit trail.
    create_index(
        manager,
        "idx_approvals_request_id",
        Approvals::Table,
        [Approvals::RequestId],
        false,
    )
    .await
}

async fn create_agents(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Agents::Table)
                .col(string_len(Agents::Id, AGENT_ID_LEN).primary_key())
                .col(string_len(Agents::Kind, STATUS_LEN))
                .col(string(Agents::Hostname))
                .col(string(Agents::Version))
                .col(string(Agents::InstanceId))
                .col(string_len(Agents::Status, STATUS_LEN))
                .col(timestamp_with_time_zone(Agents::RegisteredAt))
                .col(timestamp_with_time_zone(Agents::LastSeenAt))
                .to_owned(),
        )
        .await?;
    // Routing and the capacity view select agents by kind.
    create_index(
        manager,
        "idx_agents_kind",
        Agents::Table,
        [Agents::Kind],
        false,
    )
    .await
}

async fn create_catalog_playbooks(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(CatalogPlaybooks::Table)
                .col(pk_uuid(CatalogPlaybooks::Id))
                .col(string_len(CatalogPlaybooks::AgentId, AGENT_ID_LEN))
                .col(string(CatalogPlaybooks::Path))
                .col(string(CatalogPlaybooks::Name))
                .col(json_binary(CatalogPlaybooks::Hosts))
                .col(json_binary(CatalogPlaybooks::Tags))
                .col(text(CatalogPlaybooks::Description))
                .foreign_key(&mut cascade_fk(
                    "fk_catalog_playbooks_agent_id",
                    (CatalogPlaybooks::Table, CatalogPlaybooks::AgentId),
                    (Agents::Table, Agents::Id),
                ))
                .to_owned(),
        )
        .await?;
    // Also serves lookups of an agent's catalog, and the cascade from `agents`.
    create_index(
        manager,
        "ux_catalog_playbooks_agent_id_path",
        CatalogPlaybooks::Table,
        [CatalogPlaybooks::AgentId, CatalogPlaybooks::Path],
        true,
    )
    .await
}

async fn create_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Id))
                .col(uuid(Events::RequestId))
                .col(big_integer(Events::Sequence))
                .col(string_len(Events::Kind, EVENT_KIND_LEN))
                .col(uuid_null(Events::StepId))
                .col(text(Events::Message))
                .col(blob_null(Events::TaskEvent))
                .col(blob_null(Events::WorkResult))
                .col(boolean(Events::EndsRequest))
                .col(string_null(Events::DedupeKey))
                .col(timestamp_with_time_zone(Events::CreatedAt))
                .foreign_key(&mut cascade_fk(
                    "fk_events_request_id",
                    (Events::Table, Events::RequestId),
                    (Requests::Table, Requests::Id),
                ))
                .to_owned(),
        )
        .await?;
    // Orders a request's log, serves "events after sequence N" for resuming streams, and the
    // cascade from `requests`.
    create_index(
        manager,
        "ux_events_request_id_sequence",
        Events::Table,
        [Events::RequestId, Events::Sequence],
        true,
    )
    .await?;
    // Backstop for recording a redelivered bus message once: the orchestrator looks the key up
    // first; a racing duplicate fails here and, retried, finds the key recorded.
    create_index(
        manager,
        "ux_events_dedupe_key",
        Events::Table,
        [Events::DedupeKey],
        true,
    )
    .await
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    Id,
    Text,
    Status,
    StatusReason,
    CurrentPlanRevision,
    LastEventSequence,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
    CancelRequestedAt,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    RequestId,
    Revision,
    Status,
    Summary,
    ContentHash,
    Feedback,
    Planner,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Steps {
    Table,
    Id,
    PlanId,
    RequestId,
    Position,
    Title,
    Rationale,
    AgentKind,
    Playbook,
    CustomPlaybookNeeded,
    DependsOn,
    Risk,
    EstimatedSeconds,
    ExtraVars,
    Status,
    Attempt,
    WorkId,
    AgentId,
    InstanceId,
    QueuedAt,
    StartedAt,
    FinishedAt,
    ExitCode,
    Error,
    Result,
}

#[derive(DeriveIden)]
enum Approvals {
    Table,
    Id,
    PlanId,
    RequestId,
    Revision,
    ContentHash,
    Decision,
    DecidedBy,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    Kind,
    Hostname,
    Version,
    InstanceId,
    Status,
    RegisteredAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum CatalogPlaybooks {
    Table,
    Id,
    AgentId,
    Path,
    Name,
    Hosts,
    Tags,
    Description,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    RequestId,
    Sequence,
    Kind,
    StepId,
    Message,
    TaskEvent,
    WorkResult,
    EndsRequest,
    DedupeKey,
    CreatedAt,
}
