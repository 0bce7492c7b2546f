//! Catalog rows: the playbooks and issues each infrastructure agent reported.

use super::Transaction;
use super::rows;
use crate::catalog::CatalogReport;
use crate::error::Result;
use chiffon_entity::{AgentKind, agent, catalog_issue, catalog_playbook};
use chiffon_proto::v1 as pb;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _,
};
use serde::{Deserialize, Serialize};
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
        compose_stacks: Set(compose_stacks_json(playbook)),
        templates: Set(serde_json::json!(playbook.templates)),
        variables: Set(variables_json(playbook)),
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
    rows.iter().map(catalog_playbook).collect()
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
    Ok(rows.iter().map(catalog_issue).collect())
}

/// A compose stack as stored in `catalog_playbooks.compose_stacks`.
#[derive(Serialize, Deserialize)]
struct StoredComposeStack {
    path: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
}

/// A variable as stored in `catalog_playbooks.variables`.
#[derive(Serialize, Deserialize)]
struct StoredVariable {
    name: String,
    #[serde(default)]
    default_source: String,
    #[serde(default)]
    default_value: String,
}

/// The JSON a catalog row keeps `playbook`'s compose stacks in.
fn compose_stacks_json(playbook: &pb::Playbook) -> serde_json::Value {
    let stacks: Vec<StoredComposeStack> = playbook
        .compose_stacks
        .iter()
        .map(|stack| StoredComposeStack {
            path: stack.path.clone(),
            services: stack.services.clone(),
            images: stack.images.clone(),
        })
        .collect();
    serde_json::json!(stacks)
}

/// The JSON a catalog row keeps `playbook`'s variables in.
fn variables_json(playbook: &pb::Playbook) -> serde_json::Value {
    let variables: Vec<StoredVariable> = playbook
        .variables
        .iter()
        .map(|variable| StoredVariable {
            name: variable.name.clone(),
            default_source: variable.default_source.clone(),
            default_value: variable.default_value.clone(),
        })
        .collect();
    serde_json::json!(variables)
}

/// A stored catalog row as the API and the planner see it.
fn catalog_playbook(row: &catalog_playbook::Model) -> Result<pb::Playbook> {
    let stacks: Vec<StoredComposeStack> = rows::json_list("compose stacks", &row.compose_stacks)?;
    let variables: Vec<StoredVariable> = rows::json_list("playbook variables", &row.variables)?;
    Ok(pb::Playbook {
        path: row.path.clone(),
        name: row.name.clone(),
        hosts: rows::json_list("playbook hosts", &row.hosts)?,
        tags: rows::json_list("playbook tags", &row.tags)?,
        description: row.description.clone(),
        roles: rows::json_list("playbook roles", &row.roles)?,
        services: rows::json_list("playbook services", &row.services)?,
        compose_stacks: stacks
            .into_iter()
            .map(|stack| pb::ComposeStack {
                path: stack.path,
                services: stack.services,
                images: stack.images,
            })
            .collect(),
        templates: rows::json_list("playbook templates", &row.templates)?,
        variables: variables
            .into_iter()
            .map(|variable| pb::PlaybookVariable {
                name: variable.name,
                default_source: variable.default_source,
                default_value: variable.default_value,
            })
            .collect(),
        plays: rows::json_list("play names", &row.plays)?,
        agent_id: row.agent_id.clone(),
        play_details: rows::json_list("plays", &row.play_details)?,
        parts: rows::json_list("playbook parts", &row.parts)?,
        tasks: rows::json_list("playbook tasks", &row.tasks)?,
        handlers: rows::json_list("playbook handlers", &row.handlers)?,
    })
}

/// A stored catalog issue.
fn catalog_issue(row: &catalog_issue::Model) -> pb::CatalogIssue {
    pb::CatalogIssue {
        path: row.path.clone(),
        line: row.line,
        message: row.message.clone(),
        agent_id: row.agent_id.clone(),
    }
}
