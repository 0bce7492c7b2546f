//! Turns a request's text into a plan made of catalog playbooks.
//!
//! This is the catalog planner: it splits the request into clauses ("deploy X and add Y to its
//! config" is two), matches each clause against the words of every playbook's path, name, tags
//! and description, and makes one step per clause from the best match. A clause nothing matches
//! becomes a step that needs a custom playbook, which keeps the plan from being approved until
//! someone writes one. Steps run in the order the request names them.

use chiffon_entity::step::RiskLevel;
use chiffon_proto::v1::Playbook;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;

/// Name recorded as the planner of plans made here.
pub const CATALOG_PLANNER: &str = "catalog";

/// A clause must score at least this much against a playbook for the playbook to be used: one
/// strong match (name, path or tag) or two weaker ones (description words).
const MIN_SCORE: u32 = 2;
/// Score of a clause word found in a playbook's path, name or tags.
const STRONG_MATCH: u32 = 2;
/// Score of a clause word found only in a playbook's description.
const WEAK_MATCH: u32 = 1;
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

/// Plans `text` (plus reviewer `feedback`, which may name further work) against `catalog`.
pub fn plan(text: &str, feedback: &str, catalog: &[Playbook]) -> PlanDraft {
    let indexed: Vec<IndexedPlaybook<'_>> = catalog.iter().map(IndexedPlaybook::new).collect();
    let mut steps: Vec<StepDraft> = Vec::new();
    for clause in clauses(text).into_iter().chain(clauses(feedback)) {
        let best = indexed
            .iter()
            .map(|playbook| (playbook.score(&clause), playbook))
            .filter(|(score, _)| *score >= MIN_SCORE)
            // Highest score wins; on a tie the earlier path wins, so plans are deterministic.
            .max_by(|(a, pa), (b, pb)| {
                a.cmp(b)
                    .then_with(|| pb.playbook.path.cmp(&pa.playbook.path))
            });
        let position = steps.len() as i32 + 1;
        let step = match best {
            Some((_, found)) => {
                if steps
                    .iter()
                    .any(|step| step.playbook.as_deref() == Some(&found.playbook.path))
                {
                    continue;
                }
                let matched: Vec<&str> = found.matched_words(&clause);
                StepDraft {
                    position,
                    title: title_for(found.playbook),
                    rationale: format!(
                        "\"{}\" matches {} ({})",
                        clause.text,
                        found.playbook.path,
                        matched.join(", ")
                    ),
                    playbook: Some(found.playbook.path.clone()),
                    depends_on: Vec::new(),
                    risk: risk_of(found.playbook),
                    estimated_seconds: DEFAULT_ESTIMATE_SECONDS,
                    extra_vars: serde_json::Map::new(),
                }
            }
            None => StepDraft {
                position,
                title: capitalise(&clause.text),
                rationale: format!(
                    "no playbook in the catalog fits \"{}\"; write one, then revise the plan",
                    clause.text
                ),
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
    let words = words_of(&format!(
        "{} {} {}",
        playbook.path,
        playbook.name,
        playbook.tags.join(" ")
    ));
    let any = |list: &[&str]| list.iter().any(|word| words.contains(*word));
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

/// A part of the request that names one piece of work.
#[derive(Debug)]
struct Clause {
    text: String,
    words: BTreeSet<String>,
}

fn clauses(text: &str) -> Vec<Clause> {
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
        .filter_map(|part| {
            let words = words_of(&part);
            (!words.is_empty()).then_some(Clause { text: part, words })
        })
        .collect()
}

/// Words that say nothing about which playbook to run.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "to",
    "of",
    "on",
    "in",
    "for",
    "and",
    "or",
    "our",
    "my",
    "its",
    "it",
    "with",
    "from",
    "into",
    "onto",
    "at",
    "by",
    "all",
    "please",
    "that",
    "this",
    "these",
    "those",
    "we",
    "us",
    "be",
    "is",
    "are",
    "then",
    "also",
    "some",
    "any",
    "existing",
    "new",
    "homelab",
    "yml",
    "yaml",
    "playbooks",
    "playbook",
];

/// Lower-case, stemmed content words of `text`.
fn words_of(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|word| word.len() > 1 && !STOP_WORDS.contains(&word.as_str()))
        .map(|word| stem(&word))
        .collect()
}

/// A crude stemmer: enough that "portals" meets "portal" and "configures" meets "configure".
fn stem(word: &str) -> String {
    for suffix in ["ing", "es", "ed", "s"] {
        if let Some(stemmed) = word.strip_suffix(suffix)
            && stemmed.len() >= 4
        {
            return stemmed.to_owned();
        }
    }
    word.to_owned()
}

/// Two stemmed words name the same thing when equal, or when one is a prefix of the other and
/// at least five letters long ("config" and "configure").
fn same_word(a: &str, b: &str) -> bool {
    a == b || (a.len().min(b.len()) >= 5 && (a.starts_with(b) || b.starts_with(a)))
}

struct IndexedPlaybook<'a> {
    playbook: &'a Playbook,
    strong: BTreeSet<String>,
    weak: BTreeSet<String>,
}

impl<'a> IndexedPlaybook<'a> {
    fn new(playbook: &'a Playbook) -> Self {
        let strong = words_of(&format!(
            "{} {} {}",
            playbook.path,
            playbook.name,
            playbook.tags.join(" ")
        ));
        let weak = words_of(&playbook.description);
        Self {
            playbook,
            strong,
            weak,
        }
    }

    fn word_score(&self, word: &str) -> u32 {
        if self.strong.iter().any(|known| same_word(known, word)) {
            STRONG_MATCH
        } else if self.weak.iter().any(|known| same_word(known, word)) {
            WEAK_MATCH
        } else {
            0
        }
    }

    fn score(&self, clause: &Clause) -> u32 {
        clause.words.iter().map(|word| self.word_score(word)).sum()
    }

    fn matched_words<'c>(&self, clause: &'c Clause) -> Vec<&'c str> {
        clause
            .words
            .iter()
            .filter(|word| self.word_score(word) > 0)
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(path: &str, name: &str, tags: &[&str], description: &str) -> Playbook {
        Playbook {
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
