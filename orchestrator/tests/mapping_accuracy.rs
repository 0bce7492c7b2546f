//! Mapping accuracy on every labelled set, each held to a floor: the tuning sets and, above all,
//! the held-out sets the matcher was never tuned on. The bench
//! (`cargo bench -p chiffon-orchestrator --bench mapping`) prints the same measurement in detail.

#[path = "../benches/support/mapping_eval.rs"]
mod mapping_eval;

use chiffon_orchestrator::mapping::DEFAULT_THRESHOLD;
use chiffon_orchestrator::planner;

/// Top-1 accuracy each set must keep. A floor a little under today's accuracy leaves room for
/// new hard cases while catching a matcher change that breaks whole families of requests (a lost
/// vocabulary, a broken tokeniser, a threshold that rejects everything).
fn floor(set: &str) -> f64 {
    match set {
        "homelab-infra.tuning" => 0.9,
        "ansible-nas.tuning" => 0.95,
        "selfhosted-site.tuning" => 0.9,
        "ansible-nas.development" => 0.92,
        "ansible-nas.development-2" => 0.9,
        "selfhosted-site.development" => 0.92,
        "selfhosted-site.development-2" => 0.9,
        // Written fresh to find what the matcher misses; they hold its hardest requests.
        "ansible-nas.development-3" => 0.8,
        "ansible-nas.development-4" => 0.77,
        "selfhosted-site.development-3" => 0.9,
        "selfhosted-site.development-4" => 0.85,
        "ansible-nas.development-5" => 0.8,
        "selfhosted-site.development-5" => 0.8,
        "ansible-nas.development-6" => 0.87,
        "selfhosted-site.development-6" => 0.8,
        "selfhosted-site.development-7" => 0.87,
        "selfhosted-site.development-8" => 0.85,
        "selfhosted-site.development-9" => 0.9,
        "selfhosted-site.development-10" => 0.8,
        "selfhosted-site.development-11" => 0.87,
        "selfhosted-site.development-12" => 0.8,
        // The goal: 0.9 on every held-out set of requests for one playbook, which both reach.
        "ansible-nas.heldout" => 0.9,
        "selfhosted-site.heldout" => 0.9,
        "plans.development" => 0.85,
        "plans.heldout" => 0.87,
        other => panic!("no floor for the labelled set {other}: give it one"),
    }
}

/// Share of the requests nothing does that each set must answer "none": most, except on the
/// development batches written to hold requests that name what the repository nearly does ("a
/// samba domain controller", "grafana loki on kubernetes"), which hold what is reached today.
fn none_floor(set: &str) -> f64 {
    match set {
        "ansible-nas.development-3" => 0.6,
        "ansible-nas.development-4" => 0.55,
        // Four such requests, one of them hardware work on the disk the backup role writes to.
        "selfhosted-site.development-11" => 0.75,
        _ => 0.8,
    }
}

#[test]
fn top_1_accuracy_on_every_set_stays_above_its_floor() {
    let sets = mapping_eval::load_sets();
    let mut failures = Vec::new();
    if !sets.iter().any(|set| set.held_out) {
        failures.push(
            "no held-out set: accuracy on tuning sets alone says nothing about generalising"
                .to_owned(),
        );
    }
    for set in &sets {
        assert!(
            set.cases.len() >= 30,
            "{} has {} cases",
            set.name,
            set.cases.len()
        );
        let report = mapping_eval::evaluate(set, DEFAULT_THRESHOLD);
        report.print();
        if report.accuracy() < floor(&set.name) {
            failures.push(format!(
                "{}: top-1 accuracy {:.3} fell below {}",
                set.name,
                report.accuracy(),
                floor(&set.name)
            ));
        }
        let (none_right, none_total) = report.none_score();
        assert!(none_total > 0, "{} has no request nothing does", set.name);
        if mapping_eval::ratio(none_right, none_total) < none_floor(&set.name) {
            failures.push(format!(
                "{}: only {none_right}/{none_total} requests nothing does were answered \"none\"",
                set.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn compound_requests_plan_every_piece_of_work() {
    let names = mapping_eval::plan_sets();
    let mut failures = Vec::new();
    if !names.iter().any(|name| name.ends_with(".heldout")) {
        failures.push("no held-out set of compound requests".to_owned());
    }
    for name in names {
        let outcomes = mapping_eval::evaluate_plans(&name);
        let (right, total) = mapping_eval::print_plans(&name, &outcomes);
        assert!(total >= 20, "{name} has {total} requests");
        let steps: usize = outcomes.iter().map(|o| o.expected.len()).sum();
        let planned: usize = outcomes.iter().map(|o| o.planned.len()).sum();
        // Every piece of work becomes a step (or is said to be covered by one): none dropped.
        if planned * 10 < steps * 9 {
            failures.push(format!(
                "{name}: {planned} steps planned for {steps} pieces of work"
            ));
        }
        if mapping_eval::ratio(right, total) < floor(&name) {
            failures.push(format!(
                "{name}: only {right}/{total} compound requests planned exactly right, below {}",
                floor(&name)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_flagship_request_plans_deploy_then_configure_over_the_example_repo() {
    let catalog = mapping_eval::catalog_of(&mapping_eval::repository("examples/homelab-infra"));
    let draft = planner::plan(
        "Deploy Uptime Kuma to the homelab and add our existing portals to its config",
        "",
        &catalog,
    );
    let playbooks: Vec<Option<&str>> = draft
        .steps
        .iter()
        .map(|step| step.playbook.as_deref())
        .collect();
    assert_eq!(
        playbooks,
        [
            Some("playbooks/deploy-uptime-kuma.yml"),
            Some("playbooks/configure-uptime-kuma-monitors.yml"),
        ],
        "{:#?}",
        draft.steps
    );
}
