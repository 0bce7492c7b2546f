//! An agent known to the orchestrator, registered over the bus and kept alive by heartbeats.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::enums::{AgentKind, AgentStatus};

/// One row of `agents`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    /// Stable agent id, as the agent registers it (at most 128 characters).
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(128))"
    )]
    pub id: String,
    /// What kind of work it takes.
    pub kind: AgentKind,
    /// Host it runs on.
    pub hostname: String,
    /// Agent software version.
    pub version: String,
    /// Id of the agent's current process instance; changes on every restart.
    pub instance_id: String,
    /// Whether it is heartbeating.
    pub status: AgentStatus,
    /// When it first registered.
    pub registered_at: DateTimeUtc,
    /// When its last heartbeat or registration arrived.
    pub last_seen_at: DateTimeUtc,
    /// JSON array of the inventories an infrastructure agent runs against, the default first:
    /// name, source, groups with their hosts, and the error when one could not be read.
    #[sea_orm(column_type = "JsonBinary")]
    pub inventories: Json,
}

/// Relations of an agent.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Playbooks the agent advertised.
    #[sea_orm(has_many = "super::catalog_playbook::Entity")]
    CatalogPlaybook,
    /// Files of its repository the agent could not index.
    #[sea_orm(has_many = "super::catalog_issue::Entity")]
    CatalogIssue,
}

impl Related<super::catalog_playbook::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CatalogPlaybook.def()
    }
}

impl Related<super::catalog_issue::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CatalogIssue.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
