//! How a request's playbooks run: check mode changes nothing, a limit keeps the run to its hosts,
//! and a failed request runs again on its failed hosts only. Through the CLI, on a copy of the
//! example repository whose three hosts all run locally, each in its own directory under the
//! homelab root.

use crate::support::*;
use chiffon_proto::v1 as pb;

const KUMA: &str = "kuma.home.arpa";
const PORTAL: &str = "portal.home.arpa";
const NAS: &str = "nas.home.arpa";

/// The latest plan's steps of a request.
async fn steps(endpoint: &str, request_id: &str) -> Vec<pb::Step> {
    orchestrator(endpoint)
        .await
        .get_plan(pb::GetPlanRequest {
            request_id: request_id.to_owned(),
            revision: 0,
        })
        .await
        .expect("get plan")
        .into_inner()
        .plan
        .expect("a plan")
        .steps
}

async fn request(endpoint: &str, request_id: &str) -> pb::Request {
    orchestrator(endpoint)
        .await
        .get_request(pb::GetRequestRequest {
            request_id: request_id.to_owned(),
        })
        .await
        .expect("get request")
        .into_inner()
        .request
        .expect("a request")
}

/// The hosts a step's result has tallies for.
fn hosts_run(step: &pb::Step) -> Vec<String> {
    let mut hosts: Vec<String> = step
        .result
        .iter()
        .flat_map(|result| result.host_stats.iter().map(|stats| stats.host.clone()))
        .collect();
    hosts.sort();
    hosts
}

#[tokio::test(flavor = "multi_thread")]
async fn check_mode_changes_nothing_and_the_same_request_without_it_does() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let (dry_run, succeeded) =
        run_request_with_cli(&dev.endpoint, &["Deploy Uptime Kuma", "--check", "--diff"]);
    assert!(succeeded, "a dry run succeeds");
    assert_eq!(
        files_under(&workspace.homelab_root()),
        Vec::<std::path::PathBuf>::new(),
        "check mode wrote nothing"
    );
    let options = request(&dev.endpoint, &dry_run)
        .await
        .run_options
        .expect("the request keeps its run options");
    assert!(options.check_mode && options.diff, "{options:?}");
    let dry_steps = steps(&dev.endpoint, &dry_run).await;
    assert!(!dry_steps.is_empty());
    for step in &dry_steps {
        let options = step.run_options.as_ref().expect("each step runs with them");
        assert!(options.check_mode, "{step:?}");
        assert_eq!(
            hosts_run(step),
            [KUMA],
            "the playbook did run, in check mode"
        );
    }
    let shown = stdout(&cli(&dev.endpoint, &["show", &dry_run]));
    assert!(shown.contains("options:   --check --diff"), "{shown}");
    assert!(
        shown.contains("run playbooks/deploy-uptime-kuma.yml"),
        "{shown}"
    );

    // Said in words, a dry run is one too: every step runs with --check and writes nothing.
    let (said, succeeded) =
        run_request_with_cli(&dev.endpoint, &["Deploy Uptime Kuma as a dry run"]);
    assert!(succeeded, "a dry run said in words succeeds");
    assert_eq!(
        files_under(&workspace.homelab_root()),
        Vec::<std::path::PathBuf>::new(),
        "a dry run said in words wrote nothing"
    );
    let said_steps = steps(&dev.endpoint, &said).await;
    assert_eq!(said_steps.len(), dry_steps.len(), "{said_steps:?}");
    for step in &said_steps {
        let options = step
            .run_options
            .as_ref()
            .expect("each step runs with options");
        assert!(options.check_mode, "{step:?}");
    }

    let (_, succeeded) = run_request_with_cli(&dev.endpoint, &["Deploy Uptime Kuma"]);
    assert!(succeeded);
    let compose = workspace
        .homelab_root()
        .join(KUMA)
        .join("stacks/uptime-kuma/docker-compose.yml");
    assert!(compose.is_file(), "the real run deploys the stack");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limited_request_only_touches_the_limited_host() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let (request_id, succeeded) = run_request_with_cli(
        &dev.endpoint,
        &[
            "Check the homelab hosts",
            "--limit",
            NAS,
            "--tags",
            "healthcheck",
        ],
    );
    assert!(succeeded);
    let root = workspace.homelab_root();
    assert!(
        root.join(NAS).join("reports/healthcheck.json").is_file(),
        "the limited host was checked"
    );
    for untouched in [KUMA, PORTAL] {
        assert!(
            !root.join(untouched).exists(),
            "{untouched} is outside the limit: {:?}",
            files_under(&root)
        );
    }
    let plan_steps = steps(&dev.endpoint, &request_id).await;
    let step = plan_steps.first().expect("a step");
    assert_eq!(step.playbook, "playbooks/healthcheck.yml");
    let options = step.run_options.clone().expect("run options");
    assert_eq!(options.limit, NAS);
    assert_eq!(options.tags, ["healthcheck"]);
    assert_eq!(hosts_run(step), [NAS]);
}

/// Every host records a sync under its directory; the NAS first needs
/// `{{ homelab_root }}/disk-mounted`, so without it the run fails there only.
const SYNC_PLAYBOOK: &str = "\
# Sync the shares: every host records the sync; the NAS needs its disk mounted first.
- name: Sync the shares
  hosts: all
  gather_facts: false
  tags: [sync]
  tasks:
    - name: Look for the mounted disk
      ansible.builtin.stat:
        path: \"{{ homelab_root }}/disk-mounted\"
      register: sync_disk
    - name: Require the mounted disk on the NAS
      ansible.builtin.assert:
        that: sync_disk.stat.exists or inventory_hostname != 'nas.home.arpa'
        fail_msg: the NAS disk is not mounted
    - name: Create the host directory
      ansible.builtin.file:
        path: \"{{ homelab_host_root }}\"
        state: directory
        mode: \"0755\"
    - name: Record the sync
      ansible.builtin.copy:
        dest: \"{{ homelab_host_root }}/synced\"
        content: \"synced\\n\"
        mode: \"0644\"
";

#[tokio::test(flavor = "multi_thread")]
async fn rerun_failed_runs_only_on_the_hosts_that_failed() {
    let workspace = Workspace::new();
    workspace.add_playbook("sync-shares.yml", SYNC_PLAYBOOK);
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let root = workspace.homelab_root();

    let (failed_id, succeeded) = run_request_with_cli(&dev.endpoint, &["Sync the shares"]);
    assert!(!succeeded, "the NAS has no disk yet");
    assert_eq!(
        request(&dev.endpoint, &failed_id).await.status(),
        pb::RequestStatus::Failed
    );
    assert!(root.join(KUMA).join("synced").is_file());
    assert!(root.join(PORTAL).join("synced").is_file());
    assert!(!root.join(NAS).join("synced").exists());
    shown_failure(&dev.endpoint, &failed_id);

    // Mount the disk, and forget the hosts that succeeded so a run there would show.
    std::fs::write(root.join("disk-mounted"), "yes\n").expect("mount the disk");
    for host in [KUMA, PORTAL] {
        std::fs::remove_file(root.join(host).join("synced")).expect("forget the sync");
    }
    let rerun = cli(
        &dev.endpoint,
        &["rerun-failed", &failed_id, "--as", "alice", "--watch"],
    );
    assert!(
        rerun.status.success(),
        "the re-run succeeds: {}",
        stderr(&rerun)
    );
    let text = stdout(&rerun);
    let rerun_id = word_after(&text, "request ");
    assert!(
        text.contains(&format!("re-runs {failed_id} on {NAS}")),
        "{text}"
    );
    assert!(text.contains("request succeeded"), "{text}");

    assert!(root.join(NAS).join("synced").is_file(), "the NAS synced");
    for host in [KUMA, PORTAL] {
        assert!(!root.join(host).join("synced").exists(), "{host} ran again");
    }
    let rerun_request = request(&dev.endpoint, &rerun_id).await;
    assert_eq!(rerun_request.rerun_of_request_id, failed_id);
    assert_eq!(rerun_request.status(), pb::RequestStatus::Succeeded);
    let rerun_steps = steps(&dev.endpoint, &rerun_id).await;
    assert_eq!(rerun_steps.len(), 1, "{rerun_steps:?}");
    assert_eq!(hosts_run(&rerun_steps[0]), [NAS]);

    // A request that did not fail cannot be re-run: one clear line, non-zero exit.
    let refused = cli(&dev.endpoint, &["rerun-failed", &rerun_id]);
    assert!(!refused.status.success());
    let error = stderr(&refused);
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(error.contains("FailedPrecondition"), "{error}");
}

/// `chiffon show` of the failed request names the failed host and task.
fn shown_failure(endpoint: &str, request_id: &str) {
    let shown = cli(endpoint, &["show", request_id]);
    assert!(shown.status.success());
    let text = stdout(&shown);
    assert!(text.contains("(failed)"), "{text}");
    assert!(
        text.contains(&format!(
            "failed on {NAS}: Require the mounted disk on the NAS: the NAS disk is not mounted"
        )),
        "{text}"
    );
}
