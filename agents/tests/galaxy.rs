//! Galaxy requirements with the real `ansible-galaxy` and `ansible-playbook`: what is missing
//! is reported at its requirements line (and what is used but named nowhere at its first use),
//! local requirements install offline into the private Galaxy directory where runs and scans
//! find them, an unreachable or silent Galaxy server fails the install quickly and clearly, and
//! the real-world ansible-nas repository reports the Galaxy content it lacks.

mod support;

use chiffon_agents::ansible::{
    AnsibleSetup, InstallLimits, PlaybookRunner, gather, install_requirements,
};
use chiffon_agents::catalog::CatalogIssue;
use chiffon_agents::catalog::refresh::{scan_blocking, scan_repository};
use chiffon_agents::{AgentError, RunOutcome};
use chiffon_proto::v1::{Playbook, PlaybookRun, TaskEvent, TaskEventKind, WorkStatus};
use std::path::Path;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "install it with `chiffon agent infra --install-requirements`";

fn playbook(path: &str) -> Playbook {
    Playbook {
        path: path.to_owned(),
        ..Playbook::default()
    }
}

fn issues_in<'a>(issues: &'a [CatalogIssue], path: &str) -> Vec<(Option<usize>, &'a str)> {
    issues
        .iter()
        .filter(|issue| issue.path == path)
        .map(|issue| (issue.line, issue.message.as_str()))
        .collect()
}

#[tokio::test]
async fn missing_requirements_are_reported_at_their_lines() {
    let repo = support::plain_repository(&[
        (
            "requirements.yml",
            "---\nroles:\n  - name: acme.webserver\n    version: 1.0.0\n\ncollections:\n  - name: acme.tools\n",
        ),
        (
            "site.yml",
            "\
- name: Site
  hosts: all
  gather_facts: false
  roles:
    - acme.webserver
  tasks:
    - name: Use a listed collection
      acme.tools.thing: {}
    - name: Use an unlisted one
      other.stuff.module: {}
",
        ),
    ]);
    let setup = AnsibleSetup::new(repo.path());
    let facts = gather(&setup, &mut [playbook("site.yml")], &[]).await;
    assert_eq!(
        issues_in(&facts.issues, "requirements.yml"),
        [
            (
                Some(3),
                format!(
                    "the role acme.webserver named here is not installed; site.yml:5 needs it; {INSTALL_HINT}"
                )
                .as_str()
            ),
            (
                Some(7),
                format!(
                    "the collection acme.tools named here is not installed; site.yml:8 needs it; {INSTALL_HINT}"
                )
                .as_str()
            ),
        ]
    );
    let site = issues_in(&facts.issues, "site.yml");
    assert!(
        site.contains(&(
            Some(10),
            "the collection other.stuff used here is not installed and no requirements file \
             names it; add it to requirements.yml, then install it with `chiffon agent infra \
             --install-requirements`"
        )),
        "{site:#?}"
    );
    // Ansible itself cannot load the playbook either, and says where.
    assert!(
        site.iter().any(|(line, message)| *line == Some(5)
            && message.contains("'acme.webserver' was not found")),
        "{site:#?}"
    );
}

/// A collection `localns.tools` with a module `hello`, a role archive `localns.greeter`, the
/// requirements naming both by local source, and a playbook using both on a local host.
fn local_galaxy_repository() -> tempfile::TempDir {
    let repo = support::plain_repository(&[
        ("ansible.cfg", "[defaults]\ninventory = hosts.ini\n"),
        (
            "hosts.ini",
            "here ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
        ),
        (
            "galaxy-src/tools/galaxy.yml",
            "namespace: localns\nname: tools\nversion: 1.0.0\nreadme: README.md\nauthors: [Chiffon tests]\n",
        ),
        ("galaxy-src/tools/README.md", "A test collection.\n"),
        (
            "galaxy-src/tools/plugins/modules/hello.py",
            "\
#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str', required=True)))
    module.exit_json(changed=False, msg='hello ' + module.params['name'])


if __name__ == '__main__':
    main()
",
        ),
        (
            "galaxy-src/greeter/tasks/main.yml",
            "- name: Greet\n  ansible.builtin.debug:\n    msg: greetings\n",
        ),
        (
            "galaxy-src/greeter/meta/main.yml",
            "galaxy_info:\n  author: tests\n  description: greets\n  license: MIT\n  min_ansible_version: '2.15'\n  platforms: []\ndependencies: []\n",
        ),
        (
            "requirements.yml",
            "\
roles:
  - src: galaxy-src/greeter.tar.gz
    name: localns.greeter
collections:
  - name: galaxy-src/tools
    type: dir
",
        ),
        (
            "site.yml",
            "\
- name: Greet
  hosts: all
  gather_facts: false
  roles:
    - localns.greeter
  tasks:
    - name: Say hello
      localns.tools.hello:
        name: chiffon
",
        ),
    ]);
    let archived = std::process::Command::new("tar")
        .current_dir(repo.path().join("galaxy-src"))
        .args(["czf", "greeter.tar.gz", "greeter"])
        .status()
        .expect("tar runs");
    assert!(archived.success(), "tar made the role archive");
    repo
}

async fn run_site(runner: &PlaybookRunner) -> (RunOutcome, Vec<TaskEvent>) {
    let run = PlaybookRun {
        playbook: "site.yml".to_owned(),
        ..PlaybookRun::default()
    };
    support::run_collecting(runner, &run).await
}

#[tokio::test]
async fn local_requirements_install_offline_and_runs_and_scans_find_them() {
    let repo = local_galaxy_repository();
    let galaxy = tempfile::tempdir().expect("temp dir");
    let setup = AnsibleSetup {
        galaxy_dir: Some(galaxy.path().to_path_buf()),
        ..AnsibleSetup::new(repo.path())
    };

    let before = gather(&setup, &mut [playbook("site.yml")], &[]).await;
    let missing: Vec<(Option<usize>, &str)> = issues_in(&before.issues, "requirements.yml");
    assert_eq!(
        missing.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [Some(2), Some(5)],
        "{missing:#?}"
    );
    assert!(
        missing[1]
            .1
            .starts_with("the collection localns.tools named here"),
        "{missing:#?}"
    );

    let started = Instant::now();
    install_requirements(&setup, InstallLimits::default())
        .await
        .expect("local requirements install without a network");
    let first = started.elapsed();
    assert!(
        galaxy
            .path()
            .join("roles/localns.greeter/tasks/main.yml")
            .is_file()
    );
    assert!(
        galaxy
            .path()
            .join("collections/ansible_collections/localns/tools/plugins/modules/hello.py")
            .is_file()
    );
    let started = Instant::now();
    install_requirements(&setup, InstallLimits::default())
        .await
        .expect("installing again changes nothing and succeeds");
    eprintln!(
        "local install: {} ms, again: {} ms",
        first.as_millis(),
        started.elapsed().as_millis()
    );

    let after = gather(&setup, &mut [playbook("site.yml")], &[]).await;
    assert!(after.issues.is_empty(), "{:#?}", after.issues);

    let (outcome, events) = run_site(&PlaybookRunner::from_setup(setup)).await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    let results: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.kind() == TaskEventKind::HostOk)
        .map(|e| (e.task.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("localns.greeter : Greet", "greetings"),
            ("Say hello", "hello chiffon")
        ]
    );

    // Without the Galaxy directory Ansible finds neither.
    let (outcome, _) = run_site(&PlaybookRunner::new(repo.path())).await;
    assert_eq!(outcome.status, WorkStatus::Failed);
    assert!(
        outcome.error.contains("localns.greeter"),
        "{}",
        outcome.error
    );
}

fn galaxy_setup(repo: &Path) -> (AnsibleSetup, tempfile::TempDir) {
    let galaxy = tempfile::tempdir().expect("temp dir");
    let setup = AnsibleSetup {
        galaxy_dir: Some(galaxy.path().to_path_buf()),
        ..AnsibleSetup::new(repo)
    };
    (setup, galaxy)
}

#[tokio::test]
async fn an_unreachable_galaxy_server_fails_the_install_within_seconds() {
    let repo = support::plain_repository(&[(
        "requirements.yml",
        "\
roles:
  - src: http://127.0.0.1:9/acme-role.tar.gz
    name: acme.role
collections:
  - name: acme.tools
    source: http://127.0.0.1:9/api/
",
    )]);
    let (setup, _galaxy) = galaxy_setup(repo.path());
    let started = Instant::now();
    let error = install_requirements(&setup, InstallLimits::default())
        .await
        .expect_err("nothing listens on port 9");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let AgentError::GalaxyInstall { failures } = &error else {
        panic!("{error}");
    };
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].starts_with("the roles of requirements.yml (Galaxy server "),
        "{}",
        failures[0]
    );
    assert!(failures[0].contains("acme.role"), "{}", failures[0]);
    assert!(
        failures[1].starts_with(
            "the collections of requirements.yml (Galaxy server http://127.0.0.1:9/api/"
        ),
        "{}",
        failures[1]
    );
    for failure in failures {
        assert!(failure.contains("Connection refused"), "{failure}");
    }
    assert!(
        error
            .to_string()
            .starts_with("cannot install the Galaxy requirements: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_silent_galaxy_server_is_cut_off_by_the_deadline() {
    // Connections complete (the kernel accepts them into the backlog) but nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("address").port();
    let repo = support::plain_repository(&[(
        "collections/requirements.yml",
        &format!("- name: acme.tools\n  source: http://127.0.0.1:{port}/api/\n"),
    )]);
    let (setup, _galaxy) = galaxy_setup(repo.path());
    let limits = InstallLimits {
        per_request: Duration::from_secs(120),
        deadline: Duration::from_secs(4),
    };
    let started = Instant::now();
    let error = install_requirements(&setup, limits)
        .await
        .expect_err("the server never answers");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the collections of collections/requirements.yml (Galaxy server http://127.0.0.1:{port}/api/"
        )),
        "{message}"
    );
    assert!(message.contains("did not finish within"), "{message}");
    drop(silent);
}

#[tokio::test]
async fn ansible_nas_reports_its_missing_galaxy_roles_and_collections() {
    let repo = support::corpus("ansible-nas");
    let setup = AnsibleSetup::new(&repo);
    let started = Instant::now();
    scan_blocking(repo.clone()).await.expect("the static scan");
    eprintln!(
        "static scan of ansible-nas alone: {} ms",
        started.elapsed().as_millis()
    );
    let started = Instant::now();
    let catalog = scan_repository(&setup).await.expect("ansible-nas scans");
    eprintln!(
        "scan of ansible-nas (static + Ansible): {} ms, {} playbooks, {} issues",
        started.elapsed().as_millis(),
        catalog.playbooks.len(),
        catalog.issues.len()
    );
    for issue in &catalog.issues {
        eprintln!("  {}:{}: {}", issue.path, issue.line, issue.message);
    }
    let requirements: Vec<(i32, &str)> = catalog
        .issues
        .iter()
        .filter(|issue| issue.path == "requirements.yml")
        .map(|issue| (issue.line, issue.message.as_str()))
        .collect();
    let expected = [
        (3, "role", "geerlingguy.docker"),
        (6, "role", "geerlingguy.nfs"),
        (10, "collection", "ansible.posix"),
        (11, "collection", "community.docker"),
        (12, "collection", "community.general"),
        (13, "collection", "vladgh.samba"),
    ];
    assert_eq!(requirements.len(), expected.len(), "{requirements:#?}");
    for ((line, message), (expected_line, kind, name)) in requirements.iter().zip(expected) {
        assert_eq!(*line, expected_line, "{message}");
        assert!(
            message.starts_with(&format!("the {kind} {name} named here is not installed; ")),
            "{message}"
        );
        assert!(message.ends_with(INSTALL_HINT), "{message}");
    }
    // Where the playbook needs what is missing.
    assert!(
        requirements[0].1.contains("nas.yml:24 needs it"),
        "{}",
        requirements[0].1
    );
    assert!(
        requirements[5].1.contains("nas.yml:14 needs it"),
        "{}",
        requirements[5].1
    );

    // Ansible stops at the first Galaxy role it cannot find, and says where.
    let load = catalog
        .issues
        .iter()
        .find(|issue| issue.path == "nas.yml" && issue.message.starts_with("Ansible cannot load"))
        .expect("nas.yml cannot be loaded");
    assert_eq!(load.line, 14, "{}", load.message);
    assert!(
        load.message.contains("vladgh.samba.server"),
        "{}",
        load.message
    );

    // No inventory in the repository: the default one says so.
    assert_eq!(catalog.inventories.len(), 1);
    assert!(
        catalog.inventories[0]
            .error
            .starts_with("Ansible found no inventory"),
        "{}",
        catalog.inventories[0].error
    );
}
