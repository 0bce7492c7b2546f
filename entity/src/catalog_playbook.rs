//! A playbook an agent advertised in its catalog; the planner chooses steps from these.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `catalog_playbooks`; `(agent_id, path)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "catalog_playbooks")]
pub struct Model {
    /// Catalog entry id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Agent that advertised it.
    #[sea_orm(column_type = "String(StringLen::N(128))", unique_key = "agent_path")]
    pub agent_id: String,
    /// Path relative to the agent's catalog root.
    #[sea_orm(unique_key = "agent_path")]
    pub path: String,
    /// Play name.
    pub name: String,
    /// JSON array of the host patterns the playbook targets.
    #[sea_orm(column_type = "JsonBinary")]
    pub hosts: Json,
    /// JSON array of its tags.
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Json,
    /// Description from the playbook's header, for the planner.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// JSON array of the roles it uses, transitively, in order of first use.
    #[sea_orm(column_type = "JsonBinary")]
    pub roles: Json,
    /// JSON array of the services it deploys or configures.
    #[sea_orm(column_type = "JsonBinary")]
    pub services: Json,
    /// JSON array of the compose stacks it ships: objects with `path`, `services`, `images`.
    #[sea_orm(column_type = "JsonBinary")]
    pub compose_stacks: Json,
    /// JSON array of the template files it renders.
    #[sea_orm(column_type = "JsonBinary")]
    pub templates: Json,
    /// JSON array of the variables it reads: objects with `name`, `default_source`,
    /// `default_value`.
    #[sea_orm(column_type = "JsonBinary")]
    pub variables: Json,
    /// JSON array of its play names, in order.
    #[sea_orm(column_type = "JsonBinary")]
    pub plays: Json,
    /// JSON array of its plays: name, file, host pattern, tags, roles and the hosts the pattern
    /// selects in each inventory.
    #[sea_orm(column_type = "JsonBinary")]
    pub play_details: Json,
    /// JSON array of the parts tags select inside it: name, tags, play, roles, services, images,
    /// templates, variables, tasks, handlers and description.
    #[sea_orm(column_type = "JsonBinary")]
    pub parts: Json,
    /// JSON array of the names of the tasks it runs, in order.
    #[sea_orm(column_type = "JsonBinary")]
    pub tasks: Json,
    /// JSON array of the names of the handlers its plays and roles define.
    #[sea_orm(column_type = "JsonBinary")]
    pub handlers: Json,
}

/// Relations of a catalog entry.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The agent that advertised it.
    #[sea_orm(
        belongs_to = "super::agent::Entity",
        from = "Column::AgentId",
        to = "super::agent::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Agent,
}

impl Related<super::agent::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
