//! Turns a request's text into a plan made of catalog playbooks.
//!
//! This is the catalog planner: it splits the request into clauses ("deploy X and add Y to its
//! config" is two), ranks the catalog for each clause with [`mapping`](crate::mapping), and makes
//! one step per clause from the best match when it reaches the confidence threshold. A clause
//! below it becomes a step that needs a custom playbook, which keeps the plan from being approved
//! until someone writes one. Steps run in the order the request names them.

use crate::mapping::{self, MatchOutcome, Matcher};
use chiffon_entity::step::RiskLevel;
use chiffon_proto::v1::Playbook;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Name recorded as the planner of plans made here.
pub const CATALOG_PLANNER: &str = "catalog";

/// Candidates considered per clause: the best one, and the closest ones named when none fits.
const CANDIDATES_PER_CLAUSE: usize = 2;
/// Default estimate for a playbook run, until runs are measured.
const DEFAULT_ESTIMATE_SECONDS: i64 = 60;

/// A plan before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDraft {
    /// One paragraph for the reviewer.
    pub summary: String,
    /// The steps, in order.
    pub steps: Vec<StepDraft>,
}

/// A step before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepDraft {
    /// 1-based position.
    pub position: i32,
    /// Short imperative title.
    pub title: String,
    /// Why this step is there.
    pub rationale: String,
    /// Catalog playbook to run; `None` when a custom playbook is needed.
    pub playbook: Option<String>,
    /// Positions that must succeed first.
    pub depends_on: Vec<i32>,
    /// How much harm it can do.
    #[serde(serialize_with = "serialize_risk")]
    pub risk: RiskLevel,
    /// Estimated run time.
    pub estimated_seconds: i64,
    /// Extra variables for the playbook.
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
}

fn serialize_risk<S: serde::Serializer>(
    risk: &RiskLevel,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match risk {
        RiskLevel::Low => "low",
        RiskLevel::Medium => "medium",
        RiskLevel::High => "high",
    })
}

impl PlanDraft {
    /// SHA-256 (hex) of everything an approval vouches for: summary and steps with their
    /// playbooks, variables, dependencies and risk. serde_json orders object keys, so the same
    /// content always hashes the same.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a plan draft always serialises to JSON");
        hex::encode(Sha256::digest(canonical))
    }

    /// True when some step has no playbook yet.
    pub fn needs_custom_playbook(&self) -> bool {
        self.steps.iter().any(|step| step.playbook.is_none())
    }
}

/// Plans `text` (plus reviewer `feedback`, which may name further work) against `catalog`, with
/// the default confidence threshold.
pub fn plan(text: &str, feedback: &str, catalog: &[Playbook]) -> PlanDraft {
    plan_with_threshold(text, feedback, catalog, mapping::DEFAULT_THRESHOLD)
}

/// Plans `text` and `feedback` against `catalog`; a clause's best playbook is used only when its
/// confidence reaches `threshold`.
pub fn plan_with_threshold(
    text: &str,
    feedback: &str,
    catalog: &[Playbook],
    threshold: f64,
) -> PlanDraft {
    let matcher = Matcher::new(catalog);
    let mut steps: Vec<StepDraft> = Vec::new();
    // The service the previous clause was about, for the clauses that refer back to it.
    let mut subject: Option<String> = None;
    for clause in clauses(text).into_iter().chain(clauses(feedback)) {
        let clause = resolve_references(&clause, subject.as_deref());
        let outcome = matcher.rank(&clause, threshold, CANDIDATES_PER_CLAUSE);
        subject = outcome
            .best_fit()
            .and_then(|found| found.playbook.services.first())
            .map(|service| service.replace(['-', '_'], " "))
            .or(subject);
        let position = steps.len() as i32 + 1;
        let step = match outcome.best_fit() {
            Some(found) => {
                if steps
                    .iter()
                    .any(|step| step.playbook.as_deref() == Some(&found.playbook.path))
                {
                    continue;
                }
                StepDraft {
                    position,
                    title: title_for(&found.playbook),
                    rationale: format!(
                        "\"{clause}\" matches {} with confidence {:.2}: {}",
                        found.playbook.path,
                        found.confidence,
                        found.reasons.join("; ")
                    ),
                    playbook: Some(found.playbook.path.clone()),
                    depends_on: Vec::new(),
                    risk: risk_of(&found.playbook),
                    estimated_seconds: DEFAULT_ESTIMATE_SECONDS,
                    extra_vars: serde_json::Map::new(),
                }
            }
            None => StepDraft {
                position,
                title: capitalise(&clause),
                rationale: no_fit_rationale(&clause, &outcome),
                playbook: None,
                depends_on: Vec::new(),
                risk: RiskLevel::High,
                estimated_seconds: 0,
                extra_vars: serde_json::Map::new(),
            },
        };
        steps.push(step);
    }
    // Later clauses usually build on earlier ones ("deploy X and add Y to its config"), so each
    // step waits for the one before it.
    for index in 1..steps.len() {
        steps[index].depends_on = vec![steps[index - 1].position];
    }
    PlanDraft {
        summary: summary(text, &steps),
        steps,
    }
}

/// Why a clause got no playbook: the closest candidate and its confidence, and what to write.
fn no_fit_rationale(clause: &str, outcome: &MatchOutcome) -> String {
    let closest = match outcome.matches.first() {
        Some(closest) => format!(
            " (closest: {} with confidence {:.2}, below the {:.2} needed)",
            closest.playbook.path, closest.confidence, outcome.threshold
        ),
        None => String::new(),
    };
    format!(
        "no playbook in the catalog fits \"{clause}\"{closest}; write one, then revise the plan"
    )
}

fn summary(text: &str, steps: &[StepDraft]) -> String {
    let runs: Vec<String> = steps
        .iter()
        .map(|step| match &step.playbook {
            Some(path) => format!("{}. {} ({path})", step.position, step.title),
            None => format!("{}. {} (no playbook yet)", step.position, step.title),
        })
        .collect();
    let mut summary = match steps.len() {
        0 => format!("Nothing in \"{text}\" names work a playbook could do."),
        1 => format!("For \"{text}\", run one step: {}.", runs.join("")),
        n => format!(
            "For \"{text}\", run {n} steps in order: {}.",
            runs.join("; ")
        ),
    };
    if steps.iter().any(|step| step.playbook.is_none()) {
        summary.push_str(
            " Some work has no playbook in the catalog, so this plan cannot be approved as it is.",
        );
    }
    summary
}

fn title_for(playbook: &Playbook) -> String {
    if playbook.name.trim().is_empty() {
        capitalise(&playbook.path)
    } else {
        capitalise(playbook.name.trim())
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Risk from what the playbook's words say it does.
fn risk_of(playbook: &Playbook) -> RiskLevel {
    let words = mapping::content_stems(&format!(
        "{} {} {}",
        playbook.path,
        playbook.name,
        playbook.tags.join(" ")
    ));
    let any = |list: &[&str]| list.iter().any(|word| words.contains(&mapping::stem(word)));
    if any(&[
        "remove", "delete", "destroy", "wipe", "purge", "upgrade", "reboot", "restore",
    ]) {
        RiskLevel::High
    } else if any(&[
        "healthcheck",
        "health",
        "check",
        "report",
        "status",
        "facts",
        "ping",
    ]) {
        RiskLevel::Low
    } else {
        RiskLevel::Medium
    }
}

/// `clause` with the pronouns that point back ("add the portals to its config") replaced by
/// `subject`, the service the clause before was about; unchanged without a subject.
fn resolve_references(clause: &str, subject: Option<&str>) -> String {
    let Some(subject) = subject else {
        return clause.to_owned();
    };
    clause
        .split(' ')
        .map(|word| match word.to_ascii_lowercase().as_str() {
            "its" | "their" => format!("{subject}'s"),
            "it" | "them" => subject.to_owned(),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The parts of `text` that each name one piece of work, without ones that have no content
/// words at all.
fn clauses(text: &str) -> Vec<String> {
    let mut parts = vec![text.to_owned()];
    for separator in [";", ",", ". ", " and then ", " then ", " and ", " also "] {
        parts = parts
            .iter()
            .flat_map(|part| part.split(separator).map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    parts
        .into_iter()
        .map(|part| part.trim().trim_end_matches('.').trim().to_owned())
        .filter(|part| !mapping::content_stems(part).is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A playbook whose first tag is the service it deploys, as in the example repository.
    fn playbook(path: &str, name: &str, tags: &[&str], description: &str) -> Playbook {
        Playbook {
            services: tags.iter().take(1).map(|tag| (*tag).to_owned()).collect(),
            path: path.to_owned(),
            name: name.to_owned(),
            hosts: vec!["all".to_owned()],
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            description: description.to_owned(),
            ..Playbook::default()
        }
    }

    fn homelab() -> Vec<Playbook> {
        vec![
            playbook(
                "playbooks/deploy-uptime-kuma.yml",
                "Deploy Uptime Kuma",
                &["uptime-kuma", "monitoring"],
                "Deploys the Uptime Kuma monitoring stack with docker compose.",
            ),
            playbook(
                "playbooks/configure-uptime-kuma-monitors.yml",
                "Configure Uptime Kuma monitors",
                &["uptime-kuma", "monitors"],
                "Adds every portal defined for the web hosts to Uptime Kuma as a monitor.",
            ),
            playbook(
                "playbooks/deploy-portal.yml",
                "Deploy the portal",
                &["portal", "web"],
                "Deploys the homelab start page listing every service.",
            ),
            playbook(
                "playbooks/backup-nas.yml",
                "Back up the NAS",
                &["backup", "nas"],
                "Archives the NAS shares.",
            ),
        ]
    }

    fn playbooks_of(draft: &PlanDraft) -> Vec<Option<&str>> {
        draft
            .steps
            .iter()
            .map(|step| step.playbook.as_deref())
            .collect()
    }

    #[test]
    fn the_flagship_request_becomes_deploy_then_configure() {
        let draft = plan(
            "Deploy Uptime Kuma to the homelab and add our existing portals to its config",
            "",
            &homelab(),
        );
        assert_eq!(
            playbooks_of(&draft),
            [
                Some("playbooks/deploy-uptime-kuma.yml"),
                Some("playbooks/configure-uptime-kuma-monitors.yml")
            ]
        );
        assert_eq!(draft.steps[1].depends_on, [1]);
        assert!(!draft.needs_custom_playbook());
    }

    #[test]
    fn work_without_a_playbook_needs_a_custom_one() {
        let draft = plan("Install a Minecraft server", "", &homelab());
        assert_eq!(playbooks_of(&draft), [None]);
        assert!(draft.needs_custom_playbook());
        assert!(
            draft.summary.contains("cannot be approved"),
            "{}",
            draft.summary
        );
    }

    #[test]
    fn feedback_adds_work_to_the_plan() {
        let draft = plan("Back up the NAS", "also deploy uptime kuma", &homelab());
        assert_eq!(
            playbooks_of(&draft),
            [
                Some("playbooks/backup-nas.yml"),
                Some("playbooks/deploy-uptime-kuma.yml")
            ]
        );
    }

    #[test]
    fn the_same_playbook_is_never_planned_twice() {
        let draft = plan(
            "deploy uptime kuma, then deploy uptime kuma again",
            "",
            &homelab(),
        );
        assert_eq!(
            playbooks_of(&draft),
            [Some("playbooks/deploy-uptime-kuma.yml")]
        );
    }

    #[test]
    fn an_empty_catalog_plans_custom_work() {
        let draft = plan("Deploy Uptime Kuma", "", &[]);
        assert!(draft.needs_custom_playbook());
    }

    #[test]
    fn the_hash_covers_the_content() {
        let first = plan("Deploy Uptime Kuma", "", &homelab());
        let same = plan("Deploy Uptime Kuma", "", &homelab());
        let other = plan("Back up the NAS", "", &homelab());
        assert_eq!(first.content_hash(), same.content_hash());
        assert_ne!(first.content_hash(), other.content_hash());
        assert_eq!(first.content_hash().len(), 64);
    }

    #[test]
    fn risk_follows_what_the_playbook_does() {
        assert_eq!(
            risk_of(&playbook(
                "playbooks/healthcheck.yml",
                "Healthcheck",
                &[],
                ""
            )),
            RiskLevel::Low
        );
        assert_eq!(
            risk_of(&playbook("playbooks/wipe-disk.yml", "Wipe", &[], "")),
            RiskLevel::High
        );
        assert_eq!(risk_of(&homelab()[0]), RiskLevel::Medium);
    }
}
