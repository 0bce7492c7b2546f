//! The labelled mapping set and how it is scored, shared by the `mapping` bench (which prints the
//! numbers) and the `mapping_accuracy` test (which holds them to a floor), so both measure the
//! same thing. Included by `#[path]`; not every includer uses every item.
#![allow(dead_code)]

use chiffon_orchestrator::mapping::Matcher;
use chiffon_proto::v1::Playbook;
use serde::Deserialize;
use std::path::PathBuf;

/// The label of a task no playbook fits.
const NONE: &str = "none";

/// The example infrastructure repository the labels are about.
pub fn example_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/homelab-infra")
}

/// The labelled cases file.
pub fn cases_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/mapping-cases.yaml")
}

/// The example repository's catalog, scanned the way the infrastructure agent scans it (real
/// YAML parsing of the real files).
pub fn example_catalog() -> Vec<Playbook> {
    let repo = example_repo();
    let catalog = chiffon_agents::catalog::scan(&repo)
        .unwrap_or_else(|error| panic!("cannot scan {}: {error}", repo.display()));
    assert!(
        !catalog.playbooks.is_empty(),
        "the example repository at {} has no playbooks",
        repo.display()
    );
    catalog.playbooks
}

/// One labelled task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The task as a person types it.
    pub task: String,
    /// The playbook path that should answer it, or `none`.
    pub expect: String,
}

impl Case {
    /// The expected playbook; `None` when no playbook should fit.
    pub fn expected(&self) -> Option<&str> {
        (self.expect != NONE).then_some(self.expect.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    cases: Vec<Case>,
}

/// The labelled cases, checked against `catalog`: every expected path must be a playbook there,
/// so a renamed playbook fails loudly instead of silently lowering the accuracy.
pub fn load_cases(catalog: &[Playbook]) -> Vec<Case> {
    let path = cases_file();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let file: CaseFile = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not a valid case file: {error}", path.display()));
    for case in &file.cases {
        if let Some(expected) = case.expected() {
            assert!(
                catalog.iter().any(|playbook| playbook.path == expected),
                "{}: case {:?} expects {expected}, which is not in the example catalog",
                path.display(),
                case.task
            );
        }
    }
    file.cases
}

/// How the matcher answered one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case.
    pub case: Case,
    /// The best candidate, fitting or not, with its confidence.
    pub top: Option<(String, f64)>,
    /// Whether the best candidate reached the threshold.
    pub fits: bool,
    /// The best candidate's reasons, or the advice when there is no candidate.
    pub reasons: Vec<String>,
    /// The right answer: the expected playbook fits, or nothing fits when none should.
    pub correct: bool,
}

impl Outcome {
    /// The top confidence, 0 without any candidate.
    pub fn confidence(&self) -> f64 {
        self.top.as_ref().map_or(0.0, |(_, confidence)| *confidence)
    }

    /// What the matcher answered, for reports: a path or "none".
    pub fn answer(&self) -> String {
        match (&self.top, self.fits) {
            (Some((path, _)), true) => path.clone(),
            (Some((path, _)), false) => format!("none (closest {path})"),
            (None, _) => NONE.to_owned(),
        }
    }
}

/// The results of one run over the labelled set.
#[derive(Debug, Clone)]
pub struct Report {
    /// Threshold used.
    pub threshold: f64,
    /// One per case, in file order.
    pub outcomes: Vec<Outcome>,
}

/// Matches every case against `catalog` with `threshold`.
pub fn evaluate(cases: &[Case], catalog: &[Playbook], threshold: f64) -> Report {
    let matcher = Matcher::new(catalog);
    let outcomes = cases
        .iter()
        .map(|case| {
            let answer = matcher.rank(&case.task, threshold, 1);
            let top = answer
                .matches
                .first()
                .map(|best| (best.playbook.path.clone(), best.confidence));
            let correct = match (case.expected(), answer.best_fit()) {
                (Some(expected), Some(best)) => best.playbook.path == expected,
                (None, None) => true,
                _ => false,
            };
            Outcome {
                case: case.clone(),
                top,
                fits: answer.fits,
                reasons: answer
                    .matches
                    .first()
                    .map_or_else(|| vec![answer.advice.clone()], |best| best.reasons.clone()),
                correct,
            }
        })
        .collect();
    Report {
        threshold,
        outcomes,
    }
}

impl Report {
    /// Share of cases answered right (top-1 accuracy, "none" included as an answer).
    pub fn accuracy(&self) -> f64 {
        share(self.outcomes.iter())
    }

    /// (right, total) over cases that have a playbook.
    pub fn fits_score(&self) -> (usize, usize) {
        count(self.outcomes.iter().filter(|o| o.case.expected().is_some()))
    }

    /// (right, total) over cases no playbook fits.
    pub fn none_score(&self) -> (usize, usize) {
        count(self.outcomes.iter().filter(|o| o.case.expected().is_none()))
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

    /// Prints the summary and every miss.
    pub fn print(&self) {
        let (fits_right, fits_total) = self.fits_score();
        let (none_right, none_total) = self.none_score();
        let right = fits_right + none_right;
        println!(
            "mapping accuracy on {} labelled tasks (threshold {:.2}):",
            self.outcomes.len(),
            self.threshold
        );
        println!(
            "  top-1 accuracy            {:.3}  ({right}/{})",
            self.accuracy(),
            self.outcomes.len()
        );
        println!(
            "  tasks a playbook fits     {:.3}  ({fits_right}/{fits_total})",
            ratio(fits_right, fits_total)
        );
        println!(
            "  tasks no playbook fits    {:.3}  ({none_right}/{none_total})",
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

fn count<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> (usize, usize) {
    outcomes.fold((0, 0), |(right, total), outcome| {
        (right + usize::from(outcome.correct), total + 1)
    })
}

fn share<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> f64 {
    let (right, total) = count(outcomes);
    ratio(right, total)
}

fn ratio(right: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}
