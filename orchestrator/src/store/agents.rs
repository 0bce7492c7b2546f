//! Agent rows: registration, heartbeats, listing and noticing silence.

use super::{Transaction, now, rows};
use crate::domain::{Agent, AgentKind, AgentStatus};
use crate::error::{OrchestratorError, Result};
use chiffon_entity::{agent, catalog_playbook};
use chiffon_proto::v1 as pb;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{Set, Unchanged},
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _,
};

/// What an agent process says about itself when it registers.
pub(crate) struct Registration<'a> {
    pub agent_id: &'a str,
    pub kind: AgentKind,
    pub hostname: &'a str,
    pub version: &'a str,
    pub instance_id: &'a str,
    /// The inventories it runs against, its default first.
    pub inventories: &'a [pb::Inventory],
}

/// The agent `agent_id`, if known.
pub(crate) async fn find(db: &impl ConnectionTrait, agent_id: &str) -> Result<Option<Agent>> {
    agent::Entity::find_by_id(agent_id.to_owned())
        .one(db)
        .await?
        .map(rows::agent)
        .transpose()
}

/// Every row of `query`, as agents.
async fn all(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<agent::Entity>,
) -> Result<Vec<Agent>> {
    query.all(db).await?.into_iter().map(rows::agent).collect()
}

/// The agent `agent_id` if its current process is `instance_id`.
pub(crate) async fn find_process(
    db: &impl ConnectionTrait,
    agent_id: &str,
    instance_id: &str,
) -> Result<Agent> {
    find(db, agent_id)
        .await?
        .filter(|agent| agent.instance_id == instance_id)
        .ok_or_else(|| OrchestratorError::UnknownAgent {
            agent_id: agent_id.to_owned(),
            instance_id: instance_id.to_owned(),
        })
}

/// Records `registration` as the agent's current process, online and just seen.
pub(crate) async fn register(txn: &Transaction, registration: Registration<'_>) -> Result<Agent> {
    let now = now();
    let row = agent::ActiveModel {
        id: Set(registration.agent_id.to_owned()),
        kind: Set(registration.kind.into()),
        hostname: Set(registration.hostname.to_owned()),
        version: Set(registration.version.to_owned()),
        instance_id: Set(registration.instance_id.to_owned()),
        status: Set(AgentStatus::Online.into()),
        registered_at: Set(now),
        last_seen_at: Set(now),
        inventories: Set(rows::inventories_json(registration.inventories)),
    };
    let row = match find(txn, registration.agent_id).await? {
        Some(_) => row.update(txn).await?,
        None => row.insert(txn).await?,
    };
    rows::agent(row)
}

/// Notes that `agent` was just heard from.
pub(crate) async fn seen(db: &impl ConnectionTrait, agent: &Agent) -> Result<()> {
    agent::ActiveModel {
        id: Unchanged(agent.id.clone()),
        last_seen_at: Set(now()),
        status: Set(AgentStatus::Online.into()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Replaces the inventories stored with `agent`.
pub(crate) async fn set_inventories(
    txn: &Transaction,
    agent: &Agent,
    inventories: &[pb::Inventory],
) -> Result<()> {
    agent::ActiveModel {
        id: Unchanged(agent.id.clone()),
        inventories: Set(rows::inventories_json(inventories)),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(())
}

/// Agents by id, of `kind` and `status` when given, each with the size of its catalog.
pub(crate) async fn list(
    db: &impl ConnectionTrait,
    kind: Option<AgentKind>,
    status: Option<AgentStatus>,
) -> Result<Vec<(Agent, usize)>> {
    let mut query = agent::Entity::find().order_by_asc(agent::Column::Id);
    if let Some(kind) = kind {
        query = query.filter(agent::Column::Kind.eq(chiffon_entity::AgentKind::from(kind)));
    }
    if let Some(status) = status {
        query = query.filter(agent::Column::Status.eq(chiffon_entity::AgentStatus::from(status)));
    }
    let mut agents = Vec::new();
    for agent in all(db, query).await? {
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
) -> Result<Vec<Agent>> {
    let query = agent::Entity::find()
        .filter(agent::Column::Status.eq(chiffon_entity::AgentStatus::Online))
        .filter(agent::Column::LastSeenAt.lt(silent_since));
    all(db, query).await
}

/// Marks `agent_id` offline unless it was heard from at `silent_since` or later; false when a
/// heartbeat came first.
pub(crate) async fn mark_offline(
    txn: &Transaction,
    agent_id: &str,
    silent_since: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let marked = agent::Entity::update_many()
        .col_expr(
            agent::Column::Status,
            Expr::value(chiffon_entity::AgentStatus::Offline),
        )
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
) -> Result<Vec<Agent>> {
    let mut query = agent::Entity::find()
        .filter(agent::Column::Kind.eq(chiffon_entity::AgentKind::Infra))
        .order_by_asc(agent::Column::Id);
    if let Some(agent_id) = agent_id {
        query = query.filter(agent::Column::Id.eq(agent_id.to_owned()));
    }
    all(db, query).await
}
