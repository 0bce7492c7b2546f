//! The orchestrator's domain: requests, their plan revisions and steps, as the engine and the
//! state machine reason about them.
//!
//! They sit between the rows the store keeps (sea-orm entities, with JSON columns) and the
//! messages the API speaks (protobuf): the store turns rows into these and back, the grpc module
//! turns these into messages. Fields are typed — a step's dependencies are positions, its run
//! options checked options — so nothing past the store decodes JSON.

use crate::catalog::CatalogReport;
use crate::planner::TemplateSpec;
use chiffon_proto::v1 as pb;
use chiffon_types::RunOptions;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A point in time, in UTC.
pub type Time = chrono::DateTime<chrono::Utc>;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    /// Its current plan revision waits for a decision.
    AwaitingApproval,
    /// Its approved plan runs.
    Running,
    /// Every step succeeded.
    Succeeded,
    /// A step failed.
    Failed,
    /// Someone cancelled it, or a step was stopped.
    Cancelled,
    /// Its plan was rejected.
    Rejected,
}

/// Where a plan revision is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanStatus {
    /// It waits for a decision.
    Proposed,
    /// It was approved and runs (or ran).
    Approved,
    /// It was rejected.
    Rejected,
    /// A revision replaced it.
    Superseded,
    /// Its request was cancelled before a decision.
    Cancelled,
}

/// Where a step is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// It waits for its dependencies or the approval.
    Pending,
    /// Its work item waits for an agent.
    Queued,
    /// An agent runs it.
    Running,
    /// It succeeded.
    Succeeded,
    /// It failed.
    Failed,
    /// It was stopped, or will never run because its request was cancelled.
    Cancelled,
    /// It will never run: its plan was rejected or revised, or a step before it failed.
    Skipped,
}

/// What a step does. Part of a plan's content hash, so its JSON spelling is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Runs a catalog playbook with the step's run options.
    RunPlaybook,
    /// Commits an ansible-lint fix on a new branch of the infrastructure repository.
    ApplySuggestion,
    /// Writes a playbook and role scaffold for a service on a new branch.
    GenerateTemplate,
}

/// How much harm a step can do. Part of a plan's content hash, so its JSON spelling is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Reads, or changes nothing that runs.
    Low,
    /// Changes what runs, in a way that can be undone.
    Medium,
    /// Changes many hosts or data.
    High,
}

/// The kind of agent a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentKind {
    /// Runs Ansible against the infrastructure repository.
    Infra,
    /// Reports a desktop's capacity.
    Desktop,
}

/// A request a person made.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Uuid,
    /// The request as typed.
    pub text: String,
    pub status: RequestStatus,
    /// Why it is in its status (for a cancellation: the reason given).
    pub status_reason: String,
    /// The revision a decision is about now; 0 before the first plan.
    pub current_plan_revision: i32,
    /// The sequence number of its last event.
    pub last_event_sequence: i64,
    pub created_at: Time,
    pub updated_at: Time,
    /// When it ended.
    pub finished_at: Option<Time>,
    /// When someone asked to cancel it.
    pub cancel_requested_at: Option<Time>,
    /// How its playbooks run.
    pub run_options: RunOptions,
    /// The failed request this one re-runs.
    pub rerun_of: Option<Uuid>,
    /// The suggestion whose fix this request applies.
    pub suggestion_id: Option<String>,
}

/// One plan revision of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRevision {
    pub id: Uuid,
    pub request_id: Uuid,
    /// 1 for the first plan, one more for each revision.
    pub revision: i32,
    pub status: PlanStatus,
    pub summary: String,
    /// What an approval is bound to.
    pub content_hash: String,
    /// The reviewers' feedback it was planned with.
    pub feedback: String,
    /// The planner that made it.
    pub planner: String,
    pub created_at: Time,
}

/// One step of a plan revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub request_id: Uuid,
    /// 1-based order in the plan; `depends_on` names steps by it.
    pub position: i32,
    pub title: String,
    pub rationale: String,
    pub agent_kind: AgentKind,
    /// The catalog playbook it runs; empty for other actions.
    pub playbook: String,
    /// No catalog playbook fits: one has to be written first.
    pub custom_playbook_needed: bool,
    /// Positions of the steps that must succeed first.
    pub depends_on: Vec<i32>,
    pub risk: RiskLevel,
    pub risk_reason: String,
    /// Hosts it runs on, as the catalog resolved them.
    pub hosts: Vec<String>,
    /// Roles it runs, in order.
    pub roles: Vec<String>,
    pub estimated_seconds: i64,
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
    pub status: StepStatus,
    /// How many times it was queued.
    pub attempt: i32,
    /// The work item of its current attempt.
    pub work_id: Option<Uuid>,
    /// The agent, and the agent process, running or that ran it.
    pub agent_id: Option<String>,
    pub instance_id: Option<String>,
    pub queued_at: Option<Time>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    /// What the agent reported when it finished.
    pub result: Option<pb::WorkResult>,
    pub action: StepAction,
    pub run_options: RunOptions,
    /// The suggestion an apply step fixes.
    pub suggestion_id: Option<String>,
    /// The scaffold a template step writes.
    pub template: Option<TemplateSpec>,
}

/// The decision a plan revision got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalDecision {
    /// It runs.
    Approved,
    /// The request ends.
    Rejected,
    /// It is planned again with the reviewer's feedback.
    RevisionRequested,
}

/// Whether an agent is heard from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentStatus {
    /// Its heartbeats arrive.
    Online,
    /// It stopped sending heartbeats.
    Offline,
}

/// An agent as the orchestrator knows it: its current process and what it reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub kind: AgentKind,
    pub hostname: String,
    pub version: String,
    /// Its current process; work is granted to this process only.
    pub instance_id: String,
    pub status: AgentStatus,
    pub registered_at: Time,
    pub last_seen_at: Time,
    /// The inventories it runs against, its default first.
    pub inventories: Vec<pb::Inventory>,
}

/// Where a suggestion is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionStatus {
    /// Reported and not acted on.
    Open,
    /// Accepted: a request applies its fix.
    Accepted,
    /// Its fix is a commit on a branch.
    Applied,
    /// Its fix failed; it can be accepted again.
    Failed,
    /// The latest lint no longer reports it.
    Resolved,
}

/// What kind of improvement a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionCategory {
    Idempotency,
    ErrorHandling,
    Performance,
    BestPractices,
    Standards,
}

/// How serious ansible-lint considers a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionSeverity {
    Error,
    Warning,
}

/// An ansible-lint finding an agent reported about its repository, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: Uuid,
    /// The id the API shows: `<agent id>:<finding id>`.
    pub suggestion_id: String,
    pub agent_id: String,
    /// What the latest lint reported.
    pub finding: Finding,
    pub status: SuggestionStatus,
    /// The request applying its fix.
    pub request_id: Option<Uuid>,
    /// The fix's commit, once applied.
    pub commit: Option<chiffon_types::BranchCommit>,
    /// Why the fix failed.
    pub error: Option<String>,
    pub first_seen_at: Time,
    pub last_seen_at: Time,
}

/// An agent process introducing itself, checked: what the orchestrator records for it.
#[derive(Debug, Clone)]
pub struct AgentRegistration<'a> {
    pub agent_id: chiffon_types::AgentId,
    pub kind: AgentKind,
    pub hostname: &'a str,
    pub version: &'a str,
    /// A fresh id for every process of the agent.
    pub instance_id: &'a str,
    /// What it found in its repository.
    pub catalog: CatalogReport<'a>,
}

/// A finding of an agent's lint report, checked: what a suggestion is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The id the agent gave it, the same on every lint.
    pub finding_id: String,
    pub rule: String,
    pub category: SuggestionCategory,
    pub title: String,
    pub reason: String,
    pub details: String,
    pub path: String,
    pub line: i64,
    pub severity: SuggestionSeverity,
    pub fixable: bool,
    pub doc_url: String,
}
