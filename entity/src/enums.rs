//! Status-like columns, stored as short strings rather than native database enums.
//!
//! Strings (not `CREATE TYPE … AS ENUM`) keep the schema identical on PostgreSQL and SQLite,
//! and let a later migration add a variant without an `ALTER TYPE`. The string values are part
//! of the on-disk format: renaming one needs a data migration, so they are spelled out on every
//! variant instead of being derived from the Rust name.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Lifecycle of a [`request`](crate::request): submitted, planned, approved, run, finished.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// A plan is proposed and waits for a human decision.
    #[sea_orm(string_value = "awaiting_approval")]
    AwaitingApproval,
    /// The approved plan's steps are being executed.
    #[sea_orm(string_value = "running")]
    Running,
    /// Every step finished successfully.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// A step failed, or planning failed; `status_reason` says which.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Aborted by a user before it finished.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// The plan was rejected; nothing ran.
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

/// Lifecycle of one [`plan`](crate::plan) revision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Waiting for a decision.
    #[sea_orm(string_value = "proposed")]
    Proposed,
    /// Approved; its steps are (or were) executed.
    #[sea_orm(string_value = "approved")]
    Approved,
    /// Rejected outright.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Replaced by a newer revision after a revision request.
    #[sea_orm(string_value = "superseded")]
    Superseded,
    /// Its request was cancelled while the plan was still open.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// Which kind of agent runs a step, and which kind an agent is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Runs infrastructure playbooks against servers.
    #[sea_orm(string_value = "infra")]
    Infra,
    /// Runs playbooks against desktops and workstations.
    #[sea_orm(string_value = "desktop")]
    Desktop,
}

/// Risk a planner assigns to a step, shown to the approver.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Read-only or trivially reversible.
    #[sea_orm(string_value = "low")]
    Low,
    /// Changes state but is routine.
    #[sea_orm(string_value = "medium")]
    Medium,
    /// May cause downtime or data loss.
    #[sea_orm(string_value = "high")]
    High,
}

/// Lifecycle of one [`step`](crate::step) execution.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for its dependencies.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Published to the work queue, not yet picked up.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// An agent is running it.
    #[sea_orm(string_value = "running")]
    Running,
    /// Finished successfully.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Finished unsuccessfully; `error` and `exit_code` say how.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Aborted by a user or by its request's cancellation.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// Never run because a step it depends on did not succeed.
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

/// What a human decided about a plan revision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Run the plan as proposed.
    #[sea_orm(string_value = "approved")]
    Approved,
    /// Do not run it; the request ends.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Re-plan using the comment as feedback.
    #[sea_orm(string_value = "revision_requested")]
    RevisionRequested,
}

/// Whether an agent is currently heartbeating.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Heartbeats arrive within the liveness window.
    #[sea_orm(string_value = "online")]
    Online,
    /// No heartbeat within the liveness window, or it deregistered.
    #[sea_orm(string_value = "offline")]
    Offline,
}

/// What a [`step`](crate::step) does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Runs a catalog playbook with the step's run options.
    #[sea_orm(string_value = "run_playbook")]
    RunPlaybook,
    /// Commits an ansible-lint fix on a new branch of the infrastructure repository.
    #[sea_orm(string_value = "apply_suggestion")]
    ApplySuggestion,
    /// Writes a playbook and role scaffold for a service on a new branch.
    #[sea_orm(string_value = "generate_template")]
    GenerateTemplate,
}

/// Where a [`suggestion`](crate::suggestion) stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// Found by the latest lint and not acted on.
    #[sea_orm(string_value = "open")]
    Open,
    /// Accepted; the request applying the fix is running.
    #[sea_orm(string_value = "accepted")]
    Accepted,
    /// The fix was committed on a branch.
    #[sea_orm(string_value = "applied")]
    Applied,
    /// Applying the fix failed; it can be accepted again.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The latest lint no longer reports it.
    #[sea_orm(string_value = "resolved")]
    Resolved,
}

/// The group a [`suggestion`](crate::suggestion) is filed in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionCategory {
    /// Tasks that report a change, or change something, on every run.
    #[sea_orm(string_value = "idempotency")]
    Idempotency,
    /// Failures that are hidden, ignored or reported unclearly.
    #[sea_orm(string_value = "error_handling")]
    ErrorHandling,
    /// Work done more often or more slowly than needed.
    #[sea_orm(string_value = "performance")]
    Performance,
    /// Safer or clearer ways to write the same thing.
    #[sea_orm(string_value = "best_practices")]
    BestPractices,
    /// Naming, formatting and syntax conventions.
    #[sea_orm(string_value = "standards")]
    Standards,
}

/// How seriously ansible-lint takes a [`suggestion`](crate::suggestion).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionSeverity {
    /// The repository does not pass its lint profile until it is fixed.
    #[sea_orm(string_value = "error")]
    Error,
    /// Worth fixing, not blocking.
    #[sea_orm(string_value = "warning")]
    Warning,
}
