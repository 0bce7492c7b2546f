//! Questions about the catalog the infrastructure agents reported: list it, look a playbook up,
//! match a task against it, list the files the agents could not index and the inventories they
//! run against; and the rules a reported catalog must follow.
//!
//! Everything here only reads. The catalog is written by the engine, in the transaction that
//! registers an agent or takes its `ReportCatalog`, which replaces the agent's playbooks, issues
//! and inventories together.

use crate::convert;
use crate::engine::{MAX_REQUEST_TEXT, Orchestrator, check_length, is_plain_name};
use crate::error::{OrchestratorError, Result};
use crate::mapping::{self, MatchOutcome};
use chiffon_entity::{AgentKind, agent, catalog_issue};
use chiffon_proto::v1 as pb;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

/// Longest task description matching accepts, in characters; the same as a request's text,
/// since the planner matches parts of requests.
pub const MAX_TASK_TEXT: usize = MAX_REQUEST_TEXT;

/// Most candidates one match returns; larger limits are lowered to it.
pub const MAX_MATCH_LIMIT: usize = 100;

/// Narrows a catalog listing. Empty fields match anything; the others compare without regard
/// to case, and service names also without regard to `-`, `_` or spaces ("Uptime Kuma" finds
/// "uptime-kuma").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaybookFilter {
    /// A tag the playbook must have.
    pub tag: String,
    /// A host pattern the playbook must target.
    pub host: String,
    /// A service the playbook must deploy (its services or its compose stacks' services).
    pub service: String,
    /// The agent that must have reported it.
    pub agent_id: String,
}

impl PlaybookFilter {
    fn admits(&self, playbook: &pb::Playbook) -> bool {
        wanted(&self.tag, playbook.tags.iter(), eq_ignore_case)
            && wanted(&self.host, playbook.hosts.iter(), eq_ignore_case)
            && wanted(
                &self.service,
                playbook.services.iter().chain(
                    playbook
                        .compose_stacks
                        .iter()
                        .flat_map(|stack| &stack.services),
                ),
                same_service,
            )
    }
}

/// True when `filter` is empty or one of `values` is the same as it.
fn wanted<'a>(
    filter: &str,
    mut values: impl Iterator<Item = &'a String>,
    same: fn(&str, &str) -> bool,
) -> bool {
    let filter = filter.trim();
    filter.is_empty() || values.any(|value| same(filter, value))
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Service names as people write them: "Uptime Kuma", "uptime-kuma" and "uptime_kuma" agree.
fn same_service(a: &str, b: &str) -> bool {
    let normal = |name: &str| -> String {
        name.chars()
            .map(|c| match c {
                '-' | '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    };
    normal(a.trim()) == normal(b.trim())
}

/// Longest inventory name, in characters.
const MAX_INVENTORY_NAME: usize = 64;

/// Refuses inventory names a request could not type.
pub(crate) fn validate_inventory_name(name: &str) -> Result<()> {
    if is_plain_name(name, MAX_INVENTORY_NAME) {
        Ok(())
    } else {
        Err(OrchestratorError::InvalidArgument(format!(
            "inventory name \"{name}\" is invalid: use 1 to {MAX_INVENTORY_NAME} letters, \
             digits, '.', '_' or '-', e.g. \"staging\""
        )))
    }
}

/// What an infrastructure agent reports about its repository, as one unit: the engine replaces
/// all of it together.
#[derive(Debug, Clone, Copy)]
pub struct CatalogReport<'a> {
    /// Every playbook of the repository.
    pub playbooks: &'a [pb::Playbook],
    /// What could not be indexed, and what the repository needs but lacks.
    pub issues: &'a [pb::CatalogIssue],
    /// The inventories the agent runs against, the default first.
    pub inventories: &'a [pb::Inventory],
}

/// Refuses catalog entries and issues without a path, issues with a negative line, and
/// inventories without a valid, unique name.
pub(crate) fn validate_catalog(catalog: &CatalogReport<'_>) -> Result<()> {
    let CatalogReport {
        playbooks,
        issues,
        inventories,
    } = catalog;
    let mut names = std::collections::BTreeSet::new();
    for inventory in inventories.iter() {
        validate_inventory_name(&inventory.name)?;
        if !names.insert(inventory.name.as_str()) {
            return Err(OrchestratorError::InvalidArgument(format!(
                "the agent reports two inventories named \"{}\"; names must be unique",
                inventory.name
            )));
        }
    }
    if playbooks
        .iter()
        .any(|playbook| playbook.path.trim().is_empty())
    {
        return Err(OrchestratorError::InvalidArgument(
            "every catalog playbook needs a path".into(),
        ));
    }
    if issues.iter().any(|issue| issue.path.trim().is_empty()) {
        return Err(OrchestratorError::InvalidArgument(
            "every catalog issue needs the path of the file it is about".into(),
        ));
    }
    if let Some(issue) = issues.iter().find(|issue| issue.line < 0) {
        return Err(OrchestratorError::InvalidArgument(format!(
            "catalog issue for {} has line {}; use a 1-based line, or 0 when unknown",
            issue.path, issue.line
        )));
    }
    Ok(())
}

impl Orchestrator {
    /// Catalog entries of infrastructure agents that pass `filter`, by path and then agent.
    /// A path two agents reported is listed once per agent.
    pub async fn list_playbooks(&self, filter: &PlaybookFilter) -> Result<Vec<pb::Playbook>> {
        let agent_id = Some(filter.agent_id.trim()).filter(|id| !id.is_empty());
        let mut playbooks = self.catalog_entries(agent_id).await?;
        playbooks.retain(|playbook| filter.admits(playbook));
        Ok(playbooks)
    }

    /// The playbook at `path` (relative to the repository root; a leading `./` is ignored), as
    /// the planner sees it.
    pub async fn get_playbook(&self, path: &str) -> Result<pb::Playbook> {
        let path = path.trim();
        let path = path.strip_prefix("./").unwrap_or(path);
        if path.is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "path is required, e.g. \"playbooks/deploy-uptime-kuma.yml\"".into(),
            ));
        }
        self.catalog()
            .await?
            .into_iter()
            .find(|playbook| playbook.path == path)
            .ok_or_else(|| OrchestratorError::not_found("catalog playbook", path))
    }

    /// Ranks the catalog for `task`, at most `limit` candidates (0 means
    /// [`mapping::DEFAULT_LIMIT`]), with the configured threshold.
    pub async fn match_playbooks(&self, task: &str, limit: i32) -> Result<MatchOutcome> {
        let task = task.trim();
        if task.is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "the task is empty: describe the work, e.g. \"deploy Uptime Kuma\"".into(),
            ));
        }
        check_length("task", task, MAX_TASK_TEXT)?;
        let limit = match usize::try_from(limit) {
            Ok(0) => mapping::DEFAULT_LIMIT,
            Ok(limit) => limit.min(MAX_MATCH_LIMIT),
            Err(_) => {
                return Err(OrchestratorError::InvalidArgument(format!(
                    "limit is {limit}; use a positive number of matches, or 0 for {}",
                    mapping::DEFAULT_LIMIT
                )));
            }
        };
        let catalog = self.catalog().await?;
        Ok(mapping::rank(
            task,
            &catalog,
            self.config().match_threshold,
            limit,
        ))
    }

    /// The inventories of the infrastructure agents (or only of `agent_id`, when not empty), by
    /// agent, each agent's default first.
    pub async fn list_inventories(&self, agent_id: &str) -> Result<Vec<pb::Inventory>> {
        let mut query = agent::Entity::find()
            .filter(agent::Column::Kind.eq(AgentKind::Infra))
            .order_by_asc(agent::Column::Id);
        let agent_id = agent_id.trim();
        if !agent_id.is_empty() {
            query = query.filter(agent::Column::Id.eq(agent_id.to_owned()));
        }
        let mut inventories = Vec::new();
        for agent in query.all(self.db()).await? {
            inventories.extend(convert::stored_inventories(&agent)?);
        }
        Ok(inventories)
    }

    /// Refuses a request's inventory that no infrastructure agent runs against, naming the ones
    /// they do; an empty name (the agents' default) always passes.
    pub(crate) async fn check_inventory(&self, inventory: &str) -> Result<()> {
        if inventory.is_empty() {
            return Ok(());
        }
        let known: std::collections::BTreeSet<String> = self
            .list_inventories("")
            .await?
            .into_iter()
            .map(|inventory| inventory.name)
            .collect();
        if known.contains(inventory) {
            return Ok(());
        }
        let names = if known.is_empty() {
            "the agents report none yet".to_owned()
        } else {
            format!(
                "the agents know {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        Err(OrchestratorError::InvalidArgument(format!(
            "run_options.inventory \"{inventory}\" is not an inventory of any infrastructure \
             agent ({names}); see chiffon catalog inventories"
        )))
    }

    /// Files the infrastructure agents (or only `agent_id`, when not empty) could not index, by
    /// agent, path and line.
    pub async fn list_catalog_issues(&self, agent_id: &str) -> Result<Vec<pb::CatalogIssue>> {
        let mut query = catalog_issue::Entity::find()
            .inner_join(agent::Entity)
            .filter(agent::Column::Kind.eq(AgentKind::Infra))
            .order_by_asc(catalog_issue::Column::AgentId)
            .order_by_asc(catalog_issue::Column::Path)
            .order_by_asc(catalog_issue::Column::Line);
        let agent_id = agent_id.trim();
        if !agent_id.is_empty() {
            query = query.filter(catalog_issue::Column::AgentId.eq(agent_id.to_owned()));
        }
        let rows = query.all(self.db()).await?;
        Ok(rows.iter().map(convert::catalog_issue).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compare_like_people_write() {
        let playbook = pb::Playbook {
            path: "playbooks/deploy-uptime-kuma.yml".into(),
            tags: vec!["Monitoring".into()],
            hosts: vec!["monitoring".into()],
            compose_stacks: vec![pb::ComposeStack {
                services: vec!["uptime-kuma".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let filter = |tag: &str, host: &str, service: &str| PlaybookFilter {
            tag: tag.into(),
            host: host.into(),
            service: service.into(),
            agent_id: String::new(),
        };
        assert!(filter("", "", "").admits(&playbook));
        assert!(filter("monitoring", "MONITORING", "Uptime Kuma").admits(&playbook));
        assert!(filter("", "", "uptime_kuma").admits(&playbook));
        assert!(!filter("backup", "", "").admits(&playbook));
        assert!(!filter("", "web", "").admits(&playbook));
        assert!(!filter("", "", "uptime").admits(&playbook));
    }
}
