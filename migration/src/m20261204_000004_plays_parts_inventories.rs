//! Repositories as Ansible reads them: plays with their hosts, tagged parts, inventories, and
//! steps that say which hosts and roles they run and why they carry their risk.
//!
//! - `catalog_playbooks` gain `play_details` (each play with its host pattern resolved in every
//!   inventory), `parts` (what a tag selects inside a site playbook) and `tasks` (the names of
//!   the tasks it runs), JSON arrays.
//! - `agents` gain `inventories`: the inventories an infrastructure agent runs against, with
//!   their groups and hosts, a JSON array.
//! - `steps` gain `risk_reason` (text), `hosts` and `roles` (JSON arrays).
//!
//! Every column has a default, so rows written before this migration stay valid on both backends:
//! an agent's next registration replaces its catalog and inventories, and older steps simply show
//! no hosts, roles or reason. SQLite accepts one change per `ALTER TABLE`, so each column is its
//! own statement.

use sea_orm_migration::{prelude::*, schema::*};

/// The migration adding plays, parts, inventories and step targets.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in added_columns() {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in added_columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The columns this migration adds, in order.
fn added_columns() -> Vec<(DynIden, ColumnDef)> {
    let empty_array = |table: DynIden, column: DynIden| {
        (
            table,
            json_binary(column).default(Expr::val("[]")).to_owned(),
        )
    };
    vec![
        empty_array(
            CatalogPlaybooks::Table.into_iden(),
            CatalogPlaybooks::PlayDetails.into_iden(),
        ),
        empty_array(
            CatalogPlaybooks::Table.into_iden(),
            CatalogPlaybooks::Parts.into_iden(),
        ),
        empty_array(
            CatalogPlaybooks::Table.into_iden(),
            CatalogPlaybooks::Tasks.into_iden(),
        ),
        empty_array(Agents::Table.into_iden(), Agents::Inventories.into_iden()),
        (
            Steps::Table.into_iden(),
            text(Steps::RiskReason).default("").to_owned(),
        ),
        empty_array(Steps::Table.into_iden(), Steps::Hosts.into_iden()),
        empty_array(Steps::Table.into_iden(), Steps::Roles.into_iden()),
    ]
}

#[derive(DeriveIden)]
enum CatalogPlaybooks {
    Table,
    PlayDetails,
    Parts,
    Tasks,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Inventories,
}

#[derive(DeriveIden)]
enum Steps {
    Table,
    RiskReason,
    Hosts,
    Roles,
}
