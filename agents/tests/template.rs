//! Service templates against the real ansible-playbook, ansible-lint and git: generated
//! scaffolds hold every file, pass the syntax check and lint on their branch (checked here again
//! on an independent clone), run for real against localhost, and clashes are refused.

mod support;

use chiffon_agents::AgentError;
use chiffon_agents::ansible::default_program;
use chiffon_agents::suggest::lint;
use chiffon_agents::template::{TemplateCommit, TemplateOptions, generate_service_template};
use std::path::Path;
use std::process::Command;
use support::{TestRepo, diff, require_tools};

/// The role files every scaffold has.
const ROLE_FILES: [&str; 5] = [
    "README.md",
    "defaults/main.yml",
    "handlers/main.yml",
    "meta/main.yml",
    "tasks/main.yml",
];

/// The files a scaffold for `role` / `slug` must hold, sorted.
fn expected_files(slug: &str, role: &str, containerised: bool) -> Vec<String> {
    let mut files: Vec<String> = ROLE_FILES
        .iter()
        .map(|f| format!("roles/{role}/{f}"))
        .collect();
    if containerised {
        files.push(format!("roles/{role}/templates/docker-compose.yml.j2"));
    }
    files.push(format!("playbooks/deploy-{slug}.yml"));
    files.sort();
    files
}

/// Checks the template's branch on a fresh clone: the commit adds exactly the scaffold, the
/// syntax check passes, and ansible-lint finds nothing in the whole repository. Returns the
/// clone (kept alive by the returned guard) for further checks.
async fn check_branch(
    repo: &TestRepo,
    template: &TemplateCommit,
    expected: &[String],
) -> (tempfile::TempDir, std::path::PathBuf) {
    let git = repo.git();
    let commit = git
        .find_branch(&template.commit.branch, git2::BranchType::Local)
        .expect("branch")
        .get()
        .peel_to_commit()
        .expect("commit");
    assert_eq!(commit.id().to_string(), template.commit.commit_id);
    assert_eq!(
        commit.parent_id(0).expect("parent").to_string(),
        template.commit.base_commit
    );
    let change = diff(
        &git,
        template.commit.base_commit.parse().expect("oid"),
        commit.id(),
    );
    assert_eq!(change.files, expected, "the commit adds the scaffold only");
    assert!(
        change.lines.iter().all(|l| l.starts_with('+')),
        "nothing existing changed"
    );
    assert_eq!(template.commit.files, expected);

    let (guard, checkout) = repo.checkout(&template.commit.branch);
    let syntax = Command::new(default_program())
        .args([
            "--syntax-check",
            "-i",
            "inventory/hosts.yml",
            &template.playbook,
        ])
        .current_dir(&checkout)
        .output()
        .expect("ansible-playbook");
    assert!(
        syntax.status.success(),
        "syntax check: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // The scaffold's own files; the example keeps one deliberate finding elsewhere (in a role
    // the scaffold may use, which ansible-lint then reports too).
    let mut findings = lint(&checkout, &[]).await.expect("lint");
    findings.retain(|f| template.commit.files.contains(&f.path));
    assert!(findings.is_empty(), "lint findings: {findings:#?}");
    (guard, checkout)
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn a_containerised_service_template_passes_syntax_check_and_lint() {
    require_tools();
    let repo = TestRepo::example();
    let (head_name, head_commit) = repo.head();
    let status = repo.status();

    let options = TemplateOptions {
        image: Some("ghcr.io/home-assistant/home-assistant:2024.10.4".into()),
        port: Some(8123),
        ..TemplateOptions::default()
    };
    let template = generate_service_template(&repo.path(), "Home  Assistant", options, "req-12")
        .await
        .expect("template");

    assert_eq!(template.commit.branch, "chiffon/template-home-assistant");
    assert_eq!(template.service.slug, "home-assistant");
    assert_eq!(template.service.role, "home_assistant");
    assert_eq!(template.playbook, "playbooks/deploy-home-assistant.yml");
    assert_eq!(template.role_dir, "roles/home_assistant");
    assert!(
        template
            .commit
            .message
            .contains("\nChiffon-Request: req-12\n"),
        "{}",
        template.commit.message
    );
    let expected = expected_files("home-assistant", "home_assistant", true);
    let (_guard, checkout) = check_branch(&repo, &template, &expected).await;

    // The scaffold follows the repository's conventions.
    let playbook = read(&checkout, &template.playbook);
    assert!(
        playbook.starts_with("# Deploy Home Assistant (ghcr.io/home-assistant/home-assistant)")
    );
    assert!(
        playbook.contains("  hosts: all\n"),
        "no group home_assistant in the inventory"
    );
    assert!(playbook.contains("    - role: common\n"));
    let defaults = read(&checkout, "roles/home_assistant/defaults/main.yml");
    assert!(
        defaults.contains("home_assistant_version: \"2024.10.4\"\n"),
        "{defaults}"
    );
    assert!(defaults.contains("home_assistant_port: 8123\n"));
    assert!(defaults.contains("\"{{ homelab_host_root }}/stacks/home-assistant\""));
    let tasks = read(&checkout, "roles/home_assistant/tasks/main.yml");
    assert!(tasks.contains("when: homelab_manage_containers | bool"));
    let meta = read(&checkout, "roles/home_assistant/meta/main.yml");
    for key in [
        "author:",
        "description:",
        "license: MIT",
        "min_ansible_version: \"2.16\"",
        "platforms:",
    ] {
        assert!(meta.contains(key), "meta/main.yml lacks {key}: {meta}");
    }

    // The user's checkout is untouched and no worktree is left.
    assert_eq!(repo.head(), (head_name, head_commit));
    assert_eq!(repo.status(), status);
    assert!(!repo.path().join("roles/home_assistant").exists());
    assert!(repo.worktrees().is_empty());
}

#[tokio::test]
async fn a_grafana_template_deploys_for_real_and_is_not_generated_twice() {
    require_tools();
    let repo = TestRepo::example();
    // The inventory has a group named after the service: the play targets it.
    let original = read(&repo.path(), "inventory/hosts.yml");
    let inventory = original.replacen(
        "all:\n  children:\n",
        "all:\n  children:\n    grafana:\n      hosts:\n        kuma.home.arpa:\n",
        1,
    );
    assert_ne!(
        inventory, original,
        "the example inventory starts with all.children"
    );
    repo.write(&[("inventory/hosts.yml", &inventory)]);
    repo.commit_all("Add a grafana group");

    let options = TemplateOptions {
        image: Some("grafana/grafana-oss:11.3.0".into()),
        port: Some(3000),
        ..TemplateOptions::default()
    };
    let template = generate_service_template(&repo.path(), "grafana", options.clone(), "req-13")
        .await
        .expect("template");
    assert_eq!(template.service.display, "Grafana");
    let expected = expected_files("grafana", "grafana", true);
    let (_guard, checkout) = check_branch(&repo, &template, &expected).await;
    assert!(read(&checkout, &template.playbook).contains("  hosts: grafana\n"));

    // The generated playbook runs for real (containers off, as everywhere here).
    let root = tempfile::tempdir().expect("homelab root");
    let run = Command::new(default_program())
        .args(["-i", "inventory/hosts.yml", &template.playbook, "-e"])
        .arg(format!("homelab_root={}", root.path().display()))
        .current_dir(&checkout)
        .output()
        .expect("ansible-playbook");
    assert!(
        run.status.success(),
        "playbook run: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let compose = read(
        root.path(),
        "kuma.home.arpa/stacks/grafana/docker-compose.yml",
    );
    assert!(
        compose.contains("image: grafana/grafana-oss:11.3.0\n"),
        "{compose}"
    );
    assert!(compose.contains("- \"3000:3000\"\n"), "{compose}");
    assert!(
        root.path()
            .join("kuma.home.arpa/stacks/grafana/restart-requested")
            .is_file(),
        "the handler records the restart instead of calling docker"
    );

    // A second template for the same service is refused; the first branch stays.
    let again = generate_service_template(&repo.path(), "Grafana", options, "req-14")
        .await
        .expect_err("branch exists");
    assert!(
        matches!(&again, AgentError::BranchExists { branch, .. } if branch == "chiffon/template-grafana"),
        "{again}"
    );
    assert!(repo.branches().contains(&template.commit.branch));
    assert!(repo.worktrees().is_empty());
}

#[tokio::test]
async fn a_service_template_without_containers_has_no_compose_file() {
    require_tools();
    // A bare repository: no inventory (the check uses a temporary localhost one), no
    // homelab variables, no common role, no lint configuration (production profile).
    let repo = TestRepo::with_files(
        None,
        &[
            ("ansible.cfg", "[defaults]\nroles_path = roles\n"),
            ("playbooks/.keep", ""),
        ],
    );
    let options = TemplateOptions {
        containerised: false,
        port: Some(9100),
        ..TemplateOptions::default()
    };
    let template = generate_service_template(&repo.path(), "node_exporter", options, "req-15")
        .await
        .expect("template");

    assert_eq!(template.service.display, "Node Exporter");
    let expected = expected_files("node-exporter", "node_exporter", false);
    assert_eq!(template.commit.files, expected);
    let (_guard, checkout) = repo.checkout(&template.commit.branch);
    assert!(!checkout.join("roles/node_exporter/templates").exists());
    // The scaffold's own files; the example keeps one deliberate finding elsewhere (in a role
    // the scaffold may use, which ansible-lint then reports too).
    let mut findings = lint(&checkout, &[]).await.expect("lint");
    findings.retain(|f| template.commit.files.contains(&f.path));
    assert!(findings.is_empty(), "lint findings: {findings:#?}");
    let tasks = read(&checkout, "roles/node_exporter/tasks/main.yml");
    assert!(tasks.contains("ansible.builtin.package:"));
    assert!(tasks.contains("when: node_exporter_manage_service | bool"));
    let defaults = read(&checkout, "roles/node_exporter/defaults/main.yml");
    assert!(
        defaults.contains("(homelab_root | default('/srv/homelab')) ~ '/' ~ inventory_hostname"),
        "{defaults}"
    );
}

#[tokio::test]
async fn a_template_that_fails_its_checks_leaves_no_branch() {
    require_tools();
    // No ansible.cfg with roles_path: a playbook in playbooks/ cannot find roles/ — the
    // syntax check says so, and the branch is deleted.
    let repo = TestRepo::with_files(None, &[("playbooks/.keep", "")]);
    let branches = repo.branches();

    let error = generate_service_template(
        &repo.path(),
        "Grafana",
        TemplateOptions::default(),
        "req-16",
    )
    .await
    .expect_err("invalid");

    assert!(
        matches!(&error, AgentError::TemplateInvalid { check, .. } if check.contains("syntax-check")),
        "{error}"
    );
    assert!(error.to_string().contains("grafana"), "{error}");
    assert_eq!(repo.branches(), branches);
    assert!(repo.worktrees().is_empty());
}

#[tokio::test]
async fn clashing_or_unusable_names_are_refused() {
    let repo = TestRepo::example();
    let branches = repo.branches();

    // The example repository has an Uptime Kuma role already.
    let error = generate_service_template(
        &repo.path(),
        "Uptime Kuma",
        TemplateOptions::default(),
        "req-17",
    )
    .await
    .expect_err("role exists");
    assert!(
        matches!(error, AgentError::TemplateExists { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("roles/uptime_kuma"), "{error}");

    for name in ["", "!!!", "3proxy"] {
        let error =
            generate_service_template(&repo.path(), name, TemplateOptions::default(), "req-18")
                .await
                .expect_err("bad name");
        assert!(
            matches!(error, AgentError::InvalidServiceName { .. }),
            "{name:?}: {error}"
        );
    }

    let plain = tempfile::tempdir().expect("temp dir");
    let error = generate_service_template(
        plain.path(),
        "Grafana",
        TemplateOptions::default(),
        "req-19",
    )
    .await
    .expect_err("not under git");
    assert!(matches!(error, AgentError::Repository { .. }), "{error}");

    assert_eq!(repo.branches(), branches);
    assert!(repo.worktrees().is_empty());
}
