//! Repositories as people have them: a site playbook with a play per group, an INI inventory
//! named by ansible.cfg, roles chosen by tags (`examples/selfhosted-site`), and a public homelab
//! repository nobody here wrote (`ansible-nas` from the shared corpora).

use crate::support::*;
use chiffon_proto::v1 as pb;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A one-service request on a site playbook plans that service's tag and play hosts, runs with
/// the repository's own ansible.cfg (its `inventory/hosts.ini`), and touches nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_service_request_runs_its_tag_on_its_hosts_with_the_repositorys_inventory() {
    let workspace = Workspace::of_example("selfhosted-site", "site_root");
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let submitted = cli(&dev.endpoint, &["request", "Install Jellyfin"]);
    let text = stdout(&submitted);
    assert!(submitted.status.success(), "{text}{}", stderr(&submitted));
    assert!(text.contains("run site.yaml"), "{text}");
    assert!(text.contains("--tags jellyfin"), "{text}");
    assert!(text.contains("--limit media"), "{text}");
    assert!(text.contains("hosts: media01"), "{text}");
    assert!(text.contains("roles: jellyfin"), "{text}");
    assert!(text.contains("Approve it:"), "{text}");
    let request_id = word_after(&text, "request ");

    let approved = cli(&dev.endpoint, &["approve", &request_id]);
    assert!(approved.status.success(), "{}", stderr(&approved));
    let watched = cli(&dev.endpoint, &["watch", &request_id]);
    if !watched.status.success() {
        dev.dump_log();
    }
    assert!(watched.status.success(), "{}", stdout(&watched));

    // Only the media box got Jellyfin; no other box was touched, not even by `common`.
    let root = workspace.homelab_root();
    assert_eq!(hosts_written(&root), ["media01"]);
    let written: Vec<PathBuf> = files_under(&root.join("media01"));
    assert!(
        written
            .iter()
            .any(|path| path.to_string_lossy().contains("jellyfin")),
        "{written:?}"
    );
    assert!(
        !written
            .iter()
            .any(|path| path.to_string_lossy().contains("sonarr")),
        "{written:?}"
    );
}

/// An agent given two inventories runs a request against the one it names: the plan shows that
/// inventory's hosts, and the playbook runs there; a name no agent has is refused with the ones
/// they have.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_runs_against_the_inventory_it_names() {
    let workspace = Workspace::of_example("selfhosted-site", "site_root");
    let production = std::fs::read_to_string(workspace.repo().join("inventory/hosts.ini"))
        .expect("the example's inventory");
    std::fs::write(
        workspace.repo().join("inventory/staging.ini"),
        production.replace("media01", "media-staging"),
    )
    .expect("write a staging inventory");
    let dev = workspace.start_dev_with(&[
        "--inventory",
        "production=inventory/hosts.ini",
        "--inventory",
        "staging=inventory/staging.ini",
    ]);
    wait_for_infra_agent(&dev.endpoint).await;

    let listed = stdout(&cli(&dev.endpoint, &["catalog", "inventories"]));
    assert!(listed.contains("production (default)"), "{listed}");
    assert!(listed.contains("media: media-staging"), "{listed}");

    let refused = cli(
        &dev.endpoint,
        &["request", "Install Jellyfin", "--inventory", "qa"],
    );
    assert!(!refused.status.success());
    let error = stderr(&refused);
    assert!(
        error.contains("\"qa\"") && error.contains("production, staging"),
        "{error}"
    );

    let submitted = cli(
        &dev.endpoint,
        &["request", "Install Jellyfin", "--inventory", "staging"],
    );
    let text = stdout(&submitted);
    assert!(submitted.status.success(), "{text}{}", stderr(&submitted));
    assert!(text.contains("hosts: media-staging"), "{text}");
    let request_id = word_after(&text, "request ");
    assert!(
        cli(&dev.endpoint, &["approve", &request_id])
            .status
            .success()
    );
    let watched = cli(&dev.endpoint, &["watch", &request_id]);
    if !watched.status.success() {
        dev.dump_log();
    }
    assert!(watched.status.success(), "{}", stdout(&watched));
    assert_eq!(hosts_written(&workspace.homelab_root()), ["media-staging"]);
}

/// Running a whole multi-service site playbook for a request is high risk, and the plan says
/// why; a piece of work nothing does is kept, and offered a template only when it is a
/// deployment.
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_site_is_high_risk_and_every_piece_of_work_is_planned() {
    let workspace = Workspace::of_example("selfhosted-site", "site_root");
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;

    let plan = submit(&mut client, "converge the whole site").await;
    let step = &plan.steps[0];
    assert_eq!(step.playbook, "site.yaml");
    assert_eq!(step.risk(), pb::RiskLevel::High, "{step:#?}");
    assert!(
        step.risk_reason.contains("whole site playbook site.yaml"),
        "{}",
        step.risk_reason
    );
    assert!(step.run_options.as_ref().is_some_and(|o| o.tags.is_empty()));

    let plan = submit(
        &mut client,
        "deploy jellyfin, back it up nightly and upgrade the kernel afterwards",
    )
    .await;
    let runs: Vec<String> = plan.steps.iter().map(run_of).collect();
    assert_eq!(
        runs,
        [
            "site.yaml --tags jellyfin",
            "site.yaml --tags restic,backup",
            "custom"
        ],
        "{plan:#?}"
    );
    let kernel = &plan.steps[2].rationale;
    assert!(!kernel.contains("generate a template"), "{kernel}");
    assert!(
        kernel.contains("write a playbook for upgrading"),
        "{kernel}"
    );

    // The CLI offers no approval for a plan that cannot be approved.
    let submitted = cli(&dev.endpoint, &["request", "Install Minecraft"]);
    let text = stdout(&submitted);
    assert!(!text.contains("Approve it:"), "{text}");
    assert!(text.contains("cannot be approved"), "{text}");
    assert!(
        text.contains("generate a template for deploying Minecraft"),
        "{text}"
    );
}

/// The hosts a run wrote under `root` (each writes under `root/<host>/`), sorted.
fn hosts_written(root: &Path) -> Vec<String> {
    let mut hosts: Vec<String> = std::fs::read_dir(root)
        .expect("the run wrote under site_root")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    hosts.sort();
    hosts
}

async fn submit(
    client: &mut chiffon_proto::v1::orchestrator_service_client::OrchestratorServiceClient<
        tonic::transport::Channel,
    >,
    text: &str,
) -> pb::Plan {
    client
        .submit_request(pb::SubmitRequestRequest {
            text: text.to_owned(),
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner()
        .plan
        .expect("a plan")
}

/// A step as "playbook --tags a,b", or "custom" when it needs a playbook first.
fn run_of(step: &pb::Step) -> String {
    if step.custom_playbook_needed {
        return "custom".to_owned();
    }
    let tags = step
        .run_options
        .as_ref()
        .map(|options| options.tags.join(","))
        .unwrap_or_default();
    if tags.is_empty() {
        step.playbook.clone()
    } else {
        format!("{} --tags {tags}", step.playbook)
    }
}

/// Where the shared corpora of public repositories are: `CHIFFON_CORPORA`, else next to the
/// workspace. Panics with where it looked, so a missing corpus fails instead of passing.
fn corpus(name: &str) -> PathBuf {
    let corpora = std::env::var_os("CHIFFON_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpora"));
    let path = corpora.join(name);
    assert!(
        path.join("README.md").is_file(),
        "the corpus {name} is not at {} (set CHIFFON_CORPORA)",
        path.display()
    );
    path
}

/// On ansible-nas, "Deploy Gitea" plans `nas.yml --tags gitea`, and ansible-playbook itself,
/// given the step's options, lists the Gitea role's tasks and nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn on_ansible_nas_a_one_service_request_selects_exactly_its_role() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let repo = scratch.path().join("ansible-nas");
    copy_dir(&corpus("ansible-nas"), &repo);
    let dev = ChiffonProcess::start(
        &[
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &scratch.path().join("data").display().to_string(),
            "--repo",
            &repo.display().to_string(),
        ],
        scratch.path(),
        "dev",
        true,
    );
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;

    let plan = submit(&mut client, "Deploy Gitea").await;
    assert_eq!(plan.steps.len(), 1, "{plan:#?}");
    let step = &plan.steps[0];
    assert_eq!(run_of(step), "nas.yml --tags gitea", "{step:#?}");
    assert_ne!(step.risk(), pb::RiskLevel::High, "{}", step.risk_reason);
    assert_eq!(step.roles, ["gitea"]);

    let whole = submit(&mut client, "run the full ansible-nas playbook").await;
    assert_eq!(run_of(&whole.steps[0]), "nas.yml", "{whole:#?}");
    assert_eq!(whole.steps[0].risk(), pb::RiskLevel::High);

    // What the step's options run, as Ansible lists it. The Galaxy roles and collections the
    // playbook names cannot be downloaded here (no network to Galaxy), so stand-ins with the
    // same names make it load; the Gitea role is the repository's own.
    let stand_ins = galaxy_stand_ins(scratch.path(), &repo);
    let listed = Command::new(ansible_program("ansible-playbook"))
        .current_dir(&repo)
        .env("ANSIBLE_ROLES_PATH", stand_ins.join("roles"))
        .env("ANSIBLE_COLLECTIONS_PATH", stand_ins.join("collections"))
        .args(["nas.yml", "--list-tasks", "--tags"])
        .arg(
            step.run_options
                .as_ref()
                .expect("run options")
                .tags
                .join(","),
        )
        .output()
        .expect("run ansible-playbook --list-tasks");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let tasks: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| line.contains("TAGS: ["))
        .filter(|line| !line.starts_with("play #") && !line.starts_with("TASK TAGS"))
        .collect();
    assert!(tasks.len() >= 3, "{text}");
    assert!(
        tasks.iter().all(|task| task.starts_with("gitea : ")),
        "{text}"
    );
}

/// The venv's Ansible program `name` (next to CHIFFON_ANSIBLE_PLAYBOOK), else from PATH.
fn ansible_program(name: &str) -> PathBuf {
    std::env::var_os("CHIFFON_ANSIBLE_PLAYBOOK")
        .map(PathBuf::from)
        .and_then(|playbook| playbook.parent().map(|dir| dir.join(name)))
        .filter(|program| program.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Empty roles and collections named like every Galaxy dependency of `repo`: the roles of its
/// requirements.yml, and a module file for every collection module its YAML calls.
fn galaxy_stand_ins(scratch: &Path, repo: &Path) -> PathBuf {
    let root = scratch.join("stand-ins");
    let requirements: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo.join("requirements.yml")).expect("requirements.yml"),
    )
    .expect("requirements.yml is YAML");
    for role in requirements["roles"].as_sequence().into_iter().flatten() {
        let name = role["name"].as_str().expect("a role name");
        write(
            &root.join("roles").join(name).join("tasks/main.yml"),
            "[]\n",
        );
    }
    let mut calls = Vec::new();
    for file in files_under(repo) {
        if file
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for line in text.lines() {
                let key = line.trim().trim_start_matches("- ").trim();
                if let Some(name) = key.strip_suffix(':')
                    && name.split('.').count() == 3
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._".contains(c))
                    && !name.starts_with("ansible.builtin.")
                {
                    calls.push(name.to_owned());
                }
            }
            // Roles of collections, e.g. `role: vladgh.samba.server`.
            for line in text.lines() {
                if let Some(name) = line.trim().trim_start_matches("- ").strip_prefix("role: ")
                    && name.split('.').count() == 3
                {
                    let parts: Vec<&str> = name.trim().split('.').collect();
                    let collection = collection_dir(&root, parts[0], parts[1]);
                    write(
                        &collection
                            .join("roles")
                            .join(parts[2])
                            .join("tasks/main.yml"),
                        "[]\n",
                    );
                }
            }
        }
    }
    for call in calls {
        let parts: Vec<&str> = call.split('.').collect();
        let collection = collection_dir(&root, parts[0], parts[1]);
        write(
            &collection
                .join("plugins/modules")
                .join(format!("{}.py", parts[2])),
            "DOCUMENTATION = ''\n",
        );
    }
    root
}

fn collection_dir(root: &Path, namespace: &str, name: &str) -> PathBuf {
    let dir = root
        .join("collections/ansible_collections")
        .join(namespace)
        .join(name);
    write(
        &dir.join("galaxy.yml"),
        &format!("namespace: {namespace}\nname: {name}\nversion: 1.0.0\n"),
    );
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
    std::fs::write(path, text).expect("write a stand-in file");
}
