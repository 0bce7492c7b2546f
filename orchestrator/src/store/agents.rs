//! Agent rows: registration, heartbeats, listing and noticing silence.

use super::{Transaction, now};
use crate::error::{OrchestratorError, Result};
use chiffon_entity::{AgentKind, AgentStatus, agent, catalog_playbook};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
};

/// What an agent process says about itself when it registers.
pub(crate) struct Registration<'a> {
    pub agent_id: &'a str,
    pub kind: AgentKind,
    pub hostname: &'a str,
    pub version: &'a str,
    pub instance_id: &'a str,
    /// Its inventories, stored as JSON.
    pub inventories: serde_json::Value,
}

/// The agent `agent_id`, if known.
pub(crate) async fn find(
    db: &impl ConnectionTrait,
    agent_id: &str,
) -> Result<Option<agent::Model>> {
    Ok(agent::Entity::find_by_id(agent_id.to_owned())
        .one(db)
        .await?)
}

/// The agent `agent_id` if its current process is `instance_id`.
pub(crate) async fn find_process(
    db: &impl ConnectionTrait,
    agent_id: &str,
    instance_id: &str,
) -> Result<agent::Model> {
    find(db, agent_id)
        .await?
        .filter(|agent| agent.instance_id == instance_id)
        .ok_or_else(|| OrchestratorError::UnknownAgent {
            agent_id: agent_id.to_owned(),
            instance_id: instance_id.to_owned(),
        })
}

/// Records `registration` as the agent's current process, online and just seen.
pub(crate) async fn register(
    txn: &Transaction,
    registration: Registration<'_>,
) -> Result<agent::Model> {
    let now = now();
    let row = agent::ActiveModel {
        id: Set(registration.agent_id.to_owned()),
        kind: Set(registration.kind),
        hostname: Set(registration.hostname.to_owned()),
        version: Set(registration.version.to_owned()),
        instance_id: Set(registration.instance_id.to_owned()),
        status: Set(AgentStatus::Online),
        registered_at: Set(now),
        last_seen_at: Set(now),
        inventories: Set(registration.inventories),
    };
    Ok(match find(txn, registration.agent_id).await? {
        Some(_) => row.update(txn).await?,
        None => row.insert(txn).await?,
    })
}

/// Notes that `agent` was just heard from.
pub(crate) async fn seen(db: &impl ConnectionTrait, agent: agent::Model) -> Result<()> {
    let mut active: agent::ActiveModel = agent.into();
    active.last_seen_at = Set(now());
    active.status = Set(AgentStatus::Online);
    active.update(db).await?;
    Ok(())
}

/// Replaces the inventories (JSON) stored with `agent`.
pub(crate) async fn set_inventories(
    txn: &Transaction,
    agent: agent::Model,
    inventories: serde_json::Value,
) -> Result<()> {
    let mut active: agent::ActiveModel = agent.into();
    active.inventories = Set(inventories);
    active.update(txn).await?;
    Ok(())
}

/// Agents by id, of `kind` and `status` when given, each with the size of its catalog.
pub(crate) async fn list(
    db: &impl ConnectionTrait,
    kind: Option<AgentKind>,
    status: Option<AgentStatus>,
) -> Result<Vec<(agent::Model, usize)>> {
    let mut query = agent::Entity::find().order_by_asc(agent::Column::Id);
    if let Some(kind) = kind {
        query = query.filter(agent::Column::Kind.eq(kind));
    }
    if let Some(status) = status {
        query = query.filter(agent::Column::Status.eq(status));
    }
    let mut agents = Vec::new();
    for agent in query.all(db).await? {
        let count = catalog_playbook::Entity::find()
            .filter(catalog_playbook::Column::AgentId.eq(agent.id.clone()))
            .count(db)
            .await?;
        agents.push((agent, count as usize));
    }
    Ok(agents)
}

/// Online agents last heard from before `silent_since`.
pub(crate) async fn silent(
    db: &impl ConnectionTrait,
    silent_since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<agent::Model>> {
    Ok(agent::Entity::find()
        .filter(agent::Column::Status.eq(AgentStatus::Online))
        .filter(agent::Column::LastSeenAt.lt(silent_since))
        .all(db)
        .await?)
}

/// Marks `agent_id` offline unless it was heard from at `silent_since` or later; false when a
/// heartbeat came first.
pub(crate) async fn mark_offline(
    txn: &Transaction,
    agent_id: &str,
    silent_since: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let marked = agent::Entity::update_many()
        .col_expr(agent::Column::Status, Expr::value(AgentStatus::Offline))
        .filter(agent::Column::Id.eq(agent_id.to_owned()))
        .filter(agent::Column::LastSeenAt.lt(silent_since))
        .exec(txn)
        .await?;
    Ok(marked.rows_affected > 0)
}

/// The infrastructure agents by id (only `agent_id`, when given).
pub(crate) async fn infrastructure(
    db: &impl ConnectionTrait,
    agent_id: Option<&str>,
) -> Result<Vec<agent::Model>> {
    let mut query = agent::Entity::find()
        .filter(agent::Column::Kind.eq(AgentKind::Infra))
        .order_by_asc(agent::Column::Id);
    if let Some(agent_id) = agent_id {
        query = query.filter(agent::Column::Id.eq(agent_id.to_owned()));
    }
    Ok(query.all(db).await?)
}
