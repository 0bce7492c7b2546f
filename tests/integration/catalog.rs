//! The catalog as a person explores it: every playbook of the repository with what it uses and
//! deploys, ranked matches for a task, the files that cannot be indexed, and edits picked up
//! while Chiffon runs. Over gRPC and through the CLI, on a copy of the example repository.

use crate::support::*;
use chiffon_proto::v1 as pb;
use std::collections::BTreeSet;
use std::time::Duration;

/// Paths of the playbooks in the repository copy's `playbooks/` directory.
fn playbooks_on_disk(workspace: &Workspace) -> BTreeSet<String> {
    std::fs::read_dir(workspace.repo().join("playbooks"))
        .expect("read playbooks")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.ends_with(".yml").then(|| format!("playbooks/{name}"))
        })
        .collect()
}

async fn list(endpoint: &str, filter: pb::ListPlaybooksRequest) -> Vec<pb::Playbook> {
    catalog(endpoint)
        .await
        .list_playbooks(filter)
        .await
        .expect("list playbooks")
        .into_inner()
        .playbooks
}

fn paths(playbooks: &[pb::Playbook]) -> BTreeSet<String> {
    playbooks
        .iter()
        .map(|playbook| playbook.path.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_lists_shows_and_matches_over_grpc_and_the_cli() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let endpoint = dev.endpoint.as_str();

    let every = list(endpoint, pb::ListPlaybooksRequest::default()).await;
    assert_eq!(paths(&every), playbooks_on_disk(&workspace));
    let kuma = every
        .iter()
        .find(|playbook| playbook.path == "playbooks/deploy-uptime-kuma.yml")
        .expect("the Uptime Kuma playbook is listed");
    assert_eq!(kuma.roles, ["common", "uptime_kuma"]);
    assert!(
        kuma.services.contains(&"uptime-kuma".to_owned()),
        "{kuma:?}"
    );
    assert_eq!(kuma.hosts, ["monitoring"]);
    let stack = kuma
        .compose_stacks
        .first()
        .expect("the playbook ships a compose stack");
    assert_eq!(
        stack.path,
        "roles/uptime_kuma/templates/docker-compose.yml.j2"
    );
    assert!(
        stack
            .images
            .iter()
            .any(|image| image.starts_with("louislam/uptime-kuma")),
        "{stack:?}"
    );
    assert!(!kuma.agent_id.is_empty());

    let backups = list(
        endpoint,
        pb::ListPlaybooksRequest {
            tag: "backup".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(paths(&backups).contains("playbooks/backup-nas.yml"));
    assert!(!paths(&backups).contains("playbooks/deploy-uptime-kuma.yml"));
    let kuma_service = list(
        endpoint,
        pb::ListPlaybooksRequest {
            service: "uptime-kuma".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(paths(&kuma_service).contains("playbooks/deploy-uptime-kuma.yml"));
    assert!(!paths(&kuma_service).contains("playbooks/backup-nas.yml"));

    let mut client = catalog(endpoint).await;
    let fetched = client
        .get_playbook(pb::GetPlaybookRequest {
            path: kuma.path.clone(),
        })
        .await
        .expect("get playbook")
        .into_inner()
        .playbook
        .expect("a playbook");
    assert_eq!(&fetched, kuma);
    let missing = client
        .get_playbook(pb::GetPlaybookRequest {
            path: "playbooks/no-such.yml".into(),
        })
        .await
        .expect_err("no such playbook");
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let install = client
        .match_playbooks(pb::MatchPlaybooksRequest {
            task: "install uptime kuma".into(),
            limit: 3,
        })
        .await
        .expect("match")
        .into_inner();
    assert!(install.fits, "{install:?}");
    assert!(install.matches.len() <= 3);
    let best = install.matches.first().expect("a best match");
    assert_eq!(
        best.playbook.as_ref().map(|p| p.path.as_str()),
        Some("playbooks/deploy-uptime-kuma.yml")
    );
    assert!(best.confidence >= install.threshold);
    assert!(!best.reasons.is_empty());
    let minecraft = client
        .match_playbooks(pb::MatchPlaybooksRequest {
            task: "set up a Minecraft server".into(),
            limit: 0,
        })
        .await
        .expect("match")
        .into_inner();
    assert!(!minecraft.fits, "{minecraft:?}");
    assert!(
        minecraft
            .matches
            .iter()
            .all(|candidate| candidate.confidence < minecraft.threshold)
    );
    assert!(!minecraft.advice.is_empty());

    // The same through the CLI.
    let listed = cli(endpoint, &["catalog", "list"]);
    assert!(listed.status.success());
    let text = stdout(&listed);
    for path in playbooks_on_disk(&workspace) {
        assert!(text.contains(&path), "{path} missing from:\n{text}");
    }
    for expected in [
        "roles:    common, uptime_kuma",
        "services: uptime-kuma",
        "compose:  roles/uptime_kuma/templates/docker-compose.yml.j2",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let filtered = stdout(&cli(endpoint, &["catalog", "list", "--tag", "backup"]));
    assert!(filtered.contains("playbooks/backup-nas.yml"), "{filtered}");
    assert!(
        !filtered.contains("playbooks/deploy-portal.yml"),
        "{filtered}"
    );

    let shown = cli(
        endpoint,
        &["catalog", "show", "playbooks/deploy-uptime-kuma.yml"],
    );
    assert!(shown.status.success());
    let text = stdout(&shown);
    for expected in [
        "name:        Deploy Uptime Kuma",
        "1. Deploy Uptime Kuma — hosts monitoring (in playbooks/deploy-uptime-kuma.yml)",
        // The play's pattern as the agent's inventory resolves it.
        "default: kuma.home.arpa",
        "hosts:       monitoring",
        "roles:       common, uptime_kuma",
        "roles/uptime_kuma/templates/uptime-kuma.env.j2",
        "images:   louislam/uptime-kuma",
        "uptime_kuma_port = 3001 (from inventory/group_vars/monitoring.yml)",
        "description: Deploy Uptime Kuma",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    let matched = stdout(&cli(
        endpoint,
        &["catalog", "match", "install", "uptime", "kuma"],
    ));
    let first = matched
        .lines()
        .find(|line| line.trim_start().starts_with("1. "))
        .expect("a ranked list");
    assert!(
        first.contains("playbooks/deploy-uptime-kuma.yml"),
        "{matched}"
    );
    assert!(first.contains("confidence"), "{matched}");
    assert!(matched.contains("deploys service uptime-kuma"), "{matched}");
    let nothing = cli(endpoint, &["catalog", "match", "set up a Minecraft server"]);
    assert!(
        nothing.status.success(),
        "no fit is an answer, not an error"
    );
    let nothing = stdout(&nothing);
    assert!(nothing.starts_with("no playbook fits"), "{nothing}");
    assert!(nothing.contains("closest:"), "{nothing}");
    assert!(nothing.contains(&minecraft.advice), "{nothing}");

    let refused = cli(endpoint, &["catalog", "show", "playbooks/no-such.yml"]);
    assert!(!refused.status.success());
    let error = stderr(&refused);
    assert_eq!(error.trim().lines().count(), 1, "one line: {error}");
    assert!(error.contains("not found"), "{error}");
    let empty = cli(endpoint, &["catalog", "match", " "]);
    assert!(!empty.status.success(), "an empty task is refused");
    assert_eq!(stderr(&empty).trim().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_file_is_reported_with_its_line_while_the_others_stay_listed() {
    let workspace = Workspace::new();
    // Line 4 is indented under a scalar: YAML cannot read it.
    workspace.add_playbook(
        "half-written.yml",
        "# Someone is halfway through writing this.\n- name: Half written\n  hosts: all\n    gather_facts: false\n  tasks: []\n",
    );
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let issues = catalog(&dev.endpoint)
        .await
        .list_catalog_issues(pb::ListCatalogIssuesRequest::default())
        .await
        .expect("list issues")
        .into_inner()
        .issues;
    let [issue] = issues.as_slice() else {
        panic!("one issue expected: {issues:?}");
    };
    assert_eq!(issue.path, "playbooks/half-written.yml");
    assert_eq!(issue.line, 4, "{issue:?}");
    assert!(!issue.message.is_empty());

    let mut healthy = playbooks_on_disk(&workspace);
    healthy.remove("playbooks/half-written.yml");
    let listed = list(&dev.endpoint, pb::ListPlaybooksRequest::default()).await;
    assert_eq!(paths(&listed), healthy);

    let printed = cli(&dev.endpoint, &["catalog", "issues"]);
    assert!(printed.status.success());
    let text = stdout(&printed);
    assert!(
        text.lines()
            .any(|line| line.starts_with("playbooks/half-written.yml:4: ")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_playbook_is_picked_up_without_a_restart() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let nightly = || pb::ListPlaybooksRequest {
        tag: "nightly".into(),
        ..Default::default()
    };
    assert!(list(&dev.endpoint, nightly()).await.is_empty());

    workspace.edit(
        "playbooks/healthcheck.yml",
        "  tags:\n    - healthcheck\n",
        "  tags:\n    - healthcheck\n    - nightly\n",
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let tagged = list(&dev.endpoint, nightly()).await;
        if !tagged.is_empty() {
            // site.yml imports the health check, so it carries the tag too.
            assert_eq!(
                paths(&tagged),
                BTreeSet::from([
                    "playbooks/healthcheck.yml".to_owned(),
                    "playbooks/site.yml".to_owned()
                ])
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edit never reached the catalog"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = stdout(&cli(
        &dev.endpoint,
        &["catalog", "list", "--tag", "nightly"],
    ));
    assert!(text.contains("playbooks/healthcheck.yml"), "{text}");
}
