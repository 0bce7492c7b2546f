//! Suggestion rows: an agent's latest lint replacing its findings, acceptances taking one, and
//! fixes settling it.

use super::{Transaction, now, rows};
use crate::convert;
use crate::domain::Finding;
use crate::domain::Suggestion;
use crate::error::{OrchestratorError, Result};
use crate::suggestions::SuggestionFilter;
use chiffon_entity::{SuggestionCategory, SuggestionStatus, suggestion};
use chiffon_proto::v1 as pb;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The suggestion `suggestion_id` (the id the API shows).
pub(crate) async fn find(db: &impl ConnectionTrait, suggestion_id: &str) -> Result<Suggestion> {
    let row = suggestion::Entity::find()
        .filter(suggestion::Column::SuggestionId.eq(suggestion_id.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("suggestion", suggestion_id))?;
    rows::suggestion(row)
}

/// Up to `limit` suggestions passing `filter` with a row id below `before` (all when `None`),
/// newest first. Row ids are UUIDv7 taken at the first sighting.
pub(crate) async fn page(
    db: &impl ConnectionTrait,
    filter: &SuggestionFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Suggestion>> {
    let mut query = suggestion::Entity::find().order_by_desc(suggestion::Column::Id);
    if let Some(before) = before {
        query = query.filter(suggestion::Column::Id.lt(before));
    }
    query = match filter.status {
        Some(status) => query.filter(suggestion::Column::Status.eq(SuggestionStatus::from(status))),
        None => query.filter(suggestion::Column::Status.ne(SuggestionStatus::Resolved)),
    };
    if let Some(category) = filter.category {
        query = query.filter(suggestion::Column::Category.eq(SuggestionCategory::from(category)));
    }
    let path = filter.path.trim();
    let path = path.strip_prefix("./").unwrap_or(path);
    if !path.is_empty() {
        query = query.filter(suggestion::Column::Path.eq(path.to_owned()));
    }
    if !filter.agent_id.trim().is_empty() {
        query = query.filter(suggestion::Column::AgentId.eq(filter.agent_id.trim().to_owned()));
    }
    query
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(rows::suggestion)
        .collect()
}

/// Replaces `agent_id`'s findings with `findings`: new ones open, known ones are refreshed
/// (keeping their status and first sighting) and the ones no longer reported are resolved,
/// except one whose fix is being applied. Returns how many are open now.
pub(crate) async fn replace_findings(
    txn: &Transaction,
    agent_id: &str,
    findings: &[Finding],
) -> Result<u64> {
    let now = now();
    let known: HashMap<String, suggestion::Model> = suggestion::Entity::find()
        .filter(suggestion::Column::AgentId.eq(agent_id.to_owned()))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.finding_id.clone(), row))
        .collect();
    let mut reported = HashSet::new();
    let mut found_again = Vec::new();
    for finding in findings {
        reported.insert(finding.finding_id.clone());
        let mut row = new_row(finding, agent_id, now);
        match known.get(&finding.finding_id) {
            Some(existing) => {
                // Only what the lint says about the finding: its status, request, commit and
                // error belong to acceptances and fixes, which may be changing them
                // concurrently, so they are never written from the rows read above.
                row.id = Set(existing.id);
                row.first_seen_at = NotSet;
                row.status = NotSet;
                row.request_id = NotSet;
                row.commit = NotSet;
                row.error = NotSet;
                row.update(txn).await?;
                if existing.status == SuggestionStatus::Resolved {
                    found_again.push(existing.id);
                }
            }
            None => {
                row.insert(txn).await?;
            }
        }
    }
    let gone: Vec<Uuid> = known
        .values()
        .filter(|row| !reported.contains(&row.finding_id))
        .map(|row| row.id)
        .collect();
    // Conditional on the status at the time of the update, for the same reason.
    for (ids, from, to) in [
        (
            found_again,
            vec![SuggestionStatus::Resolved],
            SuggestionStatus::Open,
        ),
        (
            gone,
            vec![
                SuggestionStatus::Open,
                SuggestionStatus::Applied,
                SuggestionStatus::Failed,
            ],
            SuggestionStatus::Resolved,
        ),
    ] {
        if ids.is_empty() {
            continue;
        }
        suggestion::Entity::update_many()
            .col_expr(suggestion::Column::Status, Expr::value(to))
            .filter(suggestion::Column::Id.is_in(ids))
            .filter(suggestion::Column::Status.is_in(from))
            .exec(txn)
            .await?;
    }
    Ok(suggestion::Entity::find()
        .filter(suggestion::Column::AgentId.eq(agent_id.to_owned()))
        .filter(suggestion::Column::Status.eq(SuggestionStatus::Open))
        .count(txn)
        .await?)
}

/// A new open row for `finding` of `agent_id`, seen at `now`.
fn new_row(
    finding: &Finding,
    agent_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> suggestion::ActiveModel {
    suggestion::ActiveModel {
        id: Set(Uuid::now_v7()),
        suggestion_id: Set(convert::suggestion_id(agent_id, &finding.finding_id)),
        agent_id: Set(agent_id.to_owned()),
        finding_id: Set(finding.finding_id.clone()),
        rule: Set(finding.rule.clone()),
        category: Set(finding.category.into()),
        title: Set(finding.title.clone()),
        reason: Set(finding.reason.clone()),
        details: Set(finding.details.clone()),
        path: Set(finding.path.clone()),
        line: Set(finding.line),
        severity: Set(finding.severity.into()),
        fixable: Set(finding.fixable),
        doc_url: Set(finding.doc_url.clone()),
        status: Set(SuggestionStatus::Open),
        request_id: Set(None),
        commit: Set(None),
        error: Set(None),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
    }
}

/// Marks `found` accepted by `request_id` if its status is still the one read; false when a
/// concurrent acceptance (or lint) changed it first.
pub(crate) async fn take(txn: &Transaction, found: &Suggestion, request_id: Uuid) -> Result<bool> {
    let taken = suggestion::Entity::update_many()
        .col_expr(
            suggestion::Column::Status,
            Expr::value(SuggestionStatus::Accepted),
        )
        .col_expr(suggestion::Column::RequestId, Expr::value(Some(request_id)))
        .col_expr(
            suggestion::Column::Error,
            Expr::value(Option::<String>::None),
        )
        .filter(suggestion::Column::Id.eq(found.id))
        .filter(suggestion::Column::Status.eq(SuggestionStatus::from(found.status)))
        .exec(txn)
        .await?;
    Ok(taken.rows_affected > 0)
}

/// How the attempt to apply a suggestion's fix ended.
pub(crate) enum FixOutcome<'a> {
    Applied(&'a pb::RepositoryCommit),
    Failed(String),
}

/// Records how the fix of `suggestion_id`, accepted by `request_id`, ended: applied with the
/// commit, or failed with why (it can be accepted again). A suggestion another request has
/// taken over since is left alone.
pub(crate) async fn settle(
    txn: &Transaction,
    suggestion_id: &str,
    request_id: Uuid,
    outcome: FixOutcome<'_>,
) -> Result<()> {
    let update = suggestion::Entity::update_many()
        .filter(suggestion::Column::SuggestionId.eq(suggestion_id.to_owned()))
        .filter(suggestion::Column::RequestId.eq(request_id))
        .filter(suggestion::Column::Status.eq(SuggestionStatus::Accepted));
    let update = match outcome {
        FixOutcome::Applied(commit) => update
            .col_expr(
                suggestion::Column::Status,
                Expr::value(SuggestionStatus::Applied),
            )
            .col_expr(
                suggestion::Column::Commit,
                Expr::value(convert::commit_json(commit)),
            )
            .col_expr(
                suggestion::Column::Error,
                Expr::value(Option::<String>::None),
            ),
        FixOutcome::Failed(error) => update
            .col_expr(
                suggestion::Column::Status,
                Expr::value(SuggestionStatus::Failed),
            )
            .col_expr(suggestion::Column::Error, Expr::value(Some(error))),
    };
    update.exec(txn).await?;
    Ok(())
}
