//! The catalog the infrastructure agents report: the rules a report must follow, the filter a
//! listing applies, and the limits of matching.
//!
//! The questions themselves (list, get, match, issues, inventories) are answered by the engine
//! (`engine/catalog.rs`); the catalog is written in the transaction that registers an agent or
//! takes its `ReportCatalog`, which replaces the agent's playbooks, issues and inventories
//! together.

use crate::error::{OrchestratorError, Result};
use crate::validate::MAX_REQUEST_TEXT;
use crate::validate::invalid;
use chiffon_proto::v1 as pb;

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
    pub(crate) fn admits(&self, playbook: &pb::Playbook) -> bool {
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

/// Service names as people write them: "Uptime Kuma", "uptime-kuma" and "uptime.kuma" agree.
fn same_service(a: &str, b: &str) -> bool {
    chiffon_types::slug(a) == chiffon_types::slug(b)
}

/// Refuses inventory names a request could not type.
pub(crate) fn validate_inventory_name(name: &str) -> Result<()> {
    chiffon_types::check_inventory_name(name).map_err(|error| invalid("inventory name", &error))
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

impl<'a> CatalogReport<'a> {
    /// The report of `playbooks`, `issues` and `inventories`, checked: see [`validate_catalog`].
    pub(crate) fn checked(
        playbooks: &'a [pb::Playbook],
        issues: &'a [pb::CatalogIssue],
        inventories: &'a [pb::Inventory],
    ) -> Result<Self> {
        let report = Self {
            playbooks,
            issues,
            inventories,
        };
        validate_catalog(&report)?;
        Ok(report)
    }
}

/// Refuses catalog entries and issues without a path, issues with a negative line, and
/// inventories without a valid, unique name.
fn validate_catalog(catalog: &CatalogReport<'_>) -> Result<()> {
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
        // The agents' scan, the planner and this filter share one slug for service names.
        assert!(filter("", "", "uptime.kuma").admits(&playbook));
        assert!(!filter("backup", "", "").admits(&playbook));
        assert!(!filter("", "web", "").admits(&playbook));
        assert!(!filter("", "", "uptime").admits(&playbook));
    }
}
