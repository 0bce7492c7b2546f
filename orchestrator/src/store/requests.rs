//! Request rows: finding, locking, listing, inserting and saving them.

use super::{Transaction, now, rows};
use crate::domain::{Request, RequestStatus};
use crate::error::{OrchestratorError, Result};
use chiffon_entity::request;
use chiffon_types::RunOptions;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{Set, Unchanged},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use uuid::Uuid;

/// What a new request holds besides its text.
#[derive(Debug, Default)]
pub(crate) struct NewRequest {
    pub run_options: RunOptions,
    pub rerun_of: Option<Uuid>,
    pub suggestion_id: Option<String>,
}

/// The request `id`.
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Request> {
    let row = request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("request", id.to_string()))?;
    rows::request(row)
}

/// Locks the request row for the rest of the transaction (PostgreSQL takes a row lock on
/// update; SQLite takes its write lock) and returns it.
pub(crate) async fn lock(txn: &Transaction, id: Uuid) -> Result<Request> {
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
) -> Result<Vec<Request>> {
    let mut query = request::Entity::find().order_by_desc(request::Column::Id);
    if let Some(before) = before {
        query = query.filter(request::Column::Id.lt(before));
    }
    if let Some(status) = status {
        query =
            query.filter(request::Column::Status.eq(chiffon_entity::RequestStatus::from(status)));
    }
    query
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(rows::request)
        .collect()
}

/// Inserts a request awaiting its first plan.
pub(crate) async fn insert(txn: &Transaction, text: &str, origin: NewRequest) -> Result<Request> {
    let now = now();
    let row = request::ActiveModel {
        id: Set(Uuid::now_v7()),
        text: Set(text.to_owned()),
        status: Set(RequestStatus::AwaitingApproval.into()),
        status_reason: Set(String::new()),
        current_plan_revision: Set(0),
        last_event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        cancel_requested_at: Set(None),
        run_options: Set(rows::run_options_json(&origin.run_options)),
        rerun_of_request_id: Set(origin.rerun_of),
        suggestion_id: Set(origin.suggestion_id),
    }
    .insert(txn)
    .await?;
    rows::request(row)
}

/// Writes the fields the engine changes in place: status, reason, current revision, end and
/// cancellation times.
pub(crate) async fn save(txn: &Transaction, request: &Request) -> Result<Request> {
    let row = request::ActiveModel {
        id: Unchanged(request.id),
        status: Set(request.status.into()),
        status_reason: Set(request.status_reason.clone()),
        current_plan_revision: Set(request.current_plan_revision),
        finished_at: Set(request.finished_at),
        cancel_requested_at: Set(request.cancel_requested_at),
        updated_at: Set(now()),
        ..Default::default()
    }
    .update(txn)
    .await?;
    rows::request(row)
}
