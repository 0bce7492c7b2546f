//! One revision of the plan proposed for a request.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::enums::PlanStatus;

/// One row of `plans`; `(request_id, revision)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    /// Plan id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Request this plan answers.
    #[sea_orm(unique_key = "request_revision")]
    pub request_id: Uuid,
    /// Revision number within the request; a revision request creates the next one.
    #[sea_orm(unique_key = "request_revision")]
    pub revision: i32,
    /// Where this revision is in its lifecycle.
    pub status: PlanStatus,
    /// Planner's summary shown to the approver.
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// Hash of the plan's content as shown to the approver; an approval carries the hash it
    /// saw, so an approval of stale content can be refused.
    pub content_hash: String,
    /// Feedback from the revision request that led to this revision (empty for the first).
    #[sea_orm(column_type = "Text")]
    pub feedback: String,
    /// Which planner produced it.
    pub planner: String,
    /// When it was proposed.
    pub created_at: DateTimeUtc,
}

/// Relations of a plan.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The request this plan belongs to.
    #[sea_orm(
        belongs_to = "super::request::Entity",
        from = "Column::RequestId",
        to = "super::request::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Request,
    /// The plan's steps, ordered by `position`.
    #[sea_orm(has_many = "super::step::Entity")]
    Step,
    /// The decision taken on this revision, if any.
    #[sea_orm(has_one = "super::approval::Entity")]
    Approval,
}

impl Related<super::request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Request.def()
    }
}

impl Related<super::step::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Step.def()
    }
}

impl Related<super::approval::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Approval.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
