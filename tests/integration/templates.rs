//! "Generate a template for deploying SERVICE": planned, approved, and committed as a playbook
//! and role scaffold on the branch `chiffon/template-<service>`, which ansible-playbook accepts.

use crate::support::*;
use chiffon_proto::v1 as pb;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn a_template_request_commits_a_scaffold_that_passes_the_syntax_check() {
    let workspace = Workspace::new();
    let base = workspace.commit_repo();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let submitted = cli(
        &dev.endpoint,
        &["request", "generate a template for deploying Grafana"],
    );
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let request_id = word_after(&stdout(&submitted), "request ");
    let plan = orchestrator(&dev.endpoint)
        .await
        .get_plan(pb::GetPlanRequest {
            request_id: request_id.clone(),
            revision: 0,
        })
        .await
        .expect("get plan")
        .into_inner()
        .plan
        .expect("a plan");
    let [step] = plan.steps.as_slice() else {
        panic!("one step expected: {plan:?}");
    };
    assert_eq!(step.action(), pb::StepAction::GenerateTemplate);
    let template = step.template.as_ref().expect("what to generate");
    assert!(
        template.service.eq_ignore_ascii_case("grafana"),
        "{template:?}"
    );
    assert!(
        stdout(&submitted).contains("generate a template: service"),
        "the plan shows the action: {}",
        stdout(&submitted)
    );

    let approved = cli(&dev.endpoint, &["approve", &request_id]);
    assert!(approved.status.success());
    let watched = cli(&dev.endpoint, &["watch", &request_id]);
    assert!(watched.status.success(), "the template request succeeds");
    assert!(
        stdout(&watched).contains("on branch chiffon/template-grafana"),
        "watch shows the commit: {}",
        stdout(&watched)
    );

    let git = git2::Repository::open(workspace.repo()).expect("open the repository");
    let tip = git
        .find_branch("chiffon/template-grafana", git2::BranchType::Local)
        .expect("the template branch exists")
        .get()
        .peel_to_commit()
        .expect("its commit");
    assert_eq!(tip.parent_ids().collect::<Vec<_>>(), [base]);
    let tree = tip.tree().expect("tree");
    let playbook = "playbooks/deploy-grafana.yml";
    for path in [
        playbook,
        "roles/grafana/tasks/main.yml",
        "roles/grafana/handlers/main.yml",
        "roles/grafana/defaults/main.yml",
        "roles/grafana/meta/main.yml",
        "roles/grafana/README.md",
    ] {
        assert!(
            tree.get_path(std::path::Path::new(path)).is_ok(),
            "{path} is on the branch"
        );
    }
    assert_eq!(git.head().expect("HEAD").target(), Some(base), "HEAD stays");
    assert!(
        !workspace.repo().join(playbook).exists(),
        "the user's working tree is untouched"
    );

    // The branch, checked out on its own, passes ansible-playbook's syntax check.
    let checkout = tempfile::tempdir().expect("temp dir");
    let branch_repo = git2::build::RepoBuilder::new()
        .branch("chiffon/template-grafana")
        .clone(
            workspace.repo().to_str().expect("utf-8 path"),
            &checkout.path().join("repo"),
        )
        .expect("clone the branch");
    let workdir = branch_repo.workdir().expect("a working directory");
    let checked = Command::new(ansible_playbook())
        .current_dir(workdir)
        .args(["--syntax-check", "-i", "inventory/hosts.yml", playbook])
        .output()
        .expect("run ansible-playbook");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// `ansible-playbook` next to the project's Python, else from PATH.
fn ansible_playbook() -> std::path::PathBuf {
    let beside_python = std::path::Path::new(&python()).with_file_name("ansible-playbook");
    if beside_python.is_file() {
        beside_python
    } else {
        "ansible-playbook".into()
    }
}
