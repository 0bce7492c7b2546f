//! A request's append-only event log, which the live execution view streams from.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `events`; `(request_id, sequence)` is unique and so is `dedupe_key` when set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Database-assigned id; global insertion order, not used for per-request ordering.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Request the event belongs to.
    #[sea_orm(unique_key = "request_sequence")]
    pub request_id: Uuid,
    /// Position in the request's log, allocated from `requests.last_event_sequence`.
    #[sea_orm(unique_key = "request_sequence")]
    pub sequence: i64,
    /// Short machine-readable event kind (at most 64 characters).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub kind: String,
    /// Step the event is about, if any.
    pub step_id: Option<Uuid>,
    /// Human-readable line for the log view.
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// Protobuf-encoded `TaskEvent`, for events relayed from an agent.
    #[sea_orm(column_type = "Blob")]
    pub task_event: Option<Vec<u8>>,
    /// Protobuf-encoded `WorkResult`, for a step's final result.
    #[sea_orm(column_type = "Blob")]
    pub work_result: Option<Vec<u8>>,
    /// True for the event that ends the request, so a stream knows to close.
    pub ends_request: bool,
    /// Idempotency key of the message that produced the event (e.g. `event:<work_id>:<seq>`);
    /// unique, so a redelivered bus message is recorded once.
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    /// When it was recorded.
    pub created_at: DateTimeUtc,
}

/// Relations of an event.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The request the event belongs to.
    #[sea_orm(
        belongs_to = "super::request::Entity",
        from = "Column::RequestId",
        to = "super::request::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Request,
}

impl Related<super::request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Request.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
