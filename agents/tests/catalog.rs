//! Discovery on the example repository (`examples/homelab-infra`) and on a copy of it with
//! broken files: concrete facts a person would check by reading the repository.

mod support;

use chiffon_agents::catalog::{Catalog, CatalogIssue, scan};
use chiffon_proto::v1::{Playbook, PlaybookVariable};
use std::fs;

use support::example_dir as example_repo;

fn playbook<'c>(catalog: &'c Catalog, path: &str) -> &'c Playbook {
    catalog
        .playbooks
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("{path} is catalogued: {:#?}", catalog.playbooks))
}

fn variable<'p>(playbook: &'p Playbook, name: &str) -> &'p PlaybookVariable {
    playbook
        .variables
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{} reads {name}: {:#?}", playbook.path, playbook.variables))
}

fn reads(playbook: &Playbook, name: &str) -> bool {
    playbook.variables.iter().any(|v| v.name == name)
}

#[test]
fn the_example_repository_is_indexed_without_issues() {
    let catalog = scan(&example_repo()).expect("scan");
    assert!(catalog.issues.is_empty(), "{:#?}", catalog.issues);
    for path in [
        "playbooks/backup-nas.yml",
        "playbooks/configure-uptime-kuma-monitors.yml",
        "playbooks/deploy-portal.yml",
        "playbooks/deploy-uptime-kuma.yml",
        "playbooks/healthcheck.yml",
        "playbooks/site.yml",
    ] {
        let entry = playbook(&catalog, path);
        assert!(!entry.description.is_empty(), "{path} has a description");
        assert!(!entry.hosts.is_empty(), "{path} has hosts");
    }
}

#[test]
fn deploy_uptime_kuma_uses_its_roles_stack_and_inventory_defaults() {
    let catalog = scan(&example_repo()).expect("scan");
    let kuma = playbook(&catalog, "playbooks/deploy-uptime-kuma.yml");
    assert_eq!(kuma.name, "Deploy Uptime Kuma");
    assert_eq!(kuma.hosts, ["monitoring"]);
    assert_eq!(kuma.roles, ["common", "uptime_kuma"]);
    assert_eq!(kuma.services, ["uptime-kuma"]);
    for tag in ["uptime-kuma", "monitoring", "deploy", "common"] {
        assert!(
            kuma.tags.iter().any(|t| t == tag),
            "tag {tag}: {:?}",
            kuma.tags
        );
    }
    assert!(
        kuma.description.starts_with("Deploy Uptime Kuma"),
        "{}",
        kuma.description
    );

    assert_eq!(kuma.compose_stacks.len(), 1, "{:#?}", kuma.compose_stacks);
    let stack = &kuma.compose_stacks[0];
    assert_eq!(
        stack.path,
        "roles/uptime_kuma/templates/docker-compose.yml.j2"
    );
    assert_eq!(stack.services, ["uptime-kuma"]);
    assert!(
        stack
            .images
            .iter()
            .any(|i| i.starts_with("louislam/uptime-kuma:")),
        "the image is rendered from the role's defaults: {:?}",
        stack.images
    );

    for template in [
        "roles/common/templates/motd.j2",
        "roles/uptime_kuma/templates/docker-compose.yml.j2",
        "roles/uptime_kuma/templates/uptime-kuma.env.j2",
    ] {
        assert!(
            kuma.templates.iter().any(|t| t == template),
            "{template}: {:?}",
            kuma.templates
        );
    }

    let root = variable(kuma, "homelab_root");
    assert_eq!(root.default_source, "inventory/group_vars/all.yml");
    assert_eq!(root.default_value, "/srv/homelab");
    let port = variable(kuma, "uptime_kuma_port");
    // The monitoring group's value wins over the role default for a play on monitoring.
    assert_eq!(port.default_source, "inventory/group_vars/monitoring.yml");
    assert_eq!(port.default_value, "3001");
    assert_eq!(
        variable(kuma, "uptime_kuma_image").default_source,
        "roles/uptime_kuma/defaults/main.yml"
    );
    // Registered results, loop variables and Ansible's own names are not inputs.
    for name in [
        "uptime_kuma_compose_up",
        "uptime_kuma_dir",
        "common_directory",
        "inventory_hostname",
        "ansible_managed",
        "group_names",
    ] {
        assert!(
            !reads(kuma, name),
            "{name} is not a variable of the playbook"
        );
    }
}

#[test]
fn deploy_portal_ships_the_homepage_stack() {
    let catalog = scan(&example_repo()).expect("scan");
    let portal = playbook(&catalog, "playbooks/deploy-portal.yml");
    assert_eq!(portal.hosts, ["web"]);
    assert_eq!(portal.roles, ["common", "portal"]);
    assert!(
        portal.services.iter().any(|s| s == "portal"),
        "{:?}",
        portal.services
    );
    assert!(
        portal.services.iter().any(|s| s == "homepage"),
        "{:?}",
        portal.services
    );
    let stack = &portal.compose_stacks[0];
    assert_eq!(stack.path, "roles/portal/templates/docker-compose.yml.j2");
    assert_eq!(stack.services, ["homepage"]);
    assert!(
        stack.images[0].starts_with("ghcr.io/gethomepage/homepage:"),
        "{:?}",
        stack.images
    );
    assert!(
        portal
            .templates
            .iter()
            .any(|t| t == "roles/portal/templates/services.yaml.j2")
    );
    assert_eq!(
        variable(portal, "portals").default_source,
        "inventory/group_vars/web.yml"
    );
}

#[test]
fn the_monitors_playbook_configures_uptime_kuma_without_deploying_a_stack() {
    let catalog = scan(&example_repo()).expect("scan");
    let monitors = playbook(&catalog, "playbooks/configure-uptime-kuma-monitors.yml");
    assert_eq!(monitors.roles, ["uptime_kuma_monitors"]);
    assert_eq!(monitors.services, ["uptime-kuma"]);
    assert!(
        monitors.compose_stacks.is_empty(),
        "{:#?}",
        monitors.compose_stacks
    );
    assert_eq!(
        monitors.templates,
        ["roles/uptime_kuma_monitors/templates/monitors.json.j2"]
    );
    let source_group = variable(monitors, "uptime_kuma_monitors_source_group");
    assert_eq!(
        (
            source_group.default_source.as_str(),
            source_group.default_value.as_str()
        ),
        ("roles/uptime_kuma_monitors/defaults/main.yml", "web")
    );
}

#[test]
fn backup_nas_and_healthcheck_read_their_inputs() {
    let catalog = scan(&example_repo()).expect("scan");
    let backup = playbook(&catalog, "playbooks/backup-nas.yml");
    assert_eq!(backup.roles, ["common", "nas_backup"]);
    assert_eq!(
        variable(backup, "nas_backup_sources").default_source,
        "inventory/group_vars/nas.yml"
    );
    // Set by the role's own tasks, so not something to pass in.
    assert!(!reads(backup, "nas_backup_files"));
    assert!(!reads(backup, "nas_backup_archive"));

    let health = playbook(&catalog, "playbooks/healthcheck.yml");
    assert!(health.roles.is_empty());
    assert_eq!(
        health.templates,
        ["playbooks/templates/healthcheck.json.j2"]
    );
    // The play sets healthcheck_strict itself.
    assert!(!reads(health, "healthcheck_strict"));
    assert!(reads(health, "homelab_host_root"));
}

#[test]
fn site_yml_is_the_union_of_what_it_imports() {
    let catalog = scan(&example_repo()).expect("scan");
    let site = playbook(&catalog, "playbooks/site.yml");
    assert_eq!(site.name, "site");
    assert_eq!(
        site.roles,
        [
            "common",
            "uptime_kuma",
            "portal",
            "uptime_kuma_monitors",
            "nas_backup"
        ]
    );
    for host in ["monitoring", "web", "nas", "all"] {
        assert!(
            site.hosts.iter().any(|h| h == host),
            "{host}: {:?}",
            site.hosts
        );
    }
    let stacks: Vec<&str> = site
        .compose_stacks
        .iter()
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(
        stacks,
        [
            "roles/uptime_kuma/templates/docker-compose.yml.j2",
            "roles/portal/templates/docker-compose.yml.j2"
        ]
    );
    assert_eq!(
        site.plays.first().map(String::as_str),
        Some("Deploy Uptime Kuma")
    );
    assert!(site.plays.iter().any(|p| p == "Check the homelab hosts"));
    assert!(site.services.iter().any(|s| s == "uptime-kuma"));
    assert!(site.tags.iter().any(|t| t == "healthcheck"));
}

/// Copies the example repository (without `.git`) to a temporary directory.
fn copy_of_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    support::copy_dir(&example_repo(), dir.path());
    dir
}

fn issue_for<'c>(catalog: &'c Catalog, path: &str) -> &'c CatalogIssue {
    catalog
        .issues
        .iter()
        .find(|issue| issue.path == path)
        .unwrap_or_else(|| panic!("an issue for {path}: {:#?}", catalog.issues))
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .expect("needle in text")
        + 1
}

#[test]
fn broken_files_are_issues_with_lines_and_the_rest_is_still_catalogued() {
    let repo = copy_of_example();
    let root = repo.path();
    let write = |path: &str, text: &str| fs::write(root.join(path), text).expect("write");

    let broken_playbook = "\
# Half-edited.
- name: Restart everything
  hosts: all
  tasks:
    - name: Restart
      ansible.builtin.command: systemctl restart x
     changed_when: true
";
    write("playbooks/restart.yml", broken_playbook);

    let meta = "---\ngalaxy_info:\n  role_name: uptime_kuma\ndependencies: [common\n";
    write("roles/uptime_kuma/meta/main.yml", meta);

    let compose = "\
# {{ ansible_managed }}
services:
  homepage:
    image: {{ portal_image }}:{{ portal_version }}
    ports:
      - \"{{ portal_port }}:3000\"
   volumes:
      - ./config:/app/config
";
    write("roles/portal/templates/docker-compose.yml.j2", compose);

    write(
        "roles/common/templates/motd.j2",
        "Welcome to {{ inventory_hostname\nManaged by Ansible.\n",
    );
    write(
        "playbooks/deploy-ghost.yml",
        "- hosts: web\n  roles:\n    - common\n    - ghost\n",
    );

    let catalog = scan(root).expect("scan");

    let issue = issue_for(&catalog, "playbooks/restart.yml");
    assert!(issue.message.contains("invalid YAML"), "{issue}");
    assert_eq!(
        issue.line,
        Some(line_of(broken_playbook, "changed_when")),
        "{issue}"
    );

    let issue = issue_for(&catalog, "roles/uptime_kuma/meta/main.yml");
    assert!(issue.message.contains("invalid YAML"), "{issue}");
    assert!(
        issue
            .line
            .is_some_and(|l| l >= line_of(meta, "dependencies")),
        "{issue}"
    );

    let issue = issue_for(&catalog, "roles/portal/templates/docker-compose.yml.j2");
    assert!(
        issue.message.contains("compose file is not valid YAML"),
        "{issue}"
    );
    assert_eq!(issue.line, Some(line_of(compose, "volumes")), "{issue}");

    let issue = issue_for(&catalog, "roles/common/templates/motd.j2");
    assert_eq!(issue.line, Some(1), "{issue}");
    assert!(issue.message.contains("never closed"), "{issue}");

    let issue = issue_for(&catalog, "playbooks/deploy-ghost.yml");
    assert_eq!(issue.line, Some(4), "{issue}");
    assert!(issue.message.contains("role ghost"), "{issue}");

    // Every other playbook is still there, with what could be read.
    assert!(
        catalog
            .playbooks
            .iter()
            .all(|p| p.path != "playbooks/restart.yml")
    );
    for path in [
        "playbooks/backup-nas.yml",
        "playbooks/configure-uptime-kuma-monitors.yml",
        "playbooks/deploy-ghost.yml",
        "playbooks/deploy-portal.yml",
        "playbooks/deploy-uptime-kuma.yml",
        "playbooks/healthcheck.yml",
        "playbooks/site.yml",
    ] {
        playbook(&catalog, path);
    }
    let kuma = playbook(&catalog, "playbooks/deploy-uptime-kuma.yml");
    assert_eq!(kuma.roles, ["common", "uptime_kuma"]);
    assert!(kuma.compose_stacks[0].images[0].starts_with("louislam/uptime-kuma:"));
    let portal = playbook(&catalog, "playbooks/deploy-portal.yml");
    let stack = &portal.compose_stacks[0];
    assert_eq!(stack.services, ["homepage"], "read line by line");
    assert!(
        stack.images[0].starts_with("ghcr.io/gethomepage/homepage:"),
        "{stack:?}"
    );
    let ghost = playbook(&catalog, "playbooks/deploy-ghost.yml");
    assert_eq!(ghost.roles, ["common", "ghost"]);
}
