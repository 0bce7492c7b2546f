//! Step rows: finding them by work item, and the status changes of their life (queued, started,
//! finished, closed).

use super::{Transaction, now};
use crate::error::Result;
use chiffon_entity::{StepStatus, step};
use chiffon_proto::v1::WorkResult;
use prost::Message as _;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

/// The step `id`, if it exists.
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<step::Model>> {
    Ok(step::Entity::find_by_id(id).one(db).await?)
}

/// The step whose current work item is `work_id`, if any.
pub(crate) async fn find_by_work(
    db: &impl ConnectionTrait,
    work_id: Uuid,
) -> Result<Option<step::Model>> {
    Ok(step::Entity::find()
        .filter(step::Column::WorkId.eq(work_id))
        .one(db)
        .await?)
}

/// The steps of `plan_id` that have not started (pending or queued), by position.
pub(crate) async fn not_started(txn: &Transaction, plan_id: Uuid) -> Result<Vec<step::Model>> {
    Ok(step::Entity::find()
        .filter(step::Column::PlanId.eq(plan_id))
        .filter(step::Column::Status.is_in([StepStatus::Pending, StepStatus::Queued]))
        .order_by_asc(step::Column::Position)
        .all(txn)
        .await?)
}

/// The steps running on `agent_id`, except those of its process `but_instance` when given.
pub(crate) async fn running_on(
    db: &impl ConnectionTrait,
    agent_id: &str,
    but_instance: Option<&str>,
) -> Result<Vec<step::Model>> {
    let mut query = step::Entity::find()
        .filter(step::Column::AgentId.eq(agent_id.to_owned()))
        .filter(step::Column::Status.eq(StepStatus::Running));
    if let Some(instance_id) = but_instance {
        query = query.filter(step::Column::InstanceId.ne(instance_id.to_owned()));
    }
    Ok(query.all(db).await?)
}

/// Steps queued at `queued_before` or earlier that no agent has claimed.
pub(crate) async fn unclaimed(
    db: &impl ConnectionTrait,
    queued_before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Uuid>> {
    let queued = step::Entity::find()
        .filter(step::Column::Status.eq(StepStatus::Queued))
        .filter(step::Column::QueuedAt.lte(queued_before))
        .all(db)
        .await?;
    Ok(queued.into_iter().map(|step| step.id).collect())
}

/// Queues `step` as a new attempt with a fresh work id, held by no agent yet.
pub(crate) async fn queue(txn: &Transaction, step: step::Model) -> Result<step::Model> {
    let attempt = step.attempt + 1;
    let mut active: step::ActiveModel = step.into();
    active.status = Set(StepStatus::Queued);
    active.attempt = Set(attempt);
    active.work_id = Set(Some(Uuid::now_v7()));
    active.queued_at = Set(Some(now()));
    active.agent_id = Set(None);
    active.instance_id = Set(None);
    Ok(active.update(txn).await?)
}

/// Marks `step` running in process `instance_id` of `agent_id`.
pub(crate) async fn start(
    txn: &Transaction,
    step: step::Model,
    agent_id: &str,
    instance_id: &str,
) -> Result<step::Model> {
    let mut active: step::ActiveModel = step.into();
    active.status = Set(StepStatus::Running);
    active.agent_id = Set(Some(agent_id.to_owned()));
    active.instance_id = Set(Some(instance_id.to_owned()));
    active.started_at = Set(Some(now()));
    Ok(active.update(txn).await?)
}

/// Ends `step` with `status` without it having run (skipped or cancelled).
pub(crate) async fn close(txn: &Transaction, step: step::Model, status: StepStatus) -> Result<()> {
    let mut active: step::ActiveModel = step.into();
    active.status = Set(status);
    active.finished_at = Set(Some(now()));
    active.update(txn).await?;
    Ok(())
}

/// How a step's work ended, as the step row keeps it.
pub(crate) struct Outcome<'a> {
    pub status: StepStatus,
    pub exit_code: i32,
    pub error: Option<String>,
    /// The agent's report, kept whole (encoded) for re-runs and the API.
    pub result: &'a WorkResult,
}

/// Records how `step`'s work ended.
pub(crate) async fn finish(
    txn: &Transaction,
    step: step::Model,
    outcome: Outcome<'_>,
) -> Result<()> {
    let mut active: step::ActiveModel = step.into();
    active.status = Set(outcome.status);
    active.finished_at = Set(Some(now()));
    active.exit_code = Set(Some(outcome.exit_code));
    active.error = Set(outcome.error);
    active.result = Set(Some(outcome.result.encode_to_vec()));
    active.update(txn).await?;
    Ok(())
}
