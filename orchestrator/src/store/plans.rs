//! Plan revisions with their steps, and the one decision each revision gets.

use super::{Transaction, now, rows};
use crate::domain::{
    AgentKind, ApprovalDecision, PlanRevision, PlanStatus, Request, Step, StepStatus,
};
use crate::error::{OrchestratorError, Result};
use crate::planner::PlanDraft;
use chiffon_entity::{approval, plan, step};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{Set, Unchanged},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

/// A plan revision with its steps, in order.
#[derive(Debug, Clone)]
pub struct PlanWithSteps {
    /// The revision.
    pub plan: PlanRevision,
    /// Its steps by position.
    pub steps: Vec<Step>,
}

/// The plan `id`.
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<PlanRevision> {
    plan::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(rows::plan)
        .ok_or_else(|| OrchestratorError::not_found("plan", id.to_string()))
}

/// Revision `revision` of request `request_id`.
pub(crate) async fn revision(
    db: &impl ConnectionTrait,
    request_id: Uuid,
    revision: i32,
) -> Result<PlanRevision> {
    plan::Entity::find()
        .filter(plan::Column::RequestId.eq(request_id))
        .filter(plan::Column::Revision.eq(revision))
        .one(db)
        .await?
        .map(rows::plan)
        .ok_or_else(|| {
            OrchestratorError::not_found(
                "plan revision",
                format!("{revision} of request {request_id}"),
            )
        })
}

/// The request's current revision, which must exist.
pub(crate) async fn current(db: &impl ConnectionTrait, request: &Request) -> Result<PlanRevision> {
    revision(db, request.id, request.current_plan_revision)
        .await
        .map_err(|error| match error {
            OrchestratorError::NotFound { .. } => OrchestratorError::corrupt(
                "request",
                format!(
                    "plan revision {} of {} is missing",
                    request.current_plan_revision, request.id
                ),
            ),
            other => other,
        })
}

/// `plan` with its steps by position.
pub(crate) async fn with_steps(
    db: &impl ConnectionTrait,
    plan: PlanRevision,
) -> Result<PlanWithSteps> {
    let steps = step::Entity::find()
        .filter(step::Column::PlanId.eq(plan.id))
        .order_by_asc(step::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(rows::step)
        .collect::<Result<_>>()?;
    Ok(PlanWithSteps { plan, steps })
}

/// Inserts `draft` as revision `revision` of `request_id`, proposed, with its pending steps.
pub(crate) async fn insert(
    txn: &Transaction,
    request_id: Uuid,
    revision: i32,
    draft: &PlanDraft,
    feedback: &str,
    planner_name: &str,
) -> Result<PlanWithSteps> {
    let plan = plan::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(request_id),
        revision: Set(revision),
        status: Set(PlanStatus::Proposed.into()),
        summary: Set(draft.summary.clone()),
        content_hash: Set(draft.content_hash()),
        feedback: Set(feedback.to_owned()),
        planner: Set(planner_name.to_owned()),
        created_at: Set(now()),
    }
    .insert(txn)
    .await?;
    let plan = rows::plan(plan);
    let mut steps = Vec::with_capacity(draft.steps.len());
    for draft_step in &draft.steps {
        let row = step::ActiveModel {
            id: Set(Uuid::now_v7()),
            plan_id: Set(plan.id),
            request_id: Set(request_id),
            position: Set(draft_step.position),
            title: Set(draft_step.title.clone()),
            rationale: Set(draft_step.rationale.clone()),
            agent_kind: Set(AgentKind::Infra.into()),
            playbook: Set(draft_step.playbook.clone().unwrap_or_default()),
            custom_playbook_needed: Set(draft_step.needs_custom_playbook()),
            depends_on: Set(serde_json::json!(draft_step.depends_on)),
            risk: Set(draft_step.risk.into()),
            risk_reason: Set(draft_step.risk_reason.clone()),
            hosts: Set(serde_json::json!(draft_step.hosts)),
            roles: Set(serde_json::json!(draft_step.roles)),
            estimated_seconds: Set(draft_step.estimated_seconds),
            extra_vars: Set(serde_json::Value::Object(draft_step.extra_vars.clone())),
            status: Set(StepStatus::Pending.into()),
            attempt: Set(0),
            work_id: Set(None),
            agent_id: Set(None),
            instance_id: Set(None),
            queued_at: Set(None),
            started_at: Set(None),
            finished_at: Set(None),
            exit_code: Set(None),
            error: Set(None),
            result: Set(None),
            action: Set(draft_step.action.into()),
            run_options: Set(rows::run_options_json(&draft_step.run_options)),
            suggestion_id: Set(draft_step.suggestion_id.clone()),
            template: Set(draft_step
                .template
                .as_ref()
                .map(|template| serde_json::json!(template))),
        };
        steps.push(rows::step(row.insert(txn).await?)?);
    }
    Ok(PlanWithSteps { plan, steps })
}

/// Sets the status of `plan`.
pub(crate) async fn set_status(
    txn: &Transaction,
    plan: PlanRevision,
    status: PlanStatus,
) -> Result<PlanRevision> {
    let row = plan::ActiveModel {
        id: Unchanged(plan.id),
        status: Set(status.into()),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(rows::plan(row))
}

/// Records the one decision a plan revision gets, bound to its content hash; the unique plan
/// id makes a concurrent second decision fail instead of both succeeding.
pub(crate) async fn decide(
    txn: &Transaction,
    plan: &PlanRevision,
    decision: ApprovalDecision,
    decided_by: &str,
    comment: &str,
) -> Result<()> {
    approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        plan_id: Set(plan.id),
        request_id: Set(plan.request_id),
        revision: Set(plan.revision),
        content_hash: Set(plan.content_hash.clone()),
        decision: Set(decision.into()),
        decided_by: Set(decided_by.to_owned()),
        comment: Set(comment.trim().to_owned()),
        created_at: Set(now()),
    }
    .insert(txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            OrchestratorError::FailedPrecondition(format!(
                "plan revision {} was already decided",
                plan.revision
            ))
        }
        _ => OrchestratorError::Database(error),
    })?;
    Ok(())
}
