//! The labelled request sets and how they are scored, shared by the `mapping` bench (which prints
//! the numbers) and the `mapping_accuracy` test (which holds them to floors), so both measure the
//! same thing. Included by `#[path]`; not every includer uses every item.
//!
//! Sets live in `benches/mapping/`, one YAML file each, named `<repository>.<kind>.yaml`:
//! `tuning` and `development` sets may be used to tune the matcher, `heldout` sets never are (they
//! measure whether it generalises to requests and repositories it was not tuned on). To keep them
//! so, reports show a held-out set's accuracy but not its misses, unless
//! `CHIFFON_SHOW_HELDOUT_MISSES=1` asks for them (and the set then stops being held out: rename it
//! to `development` and write a new one). A case is a request as a
//! person types it and what should answer it: `none`, or what a person would run, e.g.
//! `nas.yml --tags gitea` (the tags compare as a set; a `--limit` is compared only when the label
//! gives one). `plans.heldout.yaml` holds compound requests with the steps they should plan.
#![allow(dead_code)]

use chiffon_orchestrator::mapping::{Matcher, PlaybookMatch};
use chiffon_orchestrator::planner;
use chiffon_proto::v1::Playbook;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The label of a request nothing in the repository does.
const NONE: &str = "none";

/// Where the shared corpora of real repositories are when `CHIFFON_CORPORA` does not say.
const CORPORA_IN_WORKSPACE: &str = "../shared/corpora";

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory of the labelled sets.
pub fn sets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/mapping")
}

/// A repository a set names, relative to the workspace root; the public corpora under
/// `../shared/corpora` are found through `CHIFFON_CORPORA` when it is set. Panics with where it
/// looked when the repository is missing, so a missing corpus fails instead of passing.
pub fn repository(named: &str) -> PathBuf {
    let path = match named.strip_prefix(CORPORA_IN_WORKSPACE) {
        Some(rest) => match std::env::var_os("CHIFFON_CORPORA").filter(|v| !v.is_empty()) {
            Some(corpora) => PathBuf::from(corpora).join(rest.trim_start_matches('/')),
            None => workspace().join(named),
        },
        None => workspace().join(named),
    };
    assert!(
        path.is_dir(),
        "the labelled repository {named} is not at {} (set CHIFFON_CORPORA to the directory \
         holding the shared corpora)",
        path.display()
    );
    path
}

/// A repository's catalog, scanned the way the infrastructure agent scans it: real YAML parsing
/// of the real files, then what Ansible says (`ansible-inventory`, `ansible-playbook
/// --list-tasks`), so the places a request names ("on hass01") are the inventory's.
pub fn catalog_of(repo: &Path) -> Vec<Playbook> {
    let setup = chiffon_agents::ansible::AnsibleSetup::new(repo);
    let catalog = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the scan")
        .block_on(chiffon_agents::catalog::refresh::scan_repository(&setup))
        .unwrap_or_else(|error| panic!("cannot scan {}: {error}", repo.display()));
    assert!(
        !catalog.playbooks.is_empty(),
        "the repository at {} has no playbooks",
        repo.display()
    );
    catalog.playbooks
}

/// What should answer a request: nothing, or a playbook run with tags and maybe a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    None,
    Run {
        playbook: String,
        tags: BTreeSet<String>,
        limit: Option<String>,
    },
}

impl Answer {
    /// Reads `none` or `path [--tags a,b] [--limit pattern]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == NONE {
            return Ok(Answer::None);
        }
        let mut words = text.split_whitespace();
        let playbook = words.next().ok_or("an empty answer")?.to_owned();
        let (mut tags, mut limit) = (BTreeSet::new(), None);
        while let Some(flag) = words.next() {
            let value = words
                .next()
                .ok_or_else(|| format!("{flag} without a value in {text:?}"))?;
            match flag {
                "--tags" => tags.extend(value.split(',').map(str::to_owned)),
                "--limit" => limit = Some(value.to_owned()),
                other => return Err(format!("unknown option {other} in {text:?}")),
            }
        }
        Ok(Answer::Run {
            playbook,
            tags,
            limit,
        })
    }

    /// The answer a match gives.
    pub fn of(found: &PlaybookMatch) -> Self {
        Answer::Run {
            playbook: found.playbook.path.clone(),
            tags: found.selection.tags.iter().cloned().collect(),
            limit: Some(found.selection.limit.clone()).filter(|limit| !limit.is_empty()),
        }
    }

    /// Whether `given` is this expected answer: same playbook, tags that select the same part
    /// (one set within the other), and the same limit when this one names a limit.
    pub fn accepts(&self, given: &Answer) -> bool {
        match (self, given) {
            (Answer::None, Answer::None) => true,
            (
                Answer::Run {
                    playbook,
                    tags,
                    limit,
                },
                Answer::Run {
                    playbook: given_playbook,
                    tags: given_tags,
                    limit: given_limit,
                },
            ) => {
                // A part is selected by any of its own tags, so "--tags caddy" and "--tags
                // caddy,proxy" (both caddy's alone) are the same run.
                playbook == given_playbook
                    && (tags.is_subset(given_tags) || given_tags.is_subset(tags))
                    && (tags.is_empty() == given_tags.is_empty())
                    && limit
                        .as_ref()
                        .is_none_or(|limit| Some(limit) == given_limit.as_ref())
            }
            _ => false,
        }
    }

    /// The answer as a person would type it.
    pub fn words(&self) -> String {
        match self {
            Answer::None => NONE.to_owned(),
            Answer::Run {
                playbook,
                tags,
                limit,
            } => {
                let mut words = playbook.clone();
                if !tags.is_empty() {
                    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                    words.push_str(&format!(" --tags {}", tags.join(",")));
                }
                if let Some(limit) = limit {
                    words.push_str(&format!(" --limit {limit}"));
                }
                words
            }
        }
    }
}

/// One labelled request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The request as a person types it.
    pub task: String,
    /// What should answer it.
    pub expect: String,
    /// Other answers that are as right (for requests the repository answers two ways).
    #[serde(default)]
    pub accept: Vec<String>,
}

impl Case {
    fn answers(&self) -> Vec<Answer> {
        std::iter::once(&self.expect)
            .chain(&self.accept)
            .map(|text| {
                Answer::parse(text).unwrap_or_else(|error| panic!("case {:?}: {error}", self.task))
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    repository: String,
    cases: Vec<Case>,
}

/// A labelled set over one repository.
pub struct LabelledSet {
    /// The file's name without `.yaml`, e.g. "ansible-nas.heldout".
    pub name: String,
    /// True for a held-out set, never used to tune the matcher.
    pub held_out: bool,
    /// The repository's catalog.
    pub catalog: Vec<Playbook>,
    pub cases: Vec<Case>,
}

/// Every request set in `benches/mapping/` but the plans, tuning sets first, by name.
pub fn load_sets() -> Vec<LabelledSet> {
    let mut sets: Vec<LabelledSet> = set_files()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("plans."))
        .map(|(name, path)| {
            let file: CaseFile = serde_yaml_ng::from_str(&read(&path))
                .unwrap_or_else(|error| panic!("{} is not a case file: {error}", path.display()));
            let catalog = catalog_of(&repository(&file.repository));
            check_answers(&name, &catalog, file.cases.iter().flat_map(Case::answers));
            LabelledSet {
                held_out: name.ends_with(".heldout"),
                name,
                catalog,
                cases: file.cases,
            }
        })
        .collect();
    sets.sort_by_key(|set| (set.held_out, set.name.clone()));
    sets
}

/// The set files, by name.
fn set_files() -> Vec<(String, PathBuf)> {
    let dir = sets_dir();
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter_map(|path| {
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".yaml")?
                .to_owned();
            Some((name, path))
        })
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every expected run must exist: its playbook in the catalog and its tags on it, so a renamed
/// playbook or tag fails loudly instead of silently lowering the accuracy.
fn check_answers(set: &str, catalog: &[Playbook], answers: impl Iterator<Item = Answer>) {
    for answer in answers {
        if let Answer::Run { playbook, tags, .. } = &answer {
            let found = catalog
                .iter()
                .find(|known| known.path == *playbook)
                .unwrap_or_else(|| panic!("{set}: {} is not in the catalog", answer.words()));
            for tag in tags {
                assert!(
                    found.tags.contains(tag),
                    "{set}: {} names a tag the playbook does not have",
                    answer.words()
                );
            }
        }
    }
}

/// How the matcher answered one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: Case,
    /// The best candidate, fitting or not, with its confidence.
    pub top: Option<(Answer, f64)>,
    /// Whether the best candidate reached the threshold.
    pub fits: bool,
    /// The best candidate's reasons, or the advice when there is no candidate.
    pub reasons: Vec<String>,
    /// An accepted answer: an expected run fits, or nothing fits when nothing should.
    pub correct: bool,
}

impl Outcome {
    /// The top confidence, 0 without any candidate.
    pub fn confidence(&self) -> f64 {
        self.top.as_ref().map_or(0.0, |(_, confidence)| *confidence)
    }

    /// What the matcher answered, for reports.
    pub fn answer(&self) -> String {
        match (&self.top, self.fits) {
            (Some((answer, _)), true) => answer.words(),
            (Some((answer, _)), false) => format!("none (closest {})", answer.words()),
            (None, _) => NONE.to_owned(),
        }
    }
}

/// Whether a held-out set's misses may be shown.
fn show_held_out_misses() -> bool {
    std::env::var_os("CHIFFON_SHOW_HELDOUT_MISSES").is_some_and(|value| value == "1")
}

/// The results of one run over one set.
#[derive(Debug, Clone)]
pub struct Report {
    pub set: String,
    pub held_out: bool,
    pub threshold: f64,
    /// One per case, in file order.
    pub outcomes: Vec<Outcome>,
}

/// Matches every case of `set` with `threshold`.
pub fn evaluate(set: &LabelledSet, threshold: f64) -> Report {
    let matcher = Matcher::new(&set.catalog);
    let outcomes = set
        .cases
        .iter()
        .map(|case| {
            let outcome = matcher.rank(&case.task, threshold, 1);
            let top = outcome
                .matches
                .first()
                .map(|best| (Answer::of(best), best.confidence));
            let given = outcome.best_fit().map_or(Answer::None, Answer::of);
            Outcome {
                correct: case.answers().iter().any(|answer| answer.accepts(&given)),
                case: case.clone(),
                top,
                fits: outcome.fits,
                reasons: outcome
                    .matches
                    .first()
                    .map_or_else(|| vec![outcome.advice.clone()], |best| best.reasons.clone()),
            }
        })
        .collect();
    Report {
        set: set.name.clone(),
        held_out: set.held_out,
        threshold,
        outcomes,
    }
}

impl Report {
    /// Share of cases answered right (top-1 accuracy, "none" included as an answer).
    pub fn accuracy(&self) -> f64 {
        let (right, total) = count(self.outcomes.iter());
        ratio(right, total)
    }

    /// (right, total) over cases that have an answer.
    pub fn fits_score(&self) -> (usize, usize) {
        count(self.outcomes.iter().filter(|o| o.case.expect != NONE))
    }

    /// (right, total) over cases nothing does.
    pub fn none_score(&self) -> (usize, usize) {
        count(self.outcomes.iter().filter(|o| o.case.expect == NONE))
    }

    /// Mean top confidence of the right (`true`) or wrong answers; `None` when there are none.
    pub fn mean_confidence(&self, correct: bool) -> Option<f64> {
        let values: Vec<f64> = self
            .outcomes
            .iter()
            .filter(|o| o.correct == correct)
            .map(Outcome::confidence)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// The cases answered wrong.
    pub fn misses(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.correct)
    }

    /// Prints the summary and every miss (a held-out set's misses only on request, see above).
    pub fn print(&self) {
        let (fits_right, fits_total) = self.fits_score();
        let (none_right, none_total) = self.none_score();
        let right = fits_right + none_right;
        println!(
            "{}: {} labelled requests (threshold {:.2})",
            self.set,
            self.outcomes.len(),
            self.threshold
        );
        println!(
            "  top-1 accuracy            {:.3}  ({right}/{})",
            self.accuracy(),
            self.outcomes.len()
        );
        println!(
            "  requests with an answer   {:.3}  ({fits_right}/{fits_total})",
            ratio(fits_right, fits_total)
        );
        println!(
            "  requests nothing does     {:.3}  ({none_right}/{none_total})",
            ratio(none_right, none_total)
        );
        let mean = |correct| {
            self.mean_confidence(correct)
                .map_or_else(|| "-".to_owned(), |mean| format!("{mean:.3}"))
        };
        println!("  mean confidence, right    {}", mean(true));
        println!("  mean confidence, wrong    {}", mean(false));
        let misses: Vec<&Outcome> = self.misses().collect();
        if misses.is_empty() {
            println!("  misses: none");
        } else {
            println!("  misses ({}):", misses.len());
        }
        if self.held_out && !show_held_out_misses() {
            println!("    (not shown: the set is held out; see benches/support/mapping_eval.rs)");
            return;
        }
        for miss in misses {
            println!(
                "    {:?}\n      expected {}, got {} (confidence {:.3})\n      reasons: {}",
                miss.case.task,
                miss.case.expect,
                miss.answer(),
                miss.confidence(),
                miss.reasons.join("; ")
            );
        }
    }
}

/// A compound request and the steps it should plan, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCase {
    pub request: String,
    pub expect: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    repository: String,
    cases: Vec<PlanCase>,
}

/// How the planner answered one compound request.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub request: String,
    pub expected: Vec<String>,
    /// The steps it planned, as runs ("none" for work without a playbook).
    pub planned: Vec<String>,
    /// Steps at the right position with an accepted answer.
    pub right_steps: usize,
}

impl PlanOutcome {
    pub fn correct(&self) -> bool {
        self.right_steps == self.expected.len() && self.planned.len() == self.expected.len()
    }
}

/// The compound-request sets (`plans.<kind>.yaml`), by name: development first, then held out.
pub fn plan_sets() -> Vec<String> {
    let mut names: Vec<String> = set_files()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("plans."))
        .collect();
    names.sort_by_key(|name| (name.ends_with(".heldout"), name.clone()));
    names
}

/// Plans every compound request of the set `name` (one YAML document per repository).
pub fn evaluate_plans(name: &str) -> Vec<PlanOutcome> {
    let path = sets_dir().join(format!("{name}.yaml"));
    let text = read(&path);
    let mut outcomes = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let file = PlanFile::deserialize(document)
            .unwrap_or_else(|error| panic!("{} is not a plan file: {error}", path.display()));
        let catalog = catalog_of(&repository(&file.repository));
        for case in file.cases {
            let expected: Vec<Answer> = case
                .expect
                .iter()
                .map(|text| Answer::parse(text).unwrap_or_else(|error| panic!("{error}")))
                .collect();
            check_answers(name, &catalog, expected.iter().cloned());
            let draft = planner::plan(&case.request, "", &catalog);
            let planned: Vec<Answer> = draft
                .steps
                .iter()
                .map(|step| match &step.playbook {
                    Some(playbook) => Answer::Run {
                        playbook: playbook.clone(),
                        tags: step.run_options.tags.iter().cloned().collect(),
                        limit: Some(step.run_options.limit.clone()).filter(|l| !l.is_empty()),
                    },
                    None => Answer::None,
                })
                .collect();
            let right_steps = expected
                .iter()
                .zip(&planned)
                .filter(|(expected, planned)| expected.accepts(planned))
                .count();
            outcomes.push(PlanOutcome {
                request: case.request,
                expected: case.expect,
                planned: planned.iter().map(Answer::words).collect(),
                right_steps,
            });
        }
    }
    outcomes
}

/// Prints how the plans of the set `name` came out (a held-out set's misses only on request);
/// returns (right requests, total requests).
pub fn print_plans(name: &str, outcomes: &[PlanOutcome]) -> (usize, usize) {
    let right = outcomes.iter().filter(|o| o.correct()).count();
    let steps: usize = outcomes.iter().map(|o| o.expected.len()).sum();
    let right_steps: usize = outcomes.iter().map(|o| o.right_steps).sum();
    println!(
        "{name}: {} compound requests, {right} planned exactly right ({:.3}); \
         {right_steps}/{steps} steps right ({:.3})",
        outcomes.len(),
        ratio(right, outcomes.len()),
        ratio(right_steps, steps)
    );
    if name.ends_with(".heldout") && !show_held_out_misses() {
        return (right, outcomes.len());
    }
    for outcome in outcomes.iter().filter(|o| !o.correct()) {
        println!(
            "    {:?}\n      expected {}\n      planned  {}",
            outcome.request,
            outcome.expected.join(" ; "),
            outcome.planned.join(" ; ")
        );
    }
    (right, outcomes.len())
}

fn count<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> (usize, usize) {
    outcomes.fold((0, 0), |(right, total), outcome| {
        (right + usize::from(outcome.correct), total + 1)
    })
}

pub fn ratio(right: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}
