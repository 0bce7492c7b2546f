//! The catalog the infrastructure agents reported, as the planner and the catalog API read it.

use super::Orchestrator;
use crate::catalog::{MAX_MATCH_LIMIT, MAX_TASK_TEXT, PlaybookFilter};
use crate::error::{OrchestratorError, Result};
use crate::mapping::{self, MatchOutcome};
use crate::store;
use crate::validate::check_length;
use chiffon_proto::v1 as pb;

impl Orchestrator {
    /// Every playbook the registered infrastructure agents reported, one per path (when
    /// several agents report a path, the one with the smallest agent id).
    pub(crate) async fn catalog(&self) -> Result<Vec<pb::Playbook>> {
        let mut playbooks = self.catalog_entries(None).await?;
        playbooks.dedup_by(|a, b| a.path == b.path);
        Ok(playbooks)
    }

    /// The catalog entries of infrastructure agents (of `agent_id` only, when given), by path
    /// and then agent.
    pub(crate) async fn catalog_entries(
        &self,
        agent_id: Option<&str>,
    ) -> Result<Vec<pb::Playbook>> {
        store::catalog::playbooks(self.db(), agent_id).await
    }

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
        let agent_id = Some(agent_id.trim()).filter(|id| !id.is_empty());
        let mut inventories = Vec::new();
        for agent in store::agents::infrastructure(self.db(), agent_id).await? {
            inventories.extend(agent.inventories);
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
        let agent_id = Some(agent_id.trim()).filter(|id| !id.is_empty());
        store::catalog::issues(self.db(), agent_id).await
    }
}
