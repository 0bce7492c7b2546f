//! Request rows: finding, locking, listing, inserting and saving them.

use super::{Transaction, now};
use crate::error::{OrchestratorError, Result};
use chiffon_entity::{RequestStatus, request};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

/// What a new request row holds besides its text; the run options are stored as JSON.
#[derive(Debug, Default)]
pub(crate) struct NewRequest {
    pub run_options: serde_json::Value,
    pub rerun_of: Option<Uuid>,
    pub suggestion_id: Option<String>,
}

/// The request `id`.
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<request::Model> {
    request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("request", id.to_string()))
}

/// Locks the request row for the rest of the transaction (PostgreSQL takes a row lock on
/// update; SQLite takes its write lock) and returns it.
pub(crate) async fn lock(txn: &Transaction, id: Uuid) -> Result<request::Model> {
    let updated = request::Entity::update_many()
        .col_expr(request::Column::UpdatedAt, Expr::value(now()))
        .filter(request::Column::Id.eq(id))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(OrchestratorError::not_found("request", id.to_string()));
    }
    find(txn, id).await
}

/// Up to `limit` requests older than `before` (all when `None`), newest first, of `status`
/// when given. Request ids are UUIDv7, ordered by creation time.
pub(crate) async fn page(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    status: Option<RequestStatus>,
    limit: u64,
) -> Result<Vec<request::Model>> {
    let mut query = request::Entity::find().order_by_desc(request::Column::Id);
    if let Some(before) = before {
        query = query.filter(request::Column::Id.lt(before));
    }
    if let Some(status) = status {
        query = query.filter(request::Column::Status.eq(status));
    }
    Ok(query.limit(limit).all(db).await?)
}

/// Inserts a request awaiting its first plan.
pub(crate) async fn insert(
    txn: &Transaction,
    text: &str,
    origin: NewRequest,
) -> Result<request::Model> {
    let now = now();
    Ok(request::ActiveModel {
        id: Set(Uuid::now_v7()),
        text: Set(text.to_owned()),
        status: Set(RequestStatus::AwaitingApproval),
        status_reason: Set(String::new()),
        current_plan_revision: Set(0),
        last_event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        cancel_requested_at: Set(None),
        run_options: Set(origin.run_options),
        rerun_of_request_id: Set(origin.rerun_of),
        suggestion_id: Set(origin.suggestion_id),
    }
    .insert(txn)
    .await?)
}

/// Writes the fields the engine changes in place: status, reason, current revision, end and
/// cancellation times.
pub(crate) async fn save(txn: &Transaction, request: request::Model) -> Result<request::Model> {
    let mut active: request::ActiveModel = request.clone().into();
    // Mark every field changed: the caller edited the model in place.
    active.status = Set(request.status);
    active.status_reason = Set(request.status_reason);
    active.current_plan_revision = Set(request.current_plan_revision);
    active.finished_at = Set(request.finished_at);
    active.cancel_requested_at = Set(request.cancel_requested_at);
    active.updated_at = Set(now());
    Ok(active.update(txn).await?)
}
