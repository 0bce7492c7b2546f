//! Turns a request's text into a plan made of catalog playbooks.
//!
//! This is the catalog planner: it splits the request into the pieces of work it names ("deploy
//! X, back it up nightly and rotate its certs" is three; see `clauses`), ranks the catalog for
//! each with [`mapping`](crate::mapping), and makes one step per piece from the best match when it
//! reaches the confidence threshold. A step is what a person would run: a playbook, with the tags
//! and limit that select one service of a site playbook, on the hosts the catalog resolved, with a
//! risk and its reason (`risk`). A piece below the threshold becomes a step that needs a custom
//! playbook, which keeps the plan from being approved until someone writes one; its rationale
//! says what to write (the template request, when it asks to deploy something). Two pieces
//! answered by the same run are one step. Steps run in the order the request names them.
//!
//! A request for a template ("generate a template for deploying Grafana", "scaffold a role for
//! X") is not matched against the catalog: it becomes one step that writes the playbook and role.

mod clauses;
mod risk;
mod template;

pub use chiffon_types::RunOptions;
pub use template::template_request;

use crate::domain::{RiskLevel, StepAction};
use crate::mapping::{self, MatchOutcome, Matcher, PlaybookMatch, stated_options};
use chiffon_proto::v1::Playbook;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Name recorded as the planner of plans made here.
pub const CATALOG_PLANNER: &str = "catalog";

/// Candidates considered per clause: the best one, and the closest ones named when none fits.
const CANDIDATES_PER_CLAUSE: usize = 2;
/// Default estimate for a playbook run, until runs are measured.
const DEFAULT_ESTIMATE_SECONDS: i64 = 60;
/// Estimate for writing, checking and committing a scaffold or a fix.
pub(crate) const REPOSITORY_CHANGE_SECONDS: i64 = 30;

/// The scaffold a template step writes. Stored as a JSON object on the step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateSpec {
    /// The service as the person named it, e.g. "Grafana".
    pub service: String,
    /// A docker compose stack (true) or a system service (false).
    pub containerised: bool,
    /// Container image; empty for one named after the service.
    pub image: String,
    /// Port the service listens on; 0 for none.
    pub port: u32,
    /// Host pattern of the play; empty for the inventory group named after the service.
    pub hosts: String,
}

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
    pub risk: RiskLevel,
    /// Why it has that risk, for the approver.
    pub risk_reason: String,
    /// Hosts it runs on, as the catalog resolved them; empty when unknown until it runs.
    pub hosts: Vec<String>,
    /// Roles it runs, in order.
    pub roles: Vec<String>,
    /// Estimated run time.
    pub estimated_seconds: i64,
    /// Extra variables for the playbook.
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
    /// What the step does.
    pub action: StepAction,
    /// ansible-playbook options of a playbook run; default for other actions.
    pub run_options: RunOptions,
    /// The suggestion an apply step fixes.
    pub suggestion_id: Option<String>,
    /// The scaffold a template step writes.
    pub template: Option<TemplateSpec>,
}

impl StepDraft {
    /// A step that runs `playbook` (or, with `None`, one that must be written first).
    fn run_playbook(position: i32, title: String, rationale: String) -> Self {
        Self {
            position,
            title,
            rationale,
            playbook: None,
            depends_on: Vec::new(),
            risk: RiskLevel::High,
            risk_reason: "no playbook in the catalog does this yet".to_owned(),
            hosts: Vec::new(),
            roles: Vec::new(),
            estimated_seconds: 0,
            extra_vars: serde_json::Map::new(),
            action: StepAction::RunPlaybook,
            run_options: RunOptions::default(),
            suggestion_id: None,
            template: None,
        }
    }

    /// True when the step runs a playbook the catalog does not have yet.
    pub fn needs_custom_playbook(&self) -> bool {
        self.action == StepAction::RunPlaybook && self.playbook.is_none()
    }
}

impl PlanDraft {
    /// SHA-256 (hex) of everything an approval vouches for: summary and steps with their
    /// playbooks, variables, dependencies and risk. The JSON hashed has the fields in declaration
    /// order and map keys sorted (serde_json without `preserve_order`), so the same content
    /// always hashes the same; approvals are bound to these hashes, so the format is pinned by
    /// a golden test.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a plan draft always serialises to JSON");
        hex::encode(Sha256::digest(canonical))
    }

    /// True when some step has no playbook yet.
    pub fn needs_custom_playbook(&self) -> bool {
        self.steps.iter().any(StepDraft::needs_custom_playbook)
    }

    /// Applies a request's `options` to every playbook step (see [`RunOptions::applied_to`]); a
    /// dry run is low risk whatever it would run. The other actions take none.
    pub fn with_run_options(mut self, options: &RunOptions) -> Self {
        for step in &mut self.steps {
            if step.action == StepAction::RunPlaybook {
                step.run_options = options.applied_to(&step.run_options);
                if step.run_options.check_mode && !step.needs_custom_playbook() {
                    let dry_run = risk::dry_run();
                    step.risk = dry_run.level;
                    step.risk_reason = dry_run.reason;
                }
            }
        }
        self
    }
}

/// What a plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct Planning<'a> {
    /// The request as the person typed it.
    pub text: &'a str,
    /// A reviewer's feedback, which may name further work; empty for a first plan.
    pub feedback: &'a str,
    /// The playbooks to plan with.
    pub catalog: &'a [Playbook],
    /// The confidence a playbook needs to be used for a piece of work.
    pub threshold: f64,
    /// The request's run options; their inventory decides which hosts the steps show.
    pub options: &'a RunOptions,
}

/// What turns a request into a plan. The engine calls it before it opens the transaction that
/// records the plan, and checks under that transaction's lock that the request has not moved
/// on meanwhile, so a slow planner (a language model, seconds per plan) never holds a lock.
#[async_trait::async_trait]
pub trait Planner: Send + Sync + 'static {
    /// The name recorded with every plan revision it makes, e.g. "catalog".
    fn name(&self) -> &str;

    /// Plans `planning.text` (with a reviewer's feedback, when revising).
    async fn plan(&self, planning: &Planning<'_>) -> crate::Result<PlanDraft>;
}

/// The planner that needs nothing but the catalog: [`plan_request`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogPlanner;

#[async_trait::async_trait]
impl Planner for CatalogPlanner {
    fn name(&self) -> &str {
        CATALOG_PLANNER
    }

    async fn plan(&self, planning: &Planning<'_>) -> crate::Result<PlanDraft> {
        Ok(plan_request(planning))
    }
}

/// Plans `text` (plus reviewer `feedback`) against `catalog` with the default threshold and no
/// run options.
pub fn plan(text: &str, feedback: &str, catalog: &[Playbook]) -> PlanDraft {
    plan_request(&Planning {
        text,
        feedback,
        catalog,
        threshold: mapping::DEFAULT_THRESHOLD,
        options: &RunOptions::default(),
    })
}

/// Plans a request: one step per piece of work it names, each from the best match when it
/// reaches the threshold, with the request's run options applied.
pub fn plan_request(planning: &Planning<'_>) -> PlanDraft {
    let Planning {
        text,
        feedback,
        catalog,
        threshold,
        options,
    } = *planning;
    // "Deploy jellyfin and sonarr as a dry run": options said in words hold for the whole
    // request, and are no piece of work of their own.
    let (said, said_in_feedback) = (stated_options(text), stated_options(feedback));
    let options = &RunOptions {
        check_mode: options.check_mode || said.check_mode || said_in_feedback.check_mode,
        diff: options.diff || said.diff || said_in_feedback.diff,
        ..options.clone()
    };
    let (work, work_in_feedback) = (said.what.as_str(), said_in_feedback.what.as_str());
    if let Some(template) = template::template_request(work, work_in_feedback) {
        return template::template_plan(text, template).with_run_options(options);
    }
    let matcher = Matcher::new(catalog);
    let mut steps: Vec<StepDraft> = Vec::new();
    // What the previous piece was about, for the pieces that refer back to it.
    let mut subject: Option<String> = None;
    let mut pieces: std::collections::VecDeque<clauses::Clause> = clauses::clauses(work)
        .into_iter()
        .chain(clauses::clauses(work_in_feedback))
        .collect();
    while let Some(clause) = pieces.pop_front() {
        let (words, outcome) = best_reading(&matcher, &clause, subject.as_deref(), threshold);
        // A piece naming several products the repository has, answered by one of them, is
        // one piece per product, in the order it names them.
        if outcome.separate_products.len() > 1 {
            for (offset, product) in outcome.separate_products.iter().enumerate() {
                pieces.insert(offset, clause.with_object(product));
            }
            continue;
        }
        let position = steps.len() as i32 + 1;
        let Some(found) = outcome.best_fit() else {
            steps.push(StepDraft::run_playbook(
                position,
                capitalise(&words),
                no_fit_rationale(&words, &outcome),
            ));
            continue;
        };
        subject = subject_of(found).or(subject);
        let rationale = format!(
            "\"{words}\" matches {} with confidence {:.2}: {}",
            command_of(found),
            found.confidence,
            found.reasons.join("; ")
        );
        // Two pieces answered by the same run are one step that says it covers both.
        if let Some(same) = steps.iter_mut().find(|step| {
            step.playbook.as_deref() == Some(found.playbook.path.as_str())
                && step.run_options == found.selection
        }) {
            same.rationale.push_str(&format!("; also {rationale}"));
            continue;
        }
        let hosts = hosts_of(found, &options.inventory);
        let risk = risk::of_match(found, &hosts, &options.inventory);
        steps.push(StepDraft {
            playbook: Some(found.playbook.path.clone()),
            risk: risk.level,
            risk_reason: risk.reason,
            hosts,
            roles: match &found.part {
                Some(part) => part.roles.clone(),
                None => found.playbook.roles.clone(),
            },
            estimated_seconds: DEFAULT_ESTIMATE_SECONDS,
            run_options: found.selection.clone(),
            ..StepDraft::run_playbook(position, title_for(found), rationale)
        });
    }
    // Later pieces usually build on earlier ones ("deploy X and add Y to its config"), so each
    // step waits for the one before it.
    for index in 1..steps.len() {
        steps[index].depends_on = vec![steps[index - 1].position];
    }
    PlanDraft {
        summary: summary(text, &steps),
        steps,
    }
    .with_run_options(options)
}

/// How to read a piece of work: as written, or for one that refers back ("back it up"), with
/// its pronoun standing for `subject` or left out, whichever the catalog answers better.
fn best_reading(
    matcher: &Matcher<'_>,
    clause: &clauses::Clause,
    subject: Option<&str>,
    threshold: f64,
) -> (String, MatchOutcome) {
    let mut readings = vec![clause.resolved(subject)];
    if clause.refers_back && subject.is_some() {
        readings.push(clause.resolved(None));
    }
    readings
        .into_iter()
        .map(|words| {
            let outcome = matcher.rank(&words, threshold, CANDIDATES_PER_CLAUSE);
            (words, outcome)
        })
        .max_by(|(_, a), (_, b)| {
            let confidence = |outcome: &MatchOutcome| {
                outcome.matches.first().map_or(0.0, |best| best.confidence)
            };
            // Ties go to the first reading, the one with the referent.
            confidence(a)
                .total_cmp(&confidence(b))
                .then(std::cmp::Ordering::Less)
        })
        .expect("there is always one reading")
}

/// What later pieces mean by "it": the part's name, else the playbook's first service.
fn subject_of(found: &PlaybookMatch) -> Option<String> {
    found
        .part
        .as_ref()
        .map(|part| part.name.clone())
        .or_else(|| found.playbook.services.first().cloned())
        .map(|name| name.replace(['-', '_'], " "))
}

/// The hosts a match runs on in `inventory` (the first the catalog resolved when empty): the
/// hosts of the part's plays, or of every play.
fn hosts_of(found: &PlaybookMatch, inventory: &str) -> Vec<String> {
    let plays = &found.playbook.play_details;
    let chosen: Vec<&chiffon_proto::v1::Play> = match &found.part {
        Some(part) => part
            .play_indexes
            .iter()
            .filter_map(|&index| usize::try_from(index).ok())
            .filter_map(|index| plays.get(index))
            .collect(),
        None => plays.iter().collect(),
    };
    let mut hosts = std::collections::BTreeSet::new();
    for play in chosen {
        let targets = play
            .targets
            .iter()
            .find(|targets| inventory.is_empty() || targets.inventory == inventory);
        if let Some(targets) = targets {
            hosts.extend(targets.hosts.iter().cloned());
        }
    }
    hosts.into_iter().collect()
}

/// How a person runs a match: "nas.yml --tags gitea".
fn command_of(found: &PlaybookMatch) -> String {
    command(&found.playbook.path, &found.selection)
}

/// `playbook` with the tags and limit of `options`: "site.yml --tags jellyfin --limit media".
fn command(playbook: &str, options: &RunOptions) -> String {
    let mut command = playbook.to_owned();
    if !options.tags.is_empty() {
        command.push_str(&format!(" --tags {}", options.tags.join(",")));
    }
    if !options.limit.is_empty() {
        command.push_str(&format!(" --limit {}", options.limit));
    }
    command
}

/// Why a piece of work got no playbook: the closest candidate and its confidence, and what to
/// write (a template request only when it asks to deploy something).
fn no_fit_rationale(words: &str, outcome: &MatchOutcome) -> String {
    let closest = match outcome.matches.first() {
        Some(closest) => format!(
            " (closest: {} with confidence {:.2}, below the {:.2} needed)",
            command_of(closest),
            closest.confidence,
            outcome.threshold
        ),
        None => String::new(),
    };
    if outcome.asks_to_deploy {
        format!(
            "no playbook in the catalog fits \"{words}\"{closest}; write one and revise the \
             plan, or have Chiffon write one with the request: {} {}",
            mapping::TEMPLATE_OFFER,
            what_to_deploy(words)
        )
    } else {
        let next = outcome
            .advice
            .rsplit_once("; ")
            .map_or(outcome.advice.as_str(), |(_, next)| next);
        format!("no playbook in the catalog fits \"{words}\"{closest}; {next}")
    }
}

/// What a piece of work asks to deploy, as written: the words after its action, up to where it
/// says where ("Install a Minecraft server on the NAS" → "a Minecraft server").
fn what_to_deploy(words: &str) -> &str {
    const WHERE: [&str; 8] = [
        " to ", " on ", " in ", " at ", " for ", " with ", " using ", " via ",
    ];
    let lower = words.to_lowercase();
    let after = mapping::leading_action(words)
        .and_then(|action| {
            lower
                .find(&action.to_lowercase())
                .map(|at| at + action.len())
        })
        .filter(|&at| lower.len() == words.len() && words.is_char_boundary(at))
        .unwrap_or(0);
    let rest = &words[after..];
    let lower_rest = &lower[after..];
    let end = WHERE
        .iter()
        .filter_map(|stop| lower_rest.find(stop))
        .min()
        .unwrap_or(rest.len());
    let subject = rest[..end].trim();
    if subject.is_empty() {
        words.trim()
    } else {
        subject
    }
}

fn summary(text: &str, steps: &[StepDraft]) -> String {
    let runs: Vec<String> = steps
        .iter()
        .map(|step| match &step.playbook {
            Some(path) => format!(
                "{}. {} ({}{})",
                step.position,
                step.title,
                command(path, &step.run_options),
                match step.hosts.len() {
                    0 => String::new(),
                    1 => format!(" on {}", step.hosts[0]),
                    count => format!(" on {count} hosts"),
                }
            ),
            None if step.needs_custom_playbook() => {
                format!("{}. {} (no playbook yet)", step.position, step.title)
            }
            None => format!("{}. {}", step.position, step.title),
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
    if steps.iter().any(StepDraft::needs_custom_playbook) {
        summary.push_str(
            " Some work has no playbook in the catalog, so this plan cannot be approved as it is.",
        );
    }
    summary
}

/// A step's title: the playbook's name, or the part's with the play (or playbook) it is in,
/// e.g. "Jellyfin (Media server)".
fn title_for(found: &PlaybookMatch) -> String {
    let playbook = &found.playbook;
    let Some(part) = &found.part else {
        return if playbook.name.trim().is_empty() {
            capitalise(&playbook.path)
        } else {
            capitalise(playbook.name.trim())
        };
    };
    let plays: Vec<&str> = part
        .play_indexes
        .iter()
        .filter_map(|&index| usize::try_from(index).ok())
        .filter_map(|index| playbook.play_details.get(index))
        .map(|play| play.name.trim())
        .filter(|name| !name.is_empty() && *name != part.name)
        .collect();
    let within = if plays.is_empty() || plays.len() > 2 {
        playbook.path.clone()
    } else {
        plays.join(", ")
    };
    format!("{} ({within})", capitalise(part.name.trim()))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A draft using every field, for the content hash's golden test.
    fn every_field() -> PlanDraft {
        let mut extra_vars = serde_json::Map::new();
        // Inserted out of order: the hash must not depend on insertion order.
        extra_vars.insert("zeta".into(), serde_json::json!(1));
        extra_vars.insert("alpha".into(), serde_json::json!({"b": true, "a": [1, 2]}));
        PlanDraft {
            summary: "Deploy Uptime Kuma, then add the portals.".into(),
            steps: vec![StepDraft {
                position: 1,
                title: "Deploy Uptime Kuma".into(),
                rationale: "the request names it".into(),
                playbook: Some("playbooks/deploy-uptime-kuma.yml".into()),
                depends_on: vec![],
                risk: RiskLevel::Medium,
                risk_reason: "restarts a container".into(),
                hosts: vec!["kuma.home.arpa".into()],
                roles: vec!["uptime_kuma".into()],
                estimated_seconds: 60,
                extra_vars,
                action: StepAction::RunPlaybook,
                run_options: RunOptions {
                    limit: "monitoring".into(),
                    tags: vec!["kuma".into()],
                    check_mode: true,
                    diff: false,
                    inventory: "staging".into(),
                },
                suggestion_id: None,
                template: Some(TemplateSpec {
                    service: "Grafana".into(),
                    containerised: true,
                    image: "grafana/grafana".into(),
                    port: 3000,
                    hosts: "monitoring".into(),
                }),
            }],
        }
    }

    #[test]
    fn the_content_hash_of_a_plan_never_changes() {
        // Approvals are bound to this hash. If this fails, the hashed format changed (a field
        // renamed, reordered or added, an enum spelled differently) and every stored approval
        // would stop matching its plan: keep the format, or migrate the stored hashes.
        assert_eq!(
            every_field().content_hash(),
            "f8fb29f37665d1c5572fb0d09b07f2feb47ef2a45539b0d4ba137f195536dfcb"
        );
        let mut reordered = every_field();
        let vars = std::mem::take(&mut reordered.steps[0].extra_vars);
        reordered.steps[0].extra_vars = vars.into_iter().rev().collect();
        assert_eq!(reordered.content_hash(), every_field().content_hash());
    }

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
    fn work_without_a_playbook_names_the_template_request_to_type() {
        let draft = plan("Install a Minecraft server", "", &homelab());
        assert!(
            draft.steps[0]
                .rationale
                .ends_with("generate a template for deploying a Minecraft server"),
            "{}",
            draft.steps[0].rationale
        );
        let suggested = draft.steps[0]
            .rationale
            .rsplit_once("request: ")
            .map(|(_, request)| request)
            .expect("a request to type");
        let followed = plan(suggested, "", &homelab());
        assert_eq!(followed.steps[0].action, StepAction::GenerateTemplate);
        assert_eq!(
            followed.steps[0]
                .template
                .as_ref()
                .map(|spec| spec.service.as_str()),
            Some("Minecraft server")
        );
    }

    #[test]
    fn run_options_go_to_playbook_steps_and_into_the_hash() {
        let options = RunOptions {
            limit: "nas".into(),
            tags: vec!["backup".into()],
            check_mode: true,
            diff: false,
            inventory: String::new(),
        };
        let plain = plan("Back up the NAS", "", &homelab());
        let limited = plain.clone().with_run_options(&options);
        assert_eq!(limited.steps[0].run_options, options);
        assert_ne!(plain.content_hash(), limited.content_hash());
        let template =
            plan("generate a template for deploying Grafana", "", &[]).with_run_options(&options);
        assert_eq!(template.steps[0].run_options, RunOptions::default());
    }

    #[test]
    fn risk_follows_what_the_playbook_does() {
        let risk = |path: &str, name: &str| {
            let draft = plan(name, "", &[playbook(path, name, &[], "")]);
            (draft.steps[0].risk, draft.steps[0].risk_reason.clone())
        };
        let (level, reason) = risk("playbooks/healthcheck.yml", "Healthcheck the hosts");
        assert_eq!(level, RiskLevel::Low, "{reason}");
        assert!(reason.contains("only checks"), "{reason}");
        let (level, reason) = risk("playbooks/wipe-disk.yml", "Wipe the disk");
        assert_eq!(level, RiskLevel::High, "{reason}");
        assert!(reason.contains("wipe"), "{reason}");
        let kuma = plan("Deploy Uptime Kuma", "", &homelab());
        assert_eq!(kuma.steps[0].risk, RiskLevel::Medium);
        let dry = kuma.with_run_options(&RunOptions {
            check_mode: true,
            ..RunOptions::default()
        });
        assert_eq!(dry.steps[0].risk, RiskLevel::Low);
        assert!(dry.steps[0].risk_reason.contains("--check"));
        // A dry run asked for in words is one too, and the words find the same playbook.
        let said = plan(
            "Deploy Uptime Kuma as a dry run, with a diff",
            "",
            &homelab(),
        );
        assert_eq!(said.steps.len(), 1, "{said:#?}");
        assert_eq!(said.steps[0].playbook, dry.steps[0].playbook);
        // So is one asked for in the feedback of a revision.
        let revised = plan("Deploy Uptime Kuma", "as a dry run please", &homelab());
        assert_eq!(revised.steps.len(), 1, "{revised:#?}");
        assert!(revised.steps[0].run_options.check_mode, "{revised:#?}");
        assert!(
            said.steps[0].run_options.check_mode && said.steps[0].run_options.diff,
            "{said:#?}"
        );
        assert_eq!(said.steps[0].risk, RiskLevel::Low);
    }

    /// A site playbook: a play per group, a role per service chosen by its tag, hosts resolved
    /// in two inventories.
    fn site() -> Vec<Playbook> {
        use chiffon_proto::v1::{Play, PlayTargets, PlaybookPart};
        let targets = |hosts: &[&str], staging: &[&str]| {
            vec![
                PlayTargets {
                    inventory: "default".into(),
                    hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
                    ..PlayTargets::default()
                },
                PlayTargets {
                    inventory: "staging".into(),
                    hosts: staging.iter().map(|host| (*host).to_owned()).collect(),
                    ..PlayTargets::default()
                },
            ]
        };
        let part = |name: &str, play: i32, description: &str| PlaybookPart {
            name: name.into(),
            tags: vec![name.into()],
            play_indexes: vec![play],
            roles: vec!["common".into(), name.into()],
            services: vec![name.into()],
            description: description.into(),
            ..PlaybookPart::default()
        };
        vec![Playbook {
            path: "site.yml".into(),
            name: "Media".into(),
            roles: ["common", "jellyfin", "restic", "certs"]
                .map(String::from)
                .to_vec(),
            plays: vec!["Media".into(), "Edge".into()],
            play_details: vec![
                Play {
                    name: "Media".into(),
                    host_pattern: "media".into(),
                    targets: targets(&["media1.lan", "media2.lan"], &["media.staging.lan"]),
                    ..Play::default()
                },
                Play {
                    name: "Edge".into(),
                    host_pattern: "edge".into(),
                    targets: targets(&["edge.lan"], &["edge.staging.lan"]),
                    ..Play::default()
                },
            ],
            parts: vec![
                part("jellyfin", 0, "Jellyfin: the free software media system"),
                part("restic", 0, "Restic: nightly backups of the media library"),
                part(
                    "certs",
                    1,
                    "Certificates: issues and renews the TLS certificates",
                ),
            ],
            ..Playbook::default()
        }]
    }

    fn commands(draft: &PlanDraft) -> Vec<String> {
        draft
            .steps
            .iter()
            .map(|step| match &step.playbook {
                Some(path) => command(path, &step.run_options),
                None => "none".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_one_service_request_runs_its_tags_on_its_hosts() {
        let draft = plan("Install Jellyfin", "", &site());
        assert_eq!(commands(&draft), ["site.yml --tags jellyfin --limit media"]);
        let step = &draft.steps[0];
        assert_eq!(step.hosts, ["media1.lan", "media2.lan"]);
        assert_eq!(step.roles, ["common", "jellyfin"]);
        assert_eq!(step.risk, RiskLevel::Medium, "{}", step.risk_reason);
        assert!(
            step.risk_reason.contains("media1.lan"),
            "{}",
            step.risk_reason
        );
        assert!(
            draft.summary.contains("site.yml --tags jellyfin"),
            "{}",
            draft.summary
        );

        let staging = plan_request(&Planning {
            text: "Install Jellyfin",
            feedback: "",
            catalog: &site(),
            threshold: mapping::DEFAULT_THRESHOLD,
            options: &RunOptions {
                inventory: "staging".into(),
                ..RunOptions::default()
            },
        });
        assert_eq!(staging.steps[0].hosts, ["media.staging.lan"]);
        assert_eq!(staging.steps[0].run_options.inventory, "staging");
        assert_eq!(staging.steps[0].run_options.tags, ["jellyfin"]);
    }

    #[test]
    fn the_whole_site_playbook_is_high_risk_and_says_why() {
        let draft = plan("converge the whole site", "", &site());
        assert_eq!(commands(&draft), ["site.yml"]);
        let step = &draft.steps[0];
        assert_eq!(step.risk, RiskLevel::High);
        assert!(
            step.risk_reason.contains("whole site playbook site.yml")
                && step.risk_reason.contains("4 roles"),
            "{}",
            step.risk_reason
        );
    }

    #[test]
    fn a_compound_request_plans_every_piece_and_resolves_pronouns() {
        let draft = plan(
            "deploy jellyfin, back it up nightly and rotate the certs afterwards",
            "",
            &site(),
        );
        assert_eq!(
            commands(&draft),
            [
                "site.yml --tags jellyfin --limit media",
                "site.yml --tags restic --limit media",
                "site.yml --tags certs --limit edge",
            ],
            "{:#?}",
            draft.steps
        );
        assert_eq!(draft.steps[2].depends_on, [2]);
    }

    #[test]
    fn pieces_nothing_does_are_kept_and_offered_the_right_thing() {
        let draft = plan(
            "install jellyfin and upgrade the kernel everywhere",
            "",
            &site(),
        );
        assert_eq!(
            commands(&draft),
            ["site.yml --tags jellyfin --limit media", "none"]
        );
        let kernel = &draft.steps[1].rationale;
        assert!(!kernel.contains(mapping::TEMPLATE_OFFER), "{kernel}");
        assert!(
            kernel.contains("write a playbook for upgrading"),
            "{kernel}"
        );
        assert!(
            draft.summary.contains("cannot be approved"),
            "{}",
            draft.summary
        );
    }

    #[test]
    fn a_piece_naming_two_services_becomes_two_steps() {
        use chiffon_proto::v1::PlaybookPart;
        let part = |name: &str, description: &str| PlaybookPart {
            name: name.into(),
            tags: vec![name.into()],
            play_indexes: vec![0],
            roles: vec![name.into()],
            services: vec![name.into()],
            description: description.into(),
            ..PlaybookPart::default()
        };
        let catalog = [Playbook {
            path: "nas.yml".into(),
            roles: vec!["lidarr".into(), "prowlarr".into(), "gitea".into()],
            parts: vec![
                part("lidarr", "Lidarr: music collection manager"),
                part(
                    "prowlarr",
                    "Prowlarr: indexer manager for Lidarr and Sonarr",
                ),
                part("gitea", "Gitea: a self-hosted git service"),
            ],
            ..Playbook::default()
        }];
        let draft = plan("set up lidarr with prowlarr as its indexer", "", &catalog);
        assert_eq!(
            commands(&draft),
            ["nas.yml --tags lidarr", "nas.yml --tags prowlarr"],
            "{:#?}",
            draft.steps
        );
    }
}
