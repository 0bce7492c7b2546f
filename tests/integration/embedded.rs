//! `chiffon dev` as a user runs it: the CLI submits, approves and watches a request that runs
//! real playbooks through the in-process bus, on SQLite.

use crate::support::*;
use chiffon_proto::v1 as pb;
use std::process::Command;

fn cli(endpoint: &str, args: &[&str]) -> std::process::Output {
    let output = chiffon()
        .args(args)
        .env("CHIFFON_SERVER", endpoint)
        .output()
        .expect("run the chiffon CLI");
    println!(
        "$ chiffon {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_runs_to_success_in_dev_mode_through_the_cli() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let submitted = cli(&dev.endpoint, &["request", UPTIME_KUMA_REQUEST]);
    assert!(submitted.status.success());
    let text = stdout(&submitted);
    let request_id = text
        .lines()
        .find_map(|line| line.strip_prefix("request ")?.strip_suffix(" submitted"))
        .expect("the CLI prints the request id")
        .to_owned();
    assert!(text.contains("playbooks/deploy-uptime-kuma.yml"), "{text}");
    assert!(
        text.contains("playbooks/configure-uptime-kuma-monitors.yml"),
        "{text}"
    );

    let approved = cli(&dev.endpoint, &["approve", &request_id, "--as", "alice"]);
    assert!(approved.status.success());
    assert!(stdout(&approved).contains("approved"));

    let watched = cli(&dev.endpoint, &["watch", &request_id]);
    assert!(
        watched.status.success(),
        "watch exits 0 only when the request succeeded"
    );
    assert!(stdout(&watched).contains("request succeeded"));

    // The playbooks' effect, on disk.
    let kuma = workspace.homelab_root().join("kuma.home.arpa");
    let compose = std::fs::read_to_string(find_file(&kuma, "docker-compose.yml"))
        .expect("compose file deployed");
    assert!(compose.contains("louislam/uptime-kuma"), "{compose}");
    let monitors =
        std::fs::read_to_string(find_file(&kuma, "monitors.json")).expect("monitors configured");
    assert!(
        monitors.contains("Jellyfin") || monitors.contains("jellyfin"),
        "{monitors}"
    );

    // The same history over gRPC, in order.
    let mut client = orchestrator(&dev.endpoint).await;
    let events = watch_to_end(&mut client, &request_id).await;
    let kinds = assert_well_ordered(&events);
    assert_eq!(kinds.first(), Some(&pb::RequestEventKind::RequestSubmitted));
    assert_eq!(kinds.last(), Some(&pb::RequestEventKind::RequestSucceeded));
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == pb::RequestEventKind::StepSucceeded)
            .count(),
        2
    );
    assert!(events.iter().any(|event| {
        event
            .task
            .as_ref()
            .is_some_and(|task| task.kind() == pb::TaskEventKind::HostChanged)
    }));

    let listed = cli(&dev.endpoint, &["list"]);
    assert!(stdout(&listed).contains(&request_id));
    let agents = cli(&dev.endpoint, &["agents"]);
    assert!(stdout(&agents).contains("Online"));
    let mut dev = dev;
    assert!(dev.stop(), "chiffon dev shuts down cleanly on SIGTERM");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_explains_an_unreachable_server() {
    let output = Command::new(env!("CARGO_BIN_EXE_chiffon"))
        .args(["list", "--server", "http://127.0.0.1:9"])
        .output()
        .expect("run the chiffon CLI");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach the orchestrator"), "{stderr}");
}

/// The one file called `name` under `dir`.
pub fn find_file(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)
            .unwrap_or_else(|_| panic!("{} exists", current.display()))
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if entry.file_name() == name {
                return path;
            }
        }
    }
    panic!("no {name} under {}", dir.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_running_request_stops_its_playbook() {
    let workspace = Workspace::new();
    workspace.add_playbook("slow-maintenance.yml", &slow_maintenance_playbook(300));
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;
    let (request, _) = submit_and_approve(&mut client, "Run the slow maintenance").await;
    wait_for_event(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::StepStarted,
    )
    .await;

    let cancelled = client
        .cancel_request(pb::CancelRequestRequest {
            request_id: request.request_id.clone(),
            reason: "maintenance postponed".into(),
        })
        .await
        .expect("cancel")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(
        cancelled.status(),
        pb::RequestStatus::Running,
        "the running step is still stopping"
    );

    let events = watch_to_end(&mut client, &request.request_id).await;
    let kinds = assert_well_ordered(&events);
    assert_eq!(
        kinds.last(),
        Some(&pb::RequestEventKind::RequestCancelled),
        "{events:#?}"
    );
    assert!(
        events
            .last()
            .expect("events")
            .message
            .contains("maintenance postponed")
    );
    let stopped = events
        .iter()
        .find_map(|event| {
            event
                .result
                .as_ref()
                .filter(|_| event.kind() == pb::RequestEventKind::StepCancelled)
        })
        .expect("the step reports how it stopped");
    assert_eq!(stopped.status(), pb::WorkStatus::Cancelled);
    assert_eq!(stopped.exit_code, -1);
    assert!(
        !workspace.homelab_root().join("maintenance-done").exists(),
        "the playbook never finished"
    );
}
