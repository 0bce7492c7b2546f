//! One step of a plan: a playbook run by one agent, and the record of its execution.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::enums::{AgentKind, RiskLevel, StepAction, StepStatus};

/// One row of `steps`; `(plan_id, position)` is unique and `work_id` is unique when set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "steps")]
pub struct Model {
    /// Step id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Plan revision this step belongs to.
    #[sea_orm(unique_key = "plan_position")]
    pub plan_id: Uuid,
    /// The plan's request, copied here so a request's steps are one indexed lookup.
    pub request_id: Uuid,
    /// Order within the plan; `depends_on` refers to steps by this number.
    #[sea_orm(unique_key = "plan_position")]
    pub position: i32,
    /// Short title shown in the plan.
    #[sea_orm(column_type = "Text")]
    pub title: String,
    /// Why the planner included this step.
    #[sea_orm(column_type = "Text")]
    pub rationale: String,
    /// Which kind of agent must run it.
    pub agent_kind: AgentKind,
    /// Playbook to run, as the agent's catalog names it (`catalog_playbooks.path`).
    pub playbook: String,
    /// True when no catalog playbook fits and one has to be written first.
    pub custom_playbook_needed: bool,
    /// JSON array of the `position`s of steps that must succeed before this one runs.
    #[sea_orm(column_type = "JsonBinary")]
    pub depends_on: Json,
    /// Risk shown to the approver.
    pub risk: RiskLevel,
    /// Why the step has its risk level, for the approver.
    #[sea_orm(column_type = "Text")]
    pub risk_reason: String,
    /// JSON array of the hosts the step runs on, as the catalog resolved them when it was
    /// planned; empty when unknown until it runs.
    #[sea_orm(column_type = "JsonBinary")]
    pub hosts: Json,
    /// JSON array of the roles the step runs, in order.
    #[sea_orm(column_type = "JsonBinary")]
    pub roles: Json,
    /// Planner's estimate of the wall time, in seconds.
    pub estimated_seconds: i64,
    /// JSON object passed to `ansible-playbook --extra-vars`.
    #[sea_orm(column_type = "JsonBinary")]
    pub extra_vars: Json,
    /// Where the step is in its lifecycle.
    pub status: StepStatus,
    /// Number of dispatch attempts so far.
    pub attempt: i32,
    /// Id of the work item of the current attempt; unique so a result maps to exactly one step.
    #[sea_orm(unique)]
    pub work_id: Option<Uuid>,
    /// Agent that picked the work up.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub agent_id: Option<String>,
    /// Process instance of that agent, to tell a restarted agent from the one that took the work.
    pub instance_id: Option<String>,
    /// When the current attempt was published.
    pub queued_at: Option<DateTimeUtc>,
    /// When an agent reported it started.
    pub started_at: Option<DateTimeUtc>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTimeUtc>,
    /// `ansible-playbook` exit code, once known.
    pub exit_code: Option<i32>,
    /// Failure description, when it failed.
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// Protobuf-encoded `WorkResult` as the agent sent it; kept opaque so the proto can evolve
    /// without a schema change.
    #[sea_orm(column_type = "Blob")]
    pub result: Option<Vec<u8>>,
    /// What the step does.
    pub action: StepAction,
    /// JSON object of the ansible-playbook options (limit, tags, check_mode, diff) of a
    /// `run_playbook` step; `{}` for other actions.
    #[sea_orm(column_type = "JsonBinary")]
    pub run_options: Json,
    /// The suggestion (`suggestions.suggestion_id`) an `apply_suggestion` step fixes.
    pub suggestion_id: Option<String>,
    /// JSON object of the scaffold a `generate_template` step writes (service, containerised,
    /// image, port, hosts).
    #[sea_orm(column_type = "JsonBinary")]
    pub template: Option<Json>,
}

/// Relations of a step.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The plan revision the step belongs to.
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Plan,
    /// The request the step belongs to (denormalised).
    #[sea_orm(
        belongs_to = "super::request::Entity",
        from = "Column::RequestId",
        to = "super::request::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Request,
}

impl Related<super::plan::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plan.def()
    }
}

impl Related<super::request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Request.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
