//! A repository file an infrastructure agent could not index (broken YAML, a file under
//! `playbooks/` that is not a playbook), so people can see why a playbook is missing.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `catalog_issues`; an agent's issues are replaced together with its catalog.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "catalog_issues")]
pub struct Model {
    /// Issue id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Agent that reported it.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub agent_id: String,
    /// Path of the file relative to the repository root.
    pub path: String,
    /// 1-based line of the problem; 0 when unknown.
    pub line: i32,
    /// What is wrong, in the parser's words.
    #[sea_orm(column_type = "Text")]
    pub message: String,
}

/// Relations of a catalog issue.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The agent that reported it.
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
