//! Mapping accuracy over the example repository, held to a floor. The bench
//! (`cargo bench -p chiffon-orchestrator --bench mapping`) prints the same measurement in detail.

#[path = "../benches/support/mapping_eval.rs"]
mod mapping_eval;

use chiffon_orchestrator::mapping::DEFAULT_THRESHOLD;
use chiffon_orchestrator::planner;

/// The floor: 53/56 right at the time of writing. A floor of 0.85 leaves room for a few new
/// hard cases in the labelled set while catching a matcher change that breaks whole families of
/// tasks (a lost synonym table, a broken tokeniser, a threshold that rejects everything).
const ACCURACY_FLOOR: f64 = 0.85;

#[test]
fn top_1_accuracy_on_the_labelled_set_stays_above_the_floor() {
    let catalog = mapping_eval::example_catalog();
    let cases = mapping_eval::load_cases(&catalog);
    assert!(
        cases.len() >= 40,
        "the labelled set has {} cases",
        cases.len()
    );
    let report = mapping_eval::evaluate(&cases, &catalog, DEFAULT_THRESHOLD);
    report.print();
    assert!(
        report.accuracy() >= ACCURACY_FLOOR,
        "top-1 accuracy {:.3} fell below {ACCURACY_FLOOR}",
        report.accuracy()
    );
    let (none_right, none_total) = report.none_score();
    assert!(none_total > 0, "the set has no task that no playbook fits");
    assert!(
        none_right * 10 >= none_total * 8,
        "only {none_right}/{none_total} tasks no playbook fits were answered \"none\""
    );
}

#[test]
fn the_flagship_request_plans_deploy_then_configure_over_the_example_repo() {
    let catalog = mapping_eval::example_catalog();
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
