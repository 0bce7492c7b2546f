//! What Ansible itself says about a repository, added to the statically scanned catalog: the
//! inventories with their groups and hosts, the hosts each play selects in each inventory, the
//! tasks each tagged part runs, the playbooks Ansible cannot load, and the Galaxy content that
//! is missing. Every fact comes from a real Ansible tool run in the repository root, so the
//! repository's `ansible.cfg` decides, as it does for runs.

use super::config::EffectiveConfig;
use super::galaxy;
use super::inventory::{DEFAULT_INVENTORY_NAME, read_inventories};
use super::listing::{ListedPlaybook, LoadFailure, list_tasks};
use super::patterns::resolve_targets;
use super::setup::AnsibleSetup;
use crate::catalog::CatalogIssue;
use chiffon_proto::v1::{Inventory, Playbook};
use std::path::{Path, PathBuf};

/// What Ansible adds to a catalog.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AnsibleFacts {
    /// The inventories, the default first.
    pub inventories: Vec<Inventory>,
    /// Playbooks Ansible cannot load, Galaxy content that is missing, and a configuration that
    /// cannot be read.
    pub issues: Vec<CatalogIssue>,
}

/// Asks Ansible about the repository of `setup` and fills in `playbooks` (the static scan's):
/// every play's targets in every inventory and every part's tasks. `known_issues` are the
/// static scan's; an Ansible error at a place one of them already points to is not repeated.
///
/// Runs `ansible-config` first, then `ansible-inventory` (per inventory), `ansible-playbook
/// --list-tasks` and `ansible-galaxy collection list` at the same time. Dropping the future
/// stops every process it started.
pub async fn gather(
    setup: &AnsibleSetup,
    playbooks: &mut [Playbook],
    known_issues: &[CatalogIssue],
) -> AnsibleFacts {
    let config = match EffectiveConfig::read(setup).await {
        Ok(config) => config,
        Err(error) => {
            tracing::warn!(%error, "cannot read Ansible's configuration");
            return unconfigured(setup, &error.to_string());
        }
    };
    let paths: Vec<String> = playbooks.iter().map(|p| p.path.clone()).collect();
    let (inventories, listing, galaxy_issues) = tokio::join!(
        read_inventories(setup, &config),
        list_tasks(setup, &config, &paths),
        galaxy::check(setup, &config, &paths),
    );

    for playbook in playbooks.iter_mut() {
        for play in &mut playbook.play_details {
            play.targets = inventories
                .iter()
                .map(|inventory| resolve_targets(&play.host_pattern, inventory))
                .collect();
        }
        if let Some(listed) = listing.playbooks.get(&playbook.path) {
            fill_part_tasks(playbook, listed);
        }
    }

    let repo = canonical_or_given(&setup.repo).await;
    let mut issues = galaxy_issues;
    for (playbook, failure) in &listing.failures {
        let issue = load_issue(&setup.repo, &repo, playbook, failure);
        let known = known_issues
            .iter()
            .any(|known| known.path == issue.path && known.line == issue.line);
        if !known {
            issues.push(issue);
        }
    }
    issues.sort();
    issues.dedup();
    AnsibleFacts {
        inventories,
        issues,
    }
}

/// The facts when Ansible's configuration cannot be read: every inventory unreadable, and an
/// issue saying why nothing else is known.
fn unconfigured(setup: &AnsibleSetup, error: &str) -> AnsibleFacts {
    let reason = format!("Ansible's configuration cannot be read: {error}");
    let inventories = if setup.inventories.is_empty() {
        vec![Inventory {
            name: DEFAULT_INVENTORY_NAME.to_owned(),
            is_default: true,
            error: reason.clone(),
            ..Inventory::default()
        }]
    } else {
        setup
            .inventories
            .iter()
            .enumerate()
            .map(|(index, source)| Inventory {
                name: source.name.clone(),
                source: source.path.to_string_lossy().into_owned(),
                is_default: index == 0,
                error: reason.clone(),
                ..Inventory::default()
            })
            .collect()
    };
    AnsibleFacts {
        inventories,
        issues: vec![CatalogIssue {
            path: "ansible.cfg".to_owned(),
            line: None,
            message: format!(
                "{reason}; until it can, hosts, task lists and Galaxy requirements are not checked"
            ),
        }],
    }
}

/// Replaces each part's tasks with those Ansible runs for its tags in its plays, in play order
/// (a part with an index Ansible does not list keeps its scanned names). The listing is
/// only trusted when its plays are the static scan's (same count, same names where the scan
/// has one); otherwise the scanned names stay.
fn fill_part_tasks(playbook: &mut Playbook, listed: &ListedPlaybook) {
    if playbook.parts.is_empty() {
        return;
    }
    let same_plays = playbook.play_details.len() == listed.plays.len()
        && playbook
            .play_details
            .iter()
            .zip(&listed.plays)
            .all(|(scanned, listed)| scanned.name.is_empty() || scanned.name == listed.name);
    if !same_plays {
        tracing::debug!(
            playbook = %playbook.path,
            scanned = playbook.play_details.len(),
            listed = listed.plays.len(),
            "Ansible lists other plays than the scan found; keeping the scanned task names"
        );
        return;
    }
    for part in &mut playbook.parts {
        let plays: Option<Vec<_>> = part
            .play_indexes
            .iter()
            .map(|index| {
                usize::try_from(*index)
                    .ok()
                    .and_then(|i| listed.plays.get(i))
            })
            .collect();
        match plays {
            Some(plays) if !plays.is_empty() => {
                part.tasks = plays
                    .iter()
                    .flat_map(|play| play.tasks_selected_by(&part.tags))
                    .collect();
            }
            _ => {}
        }
    }
}

/// The issue for a playbook Ansible cannot load: at Ansible's `Origin` when that is inside the
/// repository, else at the playbook.
fn load_issue(
    given_repo: &Path,
    repo: &Path,
    playbook: &str,
    failure: &LoadFailure,
) -> CatalogIssue {
    let (message, origin) = match failure {
        LoadFailure::Ansible(failure) => (failure.message.as_str(), failure.origin.as_ref()),
        LoadFailure::Other(message) => (message.as_str(), None),
    };
    let inside = origin.and_then(|origin| {
        let relative = origin
            .path
            .strip_prefix(repo)
            .or_else(|_| origin.path.strip_prefix(given_repo))
            .ok()?;
        Some((relative.to_string_lossy().into_owned(), origin.line))
    });
    let elsewhere = match (origin, &inside) {
        (Some(origin), None) => format!(" (in {})", origin.path.display()),
        _ => String::new(),
    };
    let (path, line) = inside.unwrap_or_else(|| (playbook.to_owned(), None));
    CatalogIssue {
        path,
        line,
        message: format!(
            "Ansible cannot load the playbook {playbook}: {message}{elsewhere}; {}",
            advice(message)
        ),
    }
}

/// What to do about an error Ansible gave while loading a playbook.
fn advice(message: &str) -> String {
    let lower = message.to_lowercase();
    let missing_role = message
        .split_once("role '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(name, _)| name)
        .filter(|_| lower.contains("not found"));
    if let Some(role) = missing_role {
        // namespace.collection.role is a role of a collection.
        let mut parts = role.splitn(3, '.');
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(namespace), Some(collection), Some(_)) => format!(
                "install the collection {namespace}.{collection} (name it in requirements.yml \
                 and run `chiffon agent infra --install-requirements`) or correct the role's name"
            ),
            _ => "install the role (name it in requirements.yml and run `chiffon agent infra \
                  --install-requirements`) or correct its name"
                .to_owned(),
        };
    }
    if lower.contains("resolve module/action")
        || lower.contains("collection")
        || lower.contains("could not be resolved")
    {
        "install the collection that provides it (name it in requirements.yml and run `chiffon \
         agent infra --install-requirements`) or correct the name"
    } else if lower.contains("vault") || lower.contains("decrypt") {
        "give the agent the vault password with --vault-password-file"
    } else if lower.contains("yaml") || lower.contains("syntax") {
        "fix the YAML there"
    } else {
        "fix what Ansible reports there; until then its task lists are read from its files"
    }
    .to_owned()
}

async fn canonical_or_given(repo: &Path) -> PathBuf {
    tokio::fs::canonicalize(repo)
        .await
        .unwrap_or_else(|_| repo.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ansible::listing::parse_listing;
    use crate::ansible::setup::{AnsibleFailure, Origin};
    use chiffon_proto::v1::{Play, PlaybookPart};

    #[test]
    fn parts_get_the_tasks_their_tags_select() {
        let listed = parse_listing(
            "playbook: site.yml\n\n  play #1 (all): Site\tTAGS: []\n    tasks:\n      Setup\tTAGS: [always]\n      gitea : Install\tTAGS: [gitea]\n      jellyfin : Install\tTAGS: [jellyfin]\n",
        );
        let mut playbook = Playbook {
            path: "site.yml".into(),
            play_details: vec![Play {
                name: "Site".into(),
                ..Play::default()
            }],
            parts: vec![PlaybookPart {
                name: "gitea".into(),
                tags: vec!["gitea".into()],
                play_indexes: vec![0],
                tasks: vec!["Install".into()],
                ..PlaybookPart::default()
            }],
            ..Playbook::default()
        };
        fill_part_tasks(&mut playbook, &listed["site.yml"]);
        assert_eq!(playbook.parts[0].tasks, ["Setup", "gitea : Install"]);

        // Plays that differ from the scan's leave the scanned names alone.
        let mut other = playbook.clone();
        other.parts[0].tasks = vec!["Install".into()];
        other.play_details[0].name = "Another".into();
        fill_part_tasks(&mut other, &listed["site.yml"]);
        assert_eq!(other.parts[0].tasks, ["Install"]);
    }

    #[test]
    fn load_failures_point_inside_the_repository() {
        let failure = LoadFailure::Ansible(AnsibleFailure {
            message: "the role 'vladgh.samba.server' was not found in /r/roles".into(),
            origin: Some(Origin {
                path: "/r/nas.yml".into(),
                line: Some(14),
            }),
        });
        let issue = load_issue(Path::new("/r"), Path::new("/real/r"), "nas.yml", &failure);
        assert_eq!((issue.path.as_str(), issue.line), ("nas.yml", Some(14)));
        assert_eq!(
            issue.message,
            "Ansible cannot load the playbook nas.yml: the role 'vladgh.samba.server' was not \
             found in /r/roles; install the collection vladgh.samba (name it in \
             requirements.yml and run `chiffon agent infra --install-requirements`) or correct \
             the role's name"
        );
        assert!(advice("the role 'web' was not found in /r/roles").starts_with("install the role"));
        assert!(
            advice("couldn't resolve module/action 'acme.tools.thing'")
                .starts_with("install the collection that")
        );
        assert_eq!(
            advice("Syntax Error while loading YAML."),
            "fix the YAML there"
        );
        let outside = LoadFailure::Ansible(AnsibleFailure {
            message: "no action detected in task".into(),
            origin: Some(Origin {
                path: "/home/u/.ansible/roles/x/tasks/main.yml".into(),
                line: Some(3),
            }),
        });
        let issue = load_issue(Path::new("/r"), Path::new("/r"), "site.yml", &outside);
        assert_eq!((issue.path.as_str(), issue.line), ("site.yml", None));
        assert!(
            issue
                .message
                .contains("(in /home/u/.ansible/roles/x/tasks/main.yml)"),
            "{}",
            issue.message
        );
    }
}
