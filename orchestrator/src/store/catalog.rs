//! Catalog rows: the playbooks and issues each infrastructure agent reported.

use super::Transaction;
use crate::catalog::CatalogReport;
use crate::convert;
use crate::error::Result;
use chiffon_entity::{AgentKind, agent, catalog_issue, catalog_playbook};
use chiffon_proto::v1 as pb;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

/// Makes the report's playbooks the whole catalog of `agent_id` and its issues the whole list of
/// what it could not index, in the caller's transaction so readers never see one without the
/// other. The caller stores the inventories with the agent row.
pub(crate) async fn replace(
    txn: &Transaction,
    agent_id: &str,
    catalog: &CatalogReport<'_>,
) -> Result<()> {
    let CatalogReport {
        playbooks, issues, ..
    } = *catalog;
    catalog_playbook::Entity::delete_many()
        .filter(catalog_playbook::Column::AgentId.eq(agent_id.to_owned()))
        .exec(txn)
        .await?;
    catalog_issue::Entity::delete_many()
        .filter(catalog_issue::Column::AgentId.eq(agent_id.to_owned()))
        .exec(txn)
        .await?;
    // A path is unique per agent; a repeated one (a bug in the agent) keeps its first entry.
    let mut seen = std::collections::BTreeSet::new();
    for playbook in playbooks
        .iter()
        .filter(|playbook| seen.insert(playbook.path.clone()))
    {
        playbook_row(agent_id, playbook).insert(txn).await?;
    }
    for issue in issues {
        issue_row(agent_id, issue).insert(txn).await?;
    }
    Ok(())
}

/// The row that stores `playbook` in `agent_id`'s catalog.
fn playbook_row(agent_id: &str, playbook: &pb::Playbook) -> catalog_playbook::ActiveModel {
    catalog_playbook::ActiveModel {
        id: Set(Uuid::now_v7()),
        agent_id: Set(agent_id.to_owned()),
        path: Set(playbook.path.clone()),
        name: Set(playbook.name.clone()),
        hosts: Set(serde_json::json!(playbook.hosts)),
        tags: Set(serde_json::json!(playbook.tags)),
        description: Set(playbook.description.clone()),
        roles: Set(serde_json::json!(playbook.roles)),
        services: Set(serde_json::json!(playbook.services)),
        compose_stacks: Set(convert::compose_stacks_json(playbook)),
        templates: Set(serde_json::json!(playbook.templates)),
        variables: Set(convert::variables_json(playbook)),
        plays: Set(serde_json::json!(playbook.plays)),
        play_details: Set(serde_json::json!(playbook.play_details)),
        parts: Set(serde_json::json!(playbook.parts)),
        tasks: Set(serde_json::json!(playbook.tasks)),
        handlers: Set(serde_json::json!(playbook.handlers)),
    }
}

/// The row that stores `issue` among `agent_id`'s catalog issues.
fn issue_row(agent_id: &str, issue: &pb::CatalogIssue) -> catalog_issue::ActiveModel {
    catalog_issue::ActiveModel {
        id: Set(Uuid::now_v7()),
        agent_id: Set(agent_id.to_owned()),
        path: Set(issue.path.clone()),
        line: Set(issue.line),
        message: Set(issue.message.clone()),
    }
}

/// The catalog entries of infrastructure agents (of `agent_id` only, when given), by path and
/// then agent.
pub(crate) async fn playbooks(
    db: &impl ConnectionTrait,
    agent_id: Option<&str>,
) -> Result<Vec<pb::Playbook>> {
    let mut query = catalog_playbook::Entity::find()
        .inner_join(agent::Entity)
        .filter(agent::Column::Kind.eq(AgentKind::Infra))
        .order_by_asc(catalog_playbook::Column::Path)
        .order_by_asc(catalog_playbook::Column::AgentId);
    if let Some(agent_id) = agent_id {
        query = query.filter(catalog_playbook::Column::AgentId.eq(agent_id.to_owned()));
    }
    let rows = query.all(db).await?;
    rows.iter().map(convert::catalog_playbook).collect()
}

/// What the infrastructure agents (only `agent_id`, when given) could not index, by agent, path
/// and line.
pub(crate) async fn issues(
    db: &impl ConnectionTrait,
    agent_id: Option<&str>,
) -> Result<Vec<pb::CatalogIssue>> {
    let mut query = catalog_issue::Entity::find()
        .inner_join(agent::Entity)
        .filter(agent::Column::Kind.eq(AgentKind::Infra))
        .order_by_asc(catalog_issue::Column::AgentId)
        .order_by_asc(catalog_issue::Column::Path)
        .order_by_asc(catalog_issue::Column::Line);
    if let Some(agent_id) = agent_id {
        query = query.filter(catalog_issue::Column::AgentId.eq(agent_id.to_owned()));
    }
    let rows = query.all(db).await?;
    Ok(rows.iter().map(convert::catalog_issue).collect())
}
