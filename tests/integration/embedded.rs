//! `chiffon dev` as a user runs it: the CLI submits, approves and watches a request that runs
//! real playbooks through the in-process bus, on SQLite.

use crate::support::*;
use chiffon_proto::v1 as pb;
use std::process::Command;

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

    let events = watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestCancelled,
    )
    .await;
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

/// The commits reachable from HEAD of the git repository at `path`, newest first.
fn commits(path: &std::path::Path) -> Vec<(git2::Oid, String)> {
    let git = git2::Repository::open(path).expect("the example is a git repository of its own");
    let mut walk = git.revwalk().expect("revwalk");
    walk.push_head().expect("HEAD");
    walk.map(|id| {
        let id = id.expect("commit id");
        let commit = git.find_commit(id).expect("commit");
        let author = commit.author();
        let summary = format!(
            "{} <{}>: {}",
            author.name().unwrap_or_default(),
            author.email().unwrap_or_default(),
            commit.message().unwrap_or_default()
        );
        (id, summary)
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_mode_runs_the_example_as_a_git_repository_under_the_data_dir() {
    let workspace = Workspace::new();
    let repo = workspace.path().join("data/homelab-infra");
    let mut dev = workspace.start_dev_on(None, "dev-example");
    wait_for_infra_agent(&dev.endpoint).await;

    let first = commits(&repo);
    assert_eq!(
        first
            .iter()
            .map(|(_, summary)| summary.as_str())
            .collect::<Vec<_>>(),
        ["Chiffon <chiffon@localhost>: Example homelab infrastructure"]
    );
    let git = git2::Repository::open(&repo).expect("open");
    assert!(
        git.statuses(None).expect("status").is_empty(),
        "every file of the example is committed"
    );
    assert_eq!(
        git.workdir()
            .map(|dir| dir.canonicalize().expect("canonical")),
        Some(repo.canonicalize().expect("canonical")),
        "a repository of its own, not a directory of Chiffon's source repository"
    );
    assert!(repo.join("playbooks/deploy-uptime-kuma.yml").is_file());

    let mut listed = catalog(&dev.endpoint).await;
    let playbooks = listed
        .list_playbooks(pb::ListPlaybooksRequest::default())
        .await
        .expect("list playbooks")
        .into_inner()
        .playbooks;
    assert!(
        playbooks
            .iter()
            .any(|playbook| playbook.path == "playbooks/deploy-uptime-kuma.yml"),
        "the agent runs the copy: {playbooks:?}"
    );
    assert!(dev.stop(), "chiffon dev shuts down cleanly");

    // A later start uses the copy as it is, with the user's edits.
    std::fs::write(repo.join("NOTES.md"), "mine\n").expect("edit the repository");
    let dev = workspace.start_dev_on(None, "dev-example-again");
    wait_for_infra_agent(&dev.endpoint).await;
    assert_eq!(commits(&repo), first);
    assert_eq!(
        std::fs::read_to_string(repo.join("NOTES.md")).expect("the edit is kept"),
        "mine\n"
    );
}
