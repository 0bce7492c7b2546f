//! Every playbook of the example repository runs for real with the real `ansible-playbook`,
//! against the example inventory (its hosts are local connections), writing under a private
//! `homelab_root`; and all of them run again (through `site.yml`) without changing anything, as
//! good playbooks should.

mod support;

use chiffon_agents::ansible::PlaybookRunner;
use chiffon_proto::v1::{HostStats, PlaybookRun, WorkStatus};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The playbook that imports all the others.
const SITE: &str = "playbooks/site.yml";
/// A guard against a hung run, far above what any example playbook needs.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// Every playbook under `playbooks/`, relative to the repository root, sorted.
fn example_playbooks(repo: &Path) -> Vec<String> {
    let mut playbooks: Vec<String> = std::fs::read_dir(repo.join("playbooks"))
        .expect("the example has a playbooks directory")
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml"))
        .map(|name| format!("playbooks/{name}"))
        .collect();
    playbooks.sort();
    playbooks
}

/// Runs `playbook` to its end, draining its events, and returns its per-host tallies.
async fn run_to_success(runner: &PlaybookRunner, playbook: &str) -> Vec<HostStats> {
    let (events, mut received) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while received.recv().await.is_some() {} });
    let run = PlaybookRun {
        playbook: playbook.to_owned(),
        ..PlaybookRun::default()
    };
    let outcome = runner
        .run(&run, RUN_LIMIT, CancellationToken::new(), events)
        .await;
    drain.await.expect("the event drain ends with the run");
    assert_eq!(
        outcome.status,
        WorkStatus::Succeeded,
        "{playbook}: {} (failed tasks: {:?})",
        outcome.error,
        outcome.failed_tasks
    );
    assert!(!outcome.host_stats.is_empty(), "{playbook} ran on no host");
    outcome.host_stats
}

/// Fails naming the hosts on which a run changed something.
fn assert_nothing_changed(stats: &[HostStats]) {
    let changed: Vec<(&str, i32)> = stats
        .iter()
        .filter(|host| host.changed > 0)
        .map(|host| (host.host.as_str(), host.changed))
        .collect();
    assert!(
        changed.is_empty(),
        "a second run changed things: {changed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_playbook_runs_and_a_second_run_changes_nothing() {
    let repo = support::TestRepo::example();
    let homelab = tempfile::tempdir().expect("temp dir");
    let mut vars = Map::new();
    vars.insert(
        "homelab_root".into(),
        Value::from(homelab.path().to_string_lossy().into_owned()),
    );
    let runner = PlaybookRunner::new(repo.path()).with_default_vars(vars);

    let playbooks = example_playbooks(&repo.path());
    assert!(playbooks.len() >= 6, "{playbooks:?}");
    for playbook in &playbooks {
        run_to_success(&runner, playbook).await;
    }
    assert!(
        homelab
            .path()
            .join("kuma.home.arpa/stacks/uptime-kuma/monitors.json")
            .is_file(),
        "the monitors were not written under the homelab root"
    );

    // Everything is in place now: site.yml, which imports every other playbook, must report no
    // change on any host.
    assert!(playbooks.iter().any(|p| p == SITE), "{playbooks:?}");
    assert_nothing_changed(&run_to_success(&runner, SITE).await);
}

/// The second example, a site playbook with a play per group and an INI inventory named by its
/// ansible.cfg, runs whole for real and changes nothing the second time.
#[tokio::test(flavor = "multi_thread")]
async fn the_site_example_runs_whole_and_a_second_run_changes_nothing() {
    let repo = support::example_dir().join("../selfhosted-site");
    let root = tempfile::tempdir().expect("temp dir");
    let mut vars = Map::new();
    vars.insert(
        "site_root".into(),
        Value::from(root.path().to_string_lossy().into_owned()),
    );
    let runner = PlaybookRunner::new(&repo).with_default_vars(vars);

    let first = run_to_success(&runner, "site.yaml").await;
    let hosts: Vec<&str> = first.iter().map(|host| host.host.as_str()).collect();
    assert_eq!(hosts.len(), 5, "{hosts:?}");
    assert!(
        root.path().join("media01").is_dir(),
        "nothing was written under site_root"
    );
    assert_nothing_changed(&run_to_success(&runner, "site.yaml").await);
}
