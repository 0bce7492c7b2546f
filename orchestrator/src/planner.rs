//! Turns a request's text into a plan made of catalog playbooks.
//!
//! This is the catalog planner: it splits the request into clauses ("deploy X and add Y to its
//! config" is two), ranks the catalog for each clause with [`mapping`](crate::mapping), and makes
//! one step per clause from the best match when it reaches the confidence threshold. A clause
//! below it becomes a step that needs a custom playbook, which keeps the plan from being approved
//! until someone writes one; its rationale ends with the request that has Chiffon write it.
//! Steps run in the order the request names them.
//!
//! A request for a template ("generate a template for deploying Grafana", "scaffold a role for
//! X") is not matched against the catalog: it becomes one step that writes the playbook and role.

use crate::mapping::{self, MatchOutcome, Matcher};
use chiffon_entity::StepAction;
use chiffon_entity::step::RiskLevel;
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
/// The request that has Chiffon write a playbook for a service, before the service's name.
pub const TEMPLATE_REQUEST_PREFIX: &str = "generate a template for deploying";

/// How the playbooks of a request run: the ansible-playbook options a person sets. Stored as a
/// JSON object on requests and steps, and part of a plan's content hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Host pattern restricting every run (`--limit`); empty for no limit.
    pub limit: String,
    /// Only tasks with these tags (`--tags`); empty for all.
    pub tags: Vec<String>,
    /// Dry run (`--check`).
    pub check_mode: bool,
    /// Show differences (`--diff`).
    pub diff: bool,
    /// Name of the agent inventory to run against; empty for the agent's default.
    pub inventory: String,
}

impl RunOptions {
    /// The options a step of a request with these options runs with, when the planner chose
    /// `selection` (the tags and limit that select the step's part of its playbook): what the
    /// person set wins field by field, the rest comes from the selection. A person's limit is
    /// enough on its own: a play never runs beyond its own hosts, whatever the limit.
    pub fn applied_to(&self, selection: &RunOptions) -> RunOptions {
        RunOptions {
            limit: if self.limit.is_empty() {
                selection.limit.clone()
            } else {
                self.limit.clone()
            },
            tags: if self.tags.is_empty() {
                selection.tags.clone()
            } else {
                self.tags.clone()
            },
            check_mode: self.check_mode,
            diff: self.diff,
            inventory: self.inventory.clone(),
        }
    }
}

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
    #[serde(serialize_with = "serialize_risk")]
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
        self.steps.iter().any(StepDraft::needs_custom_playbook)
    }

    /// Applies a request's `options` to every playbook step (see [`RunOptions::applied_to`]);
    /// the other actions take none.
    pub fn with_run_options(mut self, options: &RunOptions) -> Self {
        for step in &mut self.steps {
            if step.action == StepAction::RunPlaybook {
                step.run_options = options.applied_to(&step.run_options);
            }
        }
        self
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
    if let Some(template) = template_request(text, feedback) {
        return template_plan(text, template);
    }
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
                let rationale = format!(
                    "\"{clause}\" matches {} with confidence {:.2}: {}",
                    found.playbook.path,
                    found.confidence,
                    found.reasons.join("; ")
                );
                StepDraft {
                    playbook: Some(found.playbook.path.clone()),
                    risk: risk_of(&found.playbook),
                    estimated_seconds: DEFAULT_ESTIMATE_SECONDS,
                    ..StepDraft::run_playbook(position, title_for(&found.playbook), rationale)
                }
            }
            None => StepDraft::run_playbook(
                position,
                capitalise(&clause),
                no_fit_rationale(&clause, &outcome),
            ),
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
        "no playbook in the catalog fits \"{clause}\"{closest}; write one and revise the plan, \
         or have Chiffon write one with the request: {TEMPLATE_REQUEST_PREFIX} {}",
        subject_of(clause)
    )
}

/// What a clause names, without the verb that says what to do with it: "Install a Minecraft
/// server" names "a Minecraft server".
fn subject_of(clause: &str) -> &str {
    const VERBS: [&str; 14] = [
        "deploy",
        "install",
        "set up",
        "setup",
        "run",
        "start",
        "launch",
        "host",
        "spin up",
        "bring up",
        "add",
        "create",
        "configure",
        "provision",
    ];
    let clause = clause.trim();
    for verb in VERBS {
        let Some(head) = clause.get(..verb.len()) else {
            continue;
        };
        let rest = &clause[verb.len()..];
        if head.eq_ignore_ascii_case(verb) && rest.starts_with(' ') && !rest.trim().is_empty() {
            return rest.trim();
        }
    }
    clause
}

/// The one-step plan that writes the scaffold `template` describes.
fn template_plan(text: &str, template: TemplateSpec) -> PlanDraft {
    let branch = format!(
        "chiffon/template-{}",
        template
            .service
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    );
    let mut how = vec![if template.containerised {
        "as a docker compose stack".to_owned()
    } else {
        "as a system service".to_owned()
    }];
    if !template.image.is_empty() {
        how.push(format!("image {}", template.image));
    }
    if template.port != 0 {
        how.push(format!("port {}", template.port));
    }
    if !template.hosts.is_empty() {
        how.push(format!("hosts {}", template.hosts));
    }
    let step = StepDraft {
        position: 1,
        title: format!("Generate a template for deploying {}", template.service),
        rationale: format!(
            "\"{text}\" asks for a new playbook: the agent writes a playbook and role for {} ({}), \
             checks them with ansible-playbook --syntax-check and ansible-lint, and commits them \
             on the branch {branch}; nothing runs on any host",
            template.service,
            how.join(", ")
        ),
        playbook: None,
        depends_on: Vec::new(),
        risk: RiskLevel::Low,
        risk_reason: "changes no host: the scaffold is a commit on a new branch for you to review"
            .to_owned(),
        hosts: Vec::new(),
        roles: Vec::new(),
        estimated_seconds: REPOSITORY_CHANGE_SECONDS,
        extra_vars: serde_json::Map::new(),
        action: StepAction::GenerateTemplate,
        run_options: RunOptions::default(),
        suggestion_id: None,
        template: Some(template),
    };
    PlanDraft {
        summary: format!(
            "For \"{text}\", run one step: {} (a new branch {branch} of the infrastructure \
             repository; review and merge it yourself).",
            step.title
        ),
        steps: vec![step],
    }
}

/// The scaffold `text` asks for, when it asks for one ("generate a template for deploying
/// Grafana", "create a playbook for X", "scaffold a role for X", "write a template to deploy
/// X"); `feedback` may change how it runs (port, image, system service) but not the service.
pub fn template_request(text: &str, feedback: &str) -> Option<TemplateSpec> {
    const VERBS: [&str; 6] = ["generate", "create", "write", "scaffold", "make", "build"];
    const ARTICLES: [&str; 4] = ["a", "an", "the", "new"];
    const NOUNS: [&str; 5] = ["template", "playbook", "role", "scaffold", "scaffolding"];
    const LEADS: [&str; 9] = [
        "for",
        "to",
        "that",
        "deploying",
        "deploy",
        "deploys",
        "installing",
        "install",
        "running",
    ];
    // Words after the service that start how it runs, not its name.
    const STOPS: [&str; 11] = [
        "on",
        "with",
        "using",
        "as",
        "without",
        "via",
        "image",
        "port",
        "in",
        "listening",
        "at",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let bare = |word: &str| {
        word.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    let start = words
        .iter()
        .position(|word| VERBS.contains(&bare(word).as_str()))?;
    let mut at = start + 1;
    while at < words.len() && ARTICLES.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    if !NOUNS.contains(&bare(words.get(at)?).as_str()) {
        return None;
    }
    at += 1;
    // "and role", "and a role" after the noun.
    while at < words.len()
        && (matches!(bare(words[at]).as_str(), "and" | "role" | "roles")
            || ARTICLES.contains(&bare(words[at]).as_str()))
    {
        at += 1;
    }
    let lead_start = at;
    while at < words.len() && LEADS.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    if at == lead_start {
        return None;
    }
    while at < words.len() && ARTICLES.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    let mut service = Vec::new();
    for word in &words[at..] {
        if STOPS.contains(&bare(word).as_str()) {
            break;
        }
        let ends_sentence = word.ends_with([',', ';', '.', ':']);
        service.push(word.trim_end_matches([',', ';', '.', ':']));
        if ends_sentence {
            break;
        }
    }
    let service = service.join(" ");
    if service
        .trim_matches(|c: char| !c.is_alphanumeric())
        .is_empty()
    {
        return None;
    }
    let options = format!("{text} {feedback}");
    let lower = options.to_lowercase();
    let option_words: Vec<&str> = options.split_whitespace().collect();
    let after = |name: &str| {
        option_words
            .windows(2)
            .rev()
            .find(|pair| bare(pair[0]) == name)
            .map(|pair| {
                pair[1]
                    .trim_end_matches([',', ';', '.', ':', ')'])
                    .to_owned()
            })
    };
    let hosts = option_words
        .windows(3)
        .rev()
        .find(|triple| {
            bare(triple[0]) == "on" && matches!(bare(triple[1]).as_str(), "hosts" | "host")
        })
        .map(|triple| {
            triple[2]
                .trim_end_matches([',', ';', '.', ':', ')'])
                .to_owned()
        });
    Some(TemplateSpec {
        service,
        containerised: !["system service", "without docker", "systemd", "no docker"]
            .iter()
            .any(|phrase| lower.contains(phrase)),
        image: after("image").unwrap_or_default(),
        port: after("port")
            .and_then(|port| port.parse().ok())
            .unwrap_or(0),
        hosts: hosts.unwrap_or_default(),
    })
}

fn summary(text: &str, steps: &[StepDraft]) -> String {
    let runs: Vec<String> = steps
        .iter()
        .map(|step| match &step.playbook {
            Some(path) => format!("{}. {} ({path})", step.position, step.title),
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
    fn a_template_request_becomes_one_template_step() {
        let draft = plan("generate a template for deploying Grafana", "", &homelab());
        assert_eq!(draft.steps.len(), 1);
        let step = &draft.steps[0];
        assert_eq!(step.action, StepAction::GenerateTemplate);
        assert_eq!(step.risk, RiskLevel::Low);
        assert!(!draft.needs_custom_playbook());
        assert_eq!(
            step.template,
            Some(TemplateSpec {
                service: "Grafana".into(),
                containerised: true,
                ..TemplateSpec::default()
            })
        );
        assert!(
            step.rationale.contains("chiffon/template-grafana"),
            "{}",
            step.rationale
        );
    }

    #[test]
    fn template_requests_come_in_many_words() {
        let service = |text: &str| template_request(text, "").map(|spec| spec.service);
        assert_eq!(
            service("Create a playbook for Home Assistant").as_deref(),
            Some("Home Assistant")
        );
        assert_eq!(
            service("scaffold a role for uptime kuma.").as_deref(),
            Some("uptime kuma")
        );
        assert_eq!(
            service("Write a template to deploy Vaultwarden").as_deref(),
            Some("Vaultwarden")
        );
        assert_eq!(
            service("generate a playbook and role for deploying the Jellyfin server").as_deref(),
            Some("Jellyfin server")
        );
        assert_eq!(service("Deploy Uptime Kuma"), None);
        assert_eq!(service("create a backup of the NAS"), None);
        assert_eq!(service("generate a template for"), None);
    }

    #[test]
    fn template_options_come_from_the_text_and_the_feedback() {
        let spec = template_request(
            "generate a template for deploying Grafana on port 3000 with image grafana/grafana-oss:11.3.0.",
            "",
        )
        .expect("a template request");
        assert_eq!(spec.service, "Grafana");
        assert_eq!(spec.port, 3000);
        assert_eq!(spec.image, "grafana/grafana-oss:11.3.0");
        assert!(spec.containerised);

        let spec = template_request(
            "create a playbook for node exporter as a system service",
            "",
        )
        .expect("a template request");
        assert_eq!(spec.service, "node exporter");
        assert!(!spec.containerised);

        let spec = template_request(
            "scaffold a role for Gitea",
            "use port 8080 and systemd, on hosts git",
        )
        .expect("a template request");
        assert_eq!(
            (spec.port, spec.containerised, spec.hosts.as_str()),
            (8080, false, "git")
        );
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
