//! The human decision on one plan revision.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::enums::ApprovalDecision;

/// One row of `approvals`; at most one per plan revision (`plan_id` is unique).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    /// Approval id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The plan revision decided on.
    #[sea_orm(unique)]
    pub plan_id: Uuid,
    /// That plan's request, copied for lookups and for the audit trail.
    pub request_id: Uuid,
    /// That plan's revision number, copied for the audit trail.
    pub revision: i32,
    /// Content hash of the revision the approver saw, so a decision on stale content shows.
    pub content_hash: String,
    /// What was decided.
    pub decision: ApprovalDecision,
    /// Who decided.
    pub decided_by: String,
    /// Free-form comment; the feedback for a revision request.
    #[sea_orm(column_type = "Text")]
    pub comment: String,
    /// When the decision was recorded.
    pub created_at: DateTimeUtc,
}

/// Relations of an approval.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The plan revision decided on.
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Plan,
}

impl Related<super::plan::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plan.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
