//! sea-orm entities of Chiffon's persistent state.
//!
//! One module per table, each with the usual sea-orm `Model` / `ActiveModel` / `Entity` /
//! `Column` / `Relation` items. The schema itself is owned by the `chiffon-migration` crate;
//! these definitions mirror it and must be kept in step with it by hand, because the migration
//! crate deliberately does not depend on this one (migrations must keep describing the schema
//! as it was when they were written, not as the entities look today).
//!
//! The same entities serve PostgreSQL (production) and SQLite (`chiffon dev`), which is why
//! status columns are plain strings and JSON/binary columns use types both backends round-trip.

pub mod agent;
pub mod approval;
pub mod catalog_issue;
pub mod catalog_playbook;
pub mod enums;
pub mod event;
pub mod plan;
pub mod request;
pub mod step;
pub mod suggestion;

pub use enums::{
    AgentKind, AgentStatus, ApprovalDecision, PlanStatus, RequestStatus, RiskLevel, StepAction,
    StepStatus, SuggestionCategory, SuggestionSeverity, SuggestionStatus,
};

/// Entity aliases and status enums, for `use chiffon_entity::prelude::*`.
pub mod prelude {
    pub use super::agent::Entity as Agent;
    pub use super::approval::Entity as Approval;
    pub use super::catalog_issue::Entity as CatalogIssue;
    pub use super::catalog_playbook::Entity as CatalogPlaybook;
    pub use super::enums::{
        AgentKind, AgentStatus, ApprovalDecision, PlanStatus, RequestStatus, RiskLevel, StepAction,
        StepStatus, SuggestionCategory, SuggestionSeverity, SuggestionStatus,
    };
    pub use super::event::Entity as Event;
    pub use super::plan::Entity as Plan;
    pub use super::request::Entity as Request;
    pub use super::step::Entity as Step;
    pub use super::suggestion::Entity as Suggestion;
}
