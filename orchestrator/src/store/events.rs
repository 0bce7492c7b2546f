//! Event rows: a request's history, appended in the transaction of the change it reports.

use super::now;
use super::rows;
use crate::convert::timestamp;
use crate::domain::Request;
use crate::error::OrchestratorError;
use crate::error::Result;
use crate::events::NewEvent;
use chiffon_entity::{event, request};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::RequestEvent;
use prost::Message as _;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{Set, Unchanged},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use uuid::Uuid;

/// Whether an event with this dedupe key was already recorded.
pub(crate) async fn already_recorded(db: &impl ConnectionTrait, dedupe_key: &str) -> Result<bool> {
    Ok(event::Entity::find()
        .filter(event::Column::DedupeKey.eq(dedupe_key))
        .one(db)
        .await?
        .is_some())
}

/// Appends `new` to the history of `request` (which the caller has locked by updating it in the
/// same transaction), advances the request's sequence and returns the recorded event.
pub(crate) async fn record(
    db: &impl ConnectionTrait,
    request: &mut Request,
    new: NewEvent,
) -> Result<RequestEvent> {
    let now = now();
    let sequence = request.last_event_sequence + 1;
    request::ActiveModel {
        id: Unchanged(request.id),
        last_event_sequence: Set(sequence),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    request.last_event_sequence = sequence;
    request.updated_at = now;
    let row = event::ActiveModel {
        request_id: Set(request.id),
        sequence: Set(sequence),
        kind: Set(new.kind.as_str_name().to_owned()),
        step_id: Set(new.step_id),
        message: Set(new.message),
        task_event: Set(new.task.map(|task| task.encode_to_vec())),
        work_result: Set(new.result.map(|result| result.encode_to_vec())),
        ends_request: Set(new.ends_request),
        dedupe_key: Set(new.dedupe_key),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    event(&row)
}

/// Up to `limit` events of `request_id` after sequence `after`, in order.
pub(crate) async fn after(
    db: &impl ConnectionTrait,
    request_id: Uuid,
    after: i64,
    limit: u64,
) -> Result<Vec<RequestEvent>> {
    let rows = event::Entity::find()
        .filter(event::Column::RequestId.eq(request_id))
        .filter(event::Column::Sequence.gt(after))
        .order_by_asc(event::Column::Sequence)
        .limit(limit)
        .all(db)
        .await?;
    rows.iter().map(event).collect()
}

fn event(row: &event::Model) -> Result<pb::RequestEvent> {
    let kind = pb::RequestEventKind::from_str_name(&row.kind)
        .ok_or_else(|| OrchestratorError::corrupt("event kind", &row.kind))?;
    Ok(pb::RequestEvent {
        request_id: row.request_id.to_string(),
        sequence: row.sequence,
        kind: kind as i32,
        message: row.message.clone(),
        occurred_at: Some(timestamp(row.created_at)),
        step_id: row.step_id.map(|id| id.to_string()).unwrap_or_default(),
        task: row
            .task_event
            .as_deref()
            .map(|bytes| {
                pb::TaskEvent::decode(bytes)
                    .map_err(|error| OrchestratorError::corrupt("task event", error))
            })
            .transpose()?,
        result: row
            .work_result
            .as_deref()
            .map(rows::stored_result)
            .transpose()?,
        ends_request: row.ends_request,
    })
}
