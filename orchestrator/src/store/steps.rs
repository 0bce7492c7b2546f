//! Step rows: finding them by work item, and the status changes of their life (queued, started,
//! finished, closed).

use super::{Transaction, now, rows};
use crate::domain::{Step, StepStatus};
use crate::error::Result;
use chiffon_entity::step;
use chiffon_proto::v1::WorkResult;
use prost::Message as _;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{Set, Unchanged},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

/// The step `id`, if it exists.
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Step>> {
    step::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(rows::step)
        .transpose()
}

/// Every row of `query`, as steps.
async fn all(db: &impl ConnectionTrait, query: sea_orm::Select<step::Entity>) -> Result<Vec<Step>> {
    query.all(db).await?.into_iter().map(rows::step).collect()
}

/// Writes `changes` to the row of step `id` and returns the step.
async fn update(txn: &Transaction, id: Uuid, changes: step::ActiveModel) -> Result<Step> {
    let row = step::ActiveModel {
        id: Unchanged(id),
        ..changes
    }
    .update(txn)
    .await?;
    rows::step(row)
}

/// The step whose current work item is `work_id`, if any.
pub(crate) async fn find_by_work(db: &impl ConnectionTrait, work_id: Uuid) -> Result<Option<Step>> {
    step::Entity::find()
        .filter(step::Column::WorkId.eq(work_id))
        .one(db)
        .await?
        .map(rows::step)
        .transpose()
}

/// The steps of `plan_id` that have not started (pending or queued), by position.
pub(crate) async fn not_started(txn: &Transaction, plan_id: Uuid) -> Result<Vec<Step>> {
    let waiting: [chiffon_entity::StepStatus; 2] =
        [StepStatus::Pending.into(), StepStatus::Queued.into()];
    let query = step::Entity::find()
        .filter(step::Column::PlanId.eq(plan_id))
        .filter(step::Column::Status.is_in(waiting))
        .order_by_asc(step::Column::Position);
    all(txn, query).await
}

/// The steps running on `agent_id`, except those of its process `but_instance` when given.
pub(crate) async fn running_on(
    db: &impl ConnectionTrait,
    agent_id: &str,
    but_instance: Option<&str>,
) -> Result<Vec<Step>> {
    let mut query = step::Entity::find()
        .filter(step::Column::AgentId.eq(agent_id.to_owned()))
        .filter(step::Column::Status.eq(chiffon_entity::StepStatus::from(StepStatus::Running)));
    if let Some(instance_id) = but_instance {
        query = query.filter(step::Column::InstanceId.ne(instance_id.to_owned()));
    }
    all(db, query).await
}

/// Steps queued at `queued_before` or earlier that no agent has claimed.
pub(crate) async fn unclaimed(
    db: &impl ConnectionTrait,
    queued_before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Uuid>> {
    let queued = step::Entity::find()
        .filter(step::Column::Status.eq(chiffon_entity::StepStatus::from(StepStatus::Queued)))
        .filter(step::Column::QueuedAt.lte(queued_before))
        .all(db)
        .await?;
    Ok(queued.into_iter().map(|step| step.id).collect())
}

/// Queues `step` as a new attempt with a fresh work id, held by no agent yet.
pub(crate) async fn queue(txn: &Transaction, step: &Step) -> Result<Step> {
    let changes = step::ActiveModel {
        status: Set(StepStatus::Queued.into()),
        attempt: Set(step.attempt + 1),
        work_id: Set(Some(Uuid::now_v7())),
        queued_at: Set(Some(now())),
        agent_id: Set(None),
        instance_id: Set(None),
        ..Default::default()
    };
    update(txn, step.id, changes).await
}

/// Marks `step` running in process `instance_id` of `agent_id`.
pub(crate) async fn start(
    txn: &Transaction,
    step: &Step,
    agent_id: &str,
    instance_id: &str,
) -> Result<Step> {
    let changes = step::ActiveModel {
        status: Set(StepStatus::Running.into()),
        agent_id: Set(Some(agent_id.to_owned())),
        instance_id: Set(Some(instance_id.to_owned())),
        started_at: Set(Some(now())),
        ..Default::default()
    };
    update(txn, step.id, changes).await
}

/// Ends `step` with `status` without it having run (skipped or cancelled).
pub(crate) async fn close(txn: &Transaction, step: &Step, status: StepStatus) -> Result<()> {
    let changes = step::ActiveModel {
        status: Set(status.into()),
        finished_at: Set(Some(now())),
        ..Default::default()
    };
    update(txn, step.id, changes).await?;
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
pub(crate) async fn finish(txn: &Transaction, step: &Step, outcome: Outcome<'_>) -> Result<()> {
    let changes = step::ActiveModel {
        status: Set(outcome.status.into()),
        finished_at: Set(Some(now())),
        exit_code: Set(Some(outcome.exit_code)),
        error: Set(outcome.error),
        result: Set(Some(outcome.result.encode_to_vec())),
        ..Default::default()
    };
    update(txn, step.id, changes).await?;
    Ok(())
}
