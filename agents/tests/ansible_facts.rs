//! What the real Ansible tools say about a repository, merged into the catalog: inventories
//! (`ansible-inventory --list`) with their groups and hosts and never their variables, the
//! hosts each play's pattern selects, the tasks each tagged part runs (`ansible-playbook
//! --list-tasks --list-tags`), and playbooks Ansible cannot load as issues at Ansible's origin.

mod support;

use chiffon_agents::ansible::{AnsibleSetup, InventorySource, gather};
use chiffon_agents::catalog::refresh::{scan_blocking, scan_repository};
use chiffon_proto::v1::{Inventory, Play, PlayTargets, Playbook, PlaybookPart};
use std::time::Instant;

const HOSTS_INI: &str = "\
[web]
web1 ansible_password=hunter2-host
web2

[db]
db1

[prod:children]
web
db

[prod:vars]
api_token=hunter2-group

[stage]
web2
";

const STAGING_YML: &str = "\
all:
  children:
    app:
      hosts:
        s1:
        s2:
      vars:
        db_password: hunter2-yaml
";

/// Its host line is not `key=value`, so the INI parser quotes it in its error.
const BROKEN_INI: &str = "[web]\nweb1 ansible_password hunter2-broken\n";

const SITE: &str = "\
- name: Web
  hosts: prod:&web:!web2
  gather_facts: false
  roles:
    - role: app
      tags: [app]
  tasks:
    - name: Always check
      ansible.builtin.debug: {msg: check}
      tags: [always]
    - name: Debug only
      ansible.builtin.debug: {msg: debug}
      tags: [never, debug]
    - name: Plain
      ansible.builtin.debug: {msg: plain}
- name: Dynamic
  hosts: \"{{ target | default('db') }}\"
  gather_facts: false
  tasks:
    - name: Dynamic task
      ansible.builtin.debug: {msg: dynamic}
      tags: [app]
- hosts: localhost
  gather_facts: false
  tasks: []
";

fn repository(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files = vec![
        (
            "ansible.cfg",
            "[defaults]\ninventory = inventory/hosts.ini\nroles_path = roles\n",
        ),
        ("inventory/hosts.ini", HOSTS_INI),
        ("staging.yml", STAGING_YML),
        ("broken.ini", BROKEN_INI),
        (
            "roles/app/tasks/main.yml",
            "- name: Install app\n  ansible.builtin.debug: {msg: app}\n",
        ),
        ("site.yml", SITE),
    ];
    files.extend_from_slice(extra);
    support::plain_repository(&files)
}

/// `site.yml` as the static scanner describes it: its plays and two tagged parts.
fn site_playbook() -> Playbook {
    let play = |name: &str, pattern: &str| Play {
        name: name.to_owned(),
        path: "site.yml".to_owned(),
        host_pattern: pattern.to_owned(),
        ..Play::default()
    };
    let part = |name: &str, tags: &[&str], plays: &[i32]| PlaybookPart {
        name: name.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        play_indexes: plays.to_vec(),
        tasks: vec!["(as the scanner read it)".to_owned()],
        ..PlaybookPart::default()
    };
    Playbook {
        path: "site.yml".to_owned(),
        play_details: vec![
            play("Web", "prod:&web:!web2"),
            play("Dynamic", "{{ target | default('db') }}"),
            play("", "localhost"),
        ],
        parts: vec![
            part("app", &["app"], &[0, 1]),
            part("debug", &["debug"], &[0]),
        ],
        ..Playbook::default()
    }
}

fn group_view(inventory: &Inventory) -> Vec<(String, Vec<String>, Vec<String>)> {
    inventory
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.hosts.clone(), g.children.clone()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn the_repositorys_inventory_and_the_plays_hosts_and_tasks() {
    let repo = repository(&[]);
    let setup = AnsibleSetup::new(repo.path());
    let mut playbooks = vec![site_playbook()];
    let facts = gather(&setup, &mut playbooks, &[]).await;

    assert!(facts.issues.is_empty(), "{:#?}", facts.issues);
    assert_eq!(facts.inventories.len(), 1);
    let inventory = &facts.inventories[0];
    assert_eq!(
        (
            inventory.name.as_str(),
            inventory.source.as_str(),
            inventory.is_default
        ),
        ("default", "", true)
    );
    assert_eq!(inventory.error, "");
    assert_eq!(
        group_view(inventory),
        [
            (
                "all".into(),
                strings(&["db1", "web1", "web2"]),
                strings(&["prod", "stage", "ungrouped"])
            ),
            ("db".into(), strings(&["db1"]), vec![]),
            (
                "prod".into(),
                strings(&["db1", "web1", "web2"]),
                strings(&["db", "web"])
            ),
            ("stage".into(), strings(&["web2"]), vec![]),
            ("ungrouped".into(), vec![], vec![]),
            ("web".into(), strings(&["web1", "web2"]), vec![]),
        ]
    );
    assert!(
        !format!("{facts:?}").contains("hunter2"),
        "variables leaked: {facts:?}"
    );

    let plays = &playbooks[0].play_details;
    let target = |play: usize| -> &PlayTargets {
        assert_eq!(plays[play].targets.len(), 1, "one target per inventory");
        &plays[play].targets[0]
    };
    assert_eq!(target(0).inventory, "default");
    assert_eq!(target(0).hosts, ["web1"]);
    assert_eq!(target(0).groups, ["prod", "web"]);
    assert!(target(1).hosts.is_empty());
    assert!(
        target(1).unresolved_reason.contains("Jinja"),
        "{:?}",
        target(1)
    );
    assert_eq!(target(2).hosts, ["localhost"]);

    let parts = &playbooks[0].parts;
    assert_eq!(
        parts[0].tasks,
        ["app : Install app", "Always check", "Dynamic task"],
        "a part in two plays runs its tagged tasks in both, plus `always`"
    );
    assert_eq!(
        parts[1].tasks,
        ["Always check", "Debug only"],
        "a `never` task runs when its own tag is selected"
    );
}

#[tokio::test]
async fn named_inventories_are_read_each_and_a_broken_one_says_why_without_quoting_it() {
    let repo = repository(&[]);
    let setup = AnsibleSetup {
        inventories: [
            "main=inventory/hosts.ini",
            "staging.yml",
            "broken.ini",
            "gone=missing.ini",
        ]
        .into_iter()
        .map(|argument| InventorySource::parse(argument).expect("valid"))
        .collect(),
        ..AnsibleSetup::new(repo.path())
    };
    let mut playbooks = vec![site_playbook()];
    let facts = gather(&setup, &mut playbooks, &[]).await;
    let summary: Vec<(&str, &str, bool, usize)> = facts
        .inventories
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.source.as_str(),
                i.is_default,
                i.groups.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("main", "inventory/hosts.ini", true, 6),
            ("staging", "staging.yml", false, 3),
            ("broken", "broken.ini", false, 0),
            ("gone", "missing.ini", false, 0),
        ]
    );
    assert_eq!(
        group_view(&facts.inventories[1])[0],
        (
            "all".into(),
            strings(&["s1", "s2"]),
            strings(&["app", "ungrouped"])
        )
    );
    let broken = &facts.inventories[2].error;
    assert!(
        broken.starts_with("Ansible cannot parse the inventory broken.ini; "),
        "{broken}"
    );
    assert!(
        facts.inventories[3]
            .error
            .ends_with("missing.ini does not exist"),
        "{}",
        facts.inventories[3].error
    );
    assert!(
        !format!("{facts:?}").contains("hunter2"),
        "secrets leaked: {facts:?}"
    );

    // Every play has a target in every inventory, in the inventories' order.
    let web = &playbooks[0].play_details[0];
    let targets: Vec<(&str, Vec<String>, &str)> = web
        .targets
        .iter()
        .map(|t| {
            (
                t.inventory.as_str(),
                t.hosts.clone(),
                t.unresolved_reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("main", strings(&["web1"]), ""),
            ("staging", vec![], ""),
            ("broken", vec![], "the inventory broken cannot be read"),
            ("gone", vec![], "the inventory gone cannot be read"),
        ]
    );
}

#[tokio::test]
async fn playbooks_ansible_cannot_load_are_issues_at_ansibles_origin() {
    let missing_role = "- name: Needs a Galaxy role\n  hosts: all\n  roles:\n    - acme.missing\n";
    let missing_module = "\
- name: Needs a collection
  hosts: all
  tasks:
    - name: Use it
      acme.tools.thing:
        name: x
";
    let repo = repository(&[
        ("needs-role.yml", missing_role),
        ("needs-module.yml", missing_module),
    ]);
    let setup = AnsibleSetup::new(repo.path());
    let mut playbooks = vec![
        Playbook {
            path: "needs-module.yml".to_owned(),
            ..Playbook::default()
        },
        Playbook {
            path: "needs-role.yml".to_owned(),
            ..Playbook::default()
        },
        site_playbook(),
    ];
    let facts = gather(&setup, &mut playbooks, &[]).await;
    let load: Vec<(&str, Option<usize>, &str)> = facts
        .issues
        .iter()
        .filter(|i| i.message.starts_with("Ansible cannot load"))
        .map(|i| (i.path.as_str(), i.line, i.message.as_str()))
        .collect();
    assert_eq!(load.len(), 2, "{:#?}", facts.issues);
    assert_eq!(
        (load[0].0, load[0].1),
        ("needs-module.yml", Some(4)),
        "{}",
        load[0].2
    );
    assert!(load[0].2.contains("acme.tools.thing"), "{}", load[0].2);
    assert!(
        load[0].2.contains("install the collection"),
        "{}",
        load[0].2
    );
    assert_eq!(
        (load[1].0, load[1].1),
        ("needs-role.yml", Some(4)),
        "{}",
        load[1].2
    );
    assert!(
        load[1].2.contains("the role 'acme.missing' was not found"),
        "{}",
        load[1].2
    );
    assert!(load[1].2.contains("install the role"), "{}", load[1].2);

    // The playbook that loads is still listed, though the others stopped the joint listing.
    assert_eq!(playbooks[2].parts[1].tasks, ["Always check", "Debug only"]);

    // The Galaxy content nobody names is reported where it is used.
    let galaxy: Vec<(&str, Option<usize>)> = facts
        .issues
        .iter()
        .filter(|i| i.message.contains("no requirements file names it"))
        .map(|i| (i.path.as_str(), i.line))
        .collect();
    assert_eq!(
        galaxy,
        [("needs-module.yml", Some(5)), ("needs-role.yml", Some(4))],
        "{:#?}",
        facts.issues
    );
}

#[tokio::test]
async fn the_example_repository_scans_with_its_inventory_and_no_issues() {
    let setup = AnsibleSetup::new(support::example_dir());
    let started = Instant::now();
    scan_blocking(support::example_dir())
        .await
        .expect("the static scan");
    eprintln!(
        "static scan of examples/homelab-infra alone: {} ms",
        started.elapsed().as_millis()
    );
    let started = Instant::now();
    let catalog = scan_repository(&setup).await.expect("the example scans");
    eprintln!(
        "scan of examples/homelab-infra (static + Ansible): {} ms",
        started.elapsed().as_millis()
    );
    assert!(catalog.issues.is_empty(), "{:#?}", catalog.issues);
    assert_eq!(catalog.inventories.len(), 1);
    let inventory = &catalog.inventories[0];
    assert_eq!(
        (inventory.name.as_str(), inventory.is_default),
        ("default", true)
    );
    let monitoring = inventory
        .groups
        .iter()
        .find(|g| g.name == "monitoring")
        .expect("the monitoring group");
    assert_eq!(monitoring.hosts, ["kuma.home.arpa"]);

    let deploy = catalog
        .playbooks
        .iter()
        .find(|p| p.path == "playbooks/deploy-uptime-kuma.yml")
        .expect("the Uptime Kuma playbook");
    assert!(
        !deploy.play_details.is_empty(),
        "the scanner describes its plays"
    );
    for playbook in &catalog.playbooks {
        for play in &playbook.play_details {
            assert_eq!(play.targets.len(), 1, "{}: {play:?}", playbook.path);
            assert_eq!(
                play.targets[0].unresolved_reason, "",
                "{}: {play:?}",
                playbook.path
            );
        }
    }
    assert_eq!(deploy.play_details[0].targets[0].hosts, ["kuma.home.arpa"]);
}
