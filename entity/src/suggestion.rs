//! An ansible-lint finding about a file of an infrastructure agent's repository, with where it
//! stands: open, accepted (its fix is being applied), applied, failed or resolved.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::enums::{SuggestionCategory, SuggestionSeverity, SuggestionStatus};

/// One row of `suggestions`. `suggestion_id` is unique; `id` orders rows by first sighting and
/// is the cursor of paginated listings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "suggestions")]
pub struct Model {
    /// Row id, a UUIDv7 taken when a lint first reported the finding.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The id the API shows: the agent's id and the finding's, so two agents linting the same
    /// repository never share one.
    #[sea_orm(unique)]
    pub suggestion_id: String,
    /// Agent whose repository the finding is about.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub agent_id: String,
    /// The finding's id as the agent reported it, stable across lints.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub finding_id: String,
    /// ansible-lint's rule tag.
    pub rule: String,
    /// The group it is filed in.
    pub category: SuggestionCategory,
    /// What ansible-lint found.
    #[sea_orm(column_type = "Text")]
    pub title: String,
    /// Why it matters.
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// ansible-lint's details; may be empty.
    #[sea_orm(column_type = "Text")]
    pub details: String,
    /// File relative to the repository root.
    pub path: String,
    /// Line in the file; 0 when unknown.
    pub line: i64,
    /// Error or warning.
    pub severity: SuggestionSeverity,
    /// True when accepting it applies a fix automatically.
    pub fixable: bool,
    /// The rule's documentation; may be empty.
    #[sea_orm(column_type = "Text")]
    pub doc_url: String,
    /// Where it stands.
    pub status: SuggestionStatus,
    /// The request that applies (or applied) the fix.
    pub request_id: Option<Uuid>,
    /// JSON object of the fix commit (branch, commit_id, base_commit, files, message), once
    /// applied.
    #[sea_orm(column_type = "JsonBinary")]
    pub commit: Option<Json>,
    /// Why applying the fix failed, when it did.
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// When a lint first reported it.
    pub first_seen_at: DateTimeUtc,
    /// When a lint last reported it.
    pub last_seen_at: DateTimeUtc,
}

/// Relations of a suggestion.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The agent whose repository it is about.
    #[sea_orm(
        belongs_to = "super::agent::Entity",
        from = "Column::AgentId",
        to = "super::agent::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Agent,
}

impl Related<super::agent::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
