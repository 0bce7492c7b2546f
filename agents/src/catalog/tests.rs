//! Scans of small repositories written for each case. The example repository and a repository
//! with broken files are covered by `agents/tests/catalog.rs`.

use super::*;
use chiffon_proto::v1::{Play, PlaybookPart, PlaybookVariable};

/// A repository holding `files` (path, content).
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        let full: PathBuf = dir.path().join(path);
        fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        fs::write(full, content).expect("write");
    }
    dir
}

/// Scans `files` and returns the catalog, failing on any issue.
fn clean_scan(files: &[(&str, &str)]) -> Catalog {
    let dir = repo(files);
    let catalog = scan(dir.path()).expect("scan");
    assert!(catalog.issues.is_empty(), "{:#?}", catalog.issues);
    catalog
}

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
        .unwrap_or_else(|| {
            panic!(
                "{name} is a variable of {}: {:#?}",
                playbook.path, playbook.variables
            )
        })
}

/// A part with what every part has; the rest from `..`.
fn part(name: &str, tags: &[&str], play: i32, roles: &[&str], tasks: &[&str]) -> PlaybookPart {
    let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
    PlaybookPart {
        name: name.into(),
        tags: strings(tags),
        play_indexes: vec![play],
        roles: strings(roles),
        tasks: strings(tasks),
        ..PlaybookPart::default()
    }
}

fn variable_names(playbook: &Playbook) -> Vec<&str> {
    playbook.variables.iter().map(|v| v.name.as_str()).collect()
}

const DEPLOY: &str = "\
---
# Deploys Uptime Kuma
# in a container.
- name: Deploy Uptime Kuma
  hosts: monitoring
  tags: [kuma, deploy]
  tasks:
    - name: Create the data directory
      ansible.builtin.file:
        path: /tmp/x
        state: directory
      tags: files
    - block:
        - name: Inner
          ansible.builtin.debug:
            msg: hi
          tags: [inner, kuma]
      rescue:
        - name: Rescue
          ansible.builtin.debug:
            msg: rescued
          tags: 'rescue, cleanup'
- hosts: [web, nas]
  roles:
    - role: portal
      tags: portal
";

#[test]
fn a_playbook_is_described_from_its_plays_and_header() {
    let catalog = clean_scan(&[
        ("playbooks/deploy-kuma.yml", DEPLOY),
        (
            "roles/portal/tasks/main.yml",
            "- name: Configure\n  ansible.builtin.debug: {}\n  tags: [portal-config]\n",
        ),
    ]);
    assert_eq!(
        catalog.playbooks,
        vec![Playbook {
            path: "playbooks/deploy-kuma.yml".into(),
            name: "Deploy Uptime Kuma".into(),
            hosts: vec!["monitoring".into(), "web".into(), "nas".into()],
            tags: [
                "cleanup",
                "deploy",
                "files",
                "inner",
                "kuma",
                "portal",
                "portal-config",
                "rescue"
            ]
            .map(String::from)
            .to_vec(),
            description: "Deploys Uptime Kuma in a container.".into(),
            roles: vec!["portal".into()],
            services: vec!["portal".into()],
            plays: vec!["Deploy Uptime Kuma".into()],
            play_details: vec![
                Play {
                    name: "Deploy Uptime Kuma".into(),
                    path: "playbooks/deploy-kuma.yml".into(),
                    host_pattern: "monitoring".into(),
                    tags: vec!["kuma".into(), "deploy".into()],
                    ..Play::default()
                },
                Play {
                    path: "playbooks/deploy-kuma.yml".into(),
                    host_pattern: "web,nas".into(),
                    roles: vec!["portal".into()],
                    ..Play::default()
                },
            ],
            parts: vec![
                // "kuma" is on the play and on a task: only "deploy" selects the play alone.
                part(
                    "Deploy Uptime Kuma",
                    &["deploy"],
                    0,
                    &[],
                    &["Create the data directory", "Inner", "Rescue",]
                ),
                part(
                    "Create the data directory",
                    &["files"],
                    0,
                    &[],
                    &["Create the data directory"]
                ),
                part("Inner", &["inner"], 0, &[], &["Inner"]),
                part("Rescue", &["rescue", "cleanup"], 0, &[], &["Rescue"]),
                PlaybookPart {
                    services: vec!["portal".into()],
                    ..part("portal", &["portal"], 1, &["portal"], &["Configure"])
                },
                // A tag on a task inside a role selects that task.
                PlaybookPart {
                    selects_tasks_within_roles: true,
                    ..part(
                        "portal-config",
                        &["portal-config"],
                        1,
                        &["portal"],
                        &["Configure"],
                    )
                },
            ],
            tasks: ["Create the data directory", "Inner", "Rescue", "Configure"]
                .map(String::from)
                .to_vec(),
            ..Playbook::default()
        }]
    );
}

#[test]
fn a_tag_inside_roles_selects_a_section_named_by_the_include_it_is_named_after() {
    let catalog = clean_scan(&[
        (
            "site.yml",
            "- hosts: edge\n  roles:\n    - role: certs\n      tags: [certs]\n    \
             - role: caddy\n      tags: [caddy]\n",
        ),
        (
            "roles/certs/tasks/main.yml",
            "- name: Issue missing certificates\n  ansible.builtin.import_tasks: issue.yml\n  \
             tags: [caddy_sites]\n",
        ),
        (
            "roles/certs/tasks/issue.yml",
            "- name: Issue a certificate\n  ansible.builtin.debug: {}\n",
        ),
        (
            "roles/caddy/tasks/main.yml",
            "- name: Install Caddy\n  ansible.builtin.debug: {msg: \"{{ caddy_version }}\"}\n\
             - name: Publish the sites behind Caddy\n  ansible.builtin.import_tasks: sites.yml\n  \
             tags: [caddy_sites]\n",
        ),
        (
            "roles/caddy/tasks/sites.yml",
            "- name: Add a site block\n  ansible.builtin.template:\n    src: site.caddy.j2\n    \
             dest: \"/srv/{{ item }}.caddy\"\n  loop: \"{{ caddy_sites }}\"\n",
        ),
        (
            "roles/caddy/templates/site.caddy.j2",
            "{{ caddy_upstream }}\n",
        ),
    ]);
    let parts = &playbook(&catalog, "site.yml").parts;
    let sites = parts
        .iter()
        .find(|part| part.tags == ["caddy_sites"])
        .expect("the caddy_sites tag selects a part");
    // Two includes carry the tag; it is named after the one that shares its words.
    assert_eq!(sites.name, "Publish the sites behind Caddy");
    assert_eq!(sites.roles, ["certs", "caddy"]);
    assert!(sites.selects_tasks_within_roles);
    // It renders and reads what its own tasks do, not what the rest of the caddy role does.
    assert_eq!(sites.templates, ["roles/caddy/templates/site.caddy.j2"]);
    assert_eq!(sites.variables, ["caddy_sites", "caddy_upstream"]);
    assert_eq!(
        sites.tasks,
        [
            "Issue missing certificates",
            "Issue a certificate",
            "Publish the sites behind Caddy",
            "Add a site block"
        ]
    );
    let caddy = parts
        .iter()
        .find(|part| part.tags == ["caddy"])
        .expect("the caddy role is a part");
    assert!(!caddy.selects_tasks_within_roles);
}

#[test]
fn handlers_are_listed_apart_from_the_tasks_that_notify_them() {
    let catalog = clean_scan(&[
        (
            "site.yml",
            "- hosts: media\n  roles:\n    - role: jellyfin\n      tags: [jellyfin]\n  \
             handlers:\n    - name: Reboot the media box\n      ansible.builtin.reboot: {}\n",
        ),
        (
            "roles/jellyfin/tasks/main.yml",
            "- name: Write the compose file\n  ansible.builtin.debug: {}\n  \
             notify: Restart jellyfin\n",
        ),
        (
            "roles/jellyfin/handlers/main.yml",
            "- name: Restart jellyfin\n  ansible.builtin.debug: {}\n",
        ),
    ]);
    let site = playbook(&catalog, "site.yml");
    assert_eq!(site.tasks, ["Write the compose file"]);
    assert_eq!(site.handlers, ["Reboot the media box", "Restart jellyfin"]);
    let jellyfin = &site.parts[0];
    assert_eq!(jellyfin.tasks, ["Write the compose file"]);
    // The play's own handler is the play's, not the role's.
    assert_eq!(jellyfin.handlers, ["Restart jellyfin"]);
}

#[test]
fn without_a_header_the_description_comes_from_plays_roles_and_services() {
    let catalog = clean_scan(&[
        (
            "playbooks/sub/update.yaml",
            "- name: update config\n  hosts: all\n  tasks: []\n",
        ),
        (
            "playbooks/grafana.yml",
            "- hosts: monitoring\n  roles: [grafana]\n",
        ),
        (
            "roles/grafana/meta/main.yml",
            "galaxy_info:\n  description: >-\n    Runs Grafana\n    in docker.\ndependencies: []\n",
        ),
    ]);
    let update = playbook(&catalog, "playbooks/sub/update.yaml");
    assert_eq!(update.name, "update config");
    assert_eq!(update.description, "Update config. Targets all.");
    let grafana = playbook(&catalog, "playbooks/grafana.yml");
    assert_eq!(grafana.name, "grafana");
    assert_eq!(
        grafana.description,
        "Targets monitoring. Uses the roles grafana. Deploys grafana. Runs Grafana in docker."
    );
}

#[test]
fn a_play_without_a_name_is_named_after_the_file() {
    let catalog = clean_scan(&[(
        "playbooks/backup.yml",
        "# Description: Backs up the NAS\n- hosts: nas\n",
    )]);
    let playbook = &catalog.playbooks[0];
    assert_eq!(playbook.name, "backup");
    assert_eq!(playbook.description, "Backs up the NAS");
    assert!(playbook.tags.is_empty());
}

#[test]
fn a_broken_file_is_reported_with_its_line_and_the_scan_goes_on() {
    let dir = repo(&[
        ("playbooks/a.yml", "- hosts: all\n"),
        (
            "playbooks/broken.yml",
            "- hosts: all\n  tasks:\n    - name: x\n   bad: [\n",
        ),
        ("playbooks/z.yml", "- hosts: web\n"),
    ]);
    let catalog = scan(dir.path()).expect("scan");
    let paths: Vec<_> = catalog.playbooks.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["playbooks/a.yml", "playbooks/z.yml"]);
    assert_eq!(catalog.issues.len(), 1, "{:?}", catalog.issues);
    let issue = &catalog.issues[0];
    assert_eq!(issue.path, "playbooks/broken.yml");
    assert!(issue.line.is_some_and(|l| (2..=4).contains(&l)), "{issue}");
    assert!(issue.message.contains("invalid YAML"), "{issue}");
}

#[test]
fn a_half_playbook_under_playbooks_is_an_issue_at_the_odd_entry() {
    let dir = repo(&[(
        "playbooks/mixed.yml",
        "---\n- hosts: all\n- name: a task\n  debug: {}\n",
    )]);
    let catalog = scan(dir.path()).expect("scan");
    assert!(catalog.playbooks.is_empty());
    let issue = &catalog.issues[0];
    assert!(issue.message.contains("entry 2"), "{issue}");
    assert_eq!(issue.line, Some(3));
}

#[test]
fn top_level_playbooks_count_and_other_yaml_does_not() {
    let catalog = clean_scan(&[
        ("site.yml", "- import_playbook: playbooks/a.yml\n"),
        ("ping.yaml", "- name: Ping\n  hosts: all\n"),
        (
            "requirements.yml",
            "collections:\n  - name: community.docker\n",
        ),
        (
            "compose.yaml",
            "services:\n  kuma:\n    image: louislam/uptime-kuma\n",
        ),
        ("inventory/hosts.yml", "all:\n  hosts:\n    localhost: {}\n"),
        ("playbooks/a.yml", "- hosts: all\n"),
        ("playbooks/vars/main.yml", "- hosts: not-a-playbook\n"),
        ("playbooks/tasks/setup.yml", "- name: a task\n  debug: {}\n"),
        ("playbooks/settings.yml", "port: 3001\n"),
        ("roles/x/tasks/main.yml", "- name: task\n  debug: {}\n"),
    ]);
    let paths: Vec<_> = catalog.playbooks.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["ping.yaml", "playbooks/a.yml", "site.yml"]);
    let site = &catalog.playbooks[2];
    assert_eq!(site.name, "site");
    assert_eq!(site.hosts, ["all"]);
    assert_eq!(site.description, "Runs playbooks/a.yml. Targets all.");
}

#[test]
fn a_missing_repository_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = scan(&dir.path().join("nope")).expect_err("missing repo");
    assert!(error.to_string().contains("nope"), "{error}");
}

#[test]
fn comment_headers_skip_document_markers_and_modelines() {
    use playbook::leading_comment;
    assert_eq!(
        leading_comment("---\n# vim: ft=yaml\n#\n# Line one\n#   line two\n- hosts: all\n# later"),
        Some("Line one line two".to_owned())
    );
    assert_eq!(leading_comment("- hosts: all\n# not leading"), None);
}

#[test]
fn roles_are_listed_transitively_in_the_order_they_run() {
    let catalog = clean_scan(&[
        (
            "playbooks/app.yml",
            "\
- hosts: app
  pre_tasks:
    - name: Prepare
      ansible.builtin.import_role:
        name: prep
  roles:
    - app
  tasks:
    - name: Set up the cache
      ansible.builtin.include_role:
        name: cache
        tasks_from: setup
      tags: [cache]
",
        ),
        ("roles/prep/tasks/main.yml", "- ansible.builtin.debug: {}\n"),
        (
            "roles/app/meta/main.yml",
            "dependencies:\n  - role: db\n    db_port: 5432\n  - base\n",
        ),
        (
            "roles/app/tasks/main.yml",
            "- ansible.builtin.debug: {}\n  tags: app\n",
        ),
        ("roles/db/meta/main.yml", "dependencies: [{name: base}]\n"),
        (
            "roles/db/tasks/main.yml",
            "- ansible.builtin.debug:\n    msg: \"{{ db_port }} {{ db_name }}\"\n  tags: [db]\n",
        ),
        ("roles/db/defaults/main.yml", "db_name: app\n"),
        ("roles/base/meta/main.yml", "dependencies: []\n"),
        (
            "roles/base/tasks/main.yml",
            "- ansible.builtin.debug: {}\n  tags: base\n",
        ),
        (
            "roles/cache/tasks/main.yml",
            "- ansible.builtin.debug: {}\n  tags: [not-run]\n",
        ),
        (
            "roles/cache/tasks/setup.yml",
            "- ansible.builtin.import_tasks: steps/more.yml\n",
        ),
        (
            "roles/cache/tasks/steps/more.yml",
            "- ansible.builtin.include_tasks: last.yml\n",
        ),
        (
            "roles/cache/tasks/steps/last.yml",
            "- ansible.builtin.debug: {}\n  tags: [cache-more]\n",
        ),
        // Dependencies that loop are followed once.
        ("roles/loop_a/meta/main.yml", "dependencies: [loop_b]\n"),
        ("roles/loop_b/meta/main.yml", "dependencies: [loop_a]\n"),
        ("playbooks/loop.yml", "- hosts: all\n  roles: [loop_a]\n"),
    ]);
    let app = playbook(&catalog, "playbooks/app.yml");
    assert_eq!(app.roles, ["prep", "base", "db", "app", "cache"]);
    assert_eq!(app.tags, ["app", "base", "cache", "cache-more", "db"]);
    // db_port is a parameter the app role passes; db_name has the db role's default.
    assert_eq!(variable_names(app), ["db_name"]);
    assert_eq!(
        variable(app, "db_name").default_source,
        "roles/db/defaults/main.yml"
    );
    let looped = playbook(&catalog, "playbooks/loop.yml");
    assert_eq!(looped.roles, ["loop_b", "loop_a"]);
}

#[test]
fn roles_are_found_through_ansible_cfg_and_next_to_the_playbook() {
    let catalog = clean_scan(&[
        (
            "ansible.cfg",
            "[defaults]\ninventory = inv/hosts.yml\nroles_path = ./galaxy:~/.ansible/roles:vendor\n",
        ),
        ("inv/hosts.yml", "all: {}\n"),
        ("inv/group_vars/all.yml", "site_name: lab\n"),
        (
            "vendor/web/tasks/main.yml",
            "- debug: {msg: \"{{ site_name }}\"}\n",
        ),
        ("playbooks/roles/local/tasks/main.yml", "- debug: {}\n"),
        ("playbooks/web.yml", "- hosts: all\n  roles: [web, local]\n"),
    ]);
    let web = playbook(&catalog, "playbooks/web.yml");
    assert_eq!(web.roles, ["web", "local"]);
    assert_eq!(
        variable(web, "site_name").default_source,
        "inv/group_vars/all.yml"
    );
}

#[test]
fn an_outside_role_is_given_the_settings_named_after_it() {
    let dir = repo(&[
        (
            "group_vars/all.yml",
            "nfs_exports: [\"/srv/public *(rw)\"]\nsamba_shares: []\ngeerlingguy_x: 1\n",
        ),
        (
            "site.yml",
            "- hosts: all\n  roles:\n    - role: geerlingguy.nfs\n      tags: [nfs]\n    \
             - role: local\n      tags: [local]\n",
        ),
        ("roles/local/tasks/main.yml", "- debug: {}\n"),
    ]);
    // The outside role itself is not installed here; that is an issue of its own.
    let catalog = scan(dir.path()).expect("scan");
    let site = playbook(&catalog, "site.yml");
    let part = |tag: &str| {
        site.parts
            .iter()
            .find(|part| part.tags == [tag])
            .unwrap_or_else(|| panic!("the {tag} part: {:#?}", site.parts))
    };
    // Its namespace is its author's: `geerlingguy_x` is not the role's.
    assert_eq!(part("nfs").variables, ["nfs_exports"]);
    assert!(part("local").variables.is_empty());
}

#[test]
fn variables_are_what_is_read_and_not_set_with_defaults_and_hidden_secrets() {
    let catalog = clean_scan(&[
        (
            "inventory/group_vars/all.yml",
            "\
base_dir: /srv
db_password: hunter2
smtp: {host: mail, password: hunter3}
vault_like: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  6162
",
        ),
        ("inventory/group_vars/db.yml", "db_host: db1\n"),
        // Encrypted whole with ansible-vault: unreadable, and not a mistake.
        (
            "inventory/group_vars/all/vault.yml",
            "$ANSIBLE_VAULT;1.1;AES256\n61626364\n",
        ),
        (
            "roles/app/defaults/main.yml",
            "app_port: 8080\napp_api_token: abc123\napp_dir: \"{{ base_dir }}/app\"\n",
        ),
        ("roles/app/vars/main.yml", "app_internal: 1\n"),
        (
            "roles/app/tasks/main.yml",
            "\
- name: Probe {{ app_port }}
  ansible.builtin.uri:
    url: http://localhost:{{ app_port }}/?t={{ app_api_token }}
  register: probe
  when: probe_enabled | default(true) and inventory_hostname in groups['app']
- ansible.builtin.set_fact:
    computed: \"{{ probe.status }}\"
- ansible.builtin.debug:
    msg: \"{{ computed }} {{ app_internal }} {{ item }} {{ smtp.host }} {{ vault_like }}\"
  loop: \"{{ app_dirs }}\"
- ansible.builtin.template:
    src: app.conf.j2
    dest: \"{{ app_dir }}/app.conf\"
",
        ),
        (
            "roles/app/templates/app.conf.j2",
            "{% for peer in peers %}{{ peer.name }} {{ db_password }} {{ db_host }}{% endfor %}\n\
             {{ ansible_facts['hostname'] }} {{ ansible_managed }}\n",
        ),
        (
            "playbooks/app.yml",
            "- hosts: app\n  vars:\n    peers: []\n  roles: [app]\n",
        ),
    ]);
    let app = playbook(&catalog, "playbooks/app.yml");
    assert_eq!(
        variable_names(app),
        [
            "app_api_token",
            "app_dir",
            "app_dirs",
            "app_port",
            "base_dir",
            "db_host",
            "db_password",
            "probe_enabled",
            "smtp",
            "vault_like",
        ]
    );
    let shown = |name: &str| {
        let v = variable(app, name);
        (v.default_source.as_str(), v.default_value.as_str())
    };
    assert_eq!(shown("app_port"), ("roles/app/defaults/main.yml", "8080"));
    assert_eq!(
        shown("app_api_token"),
        ("roles/app/defaults/main.yml", "(hidden)")
    );
    assert_eq!(
        shown("db_password"),
        ("inventory/group_vars/all.yml", "(hidden)")
    );
    assert_eq!(shown("smtp"), ("inventory/group_vars/all.yml", "(hidden)"));
    assert_eq!(
        shown("vault_like"),
        ("inventory/group_vars/all.yml", "(hidden)")
    );
    // Read through app_dir's default.
    assert_eq!(shown("base_dir"), ("inventory/group_vars/all.yml", "/srv"));
    // Defined for another group's hosts only.
    assert_eq!(shown("db_host"), ("inventory/group_vars/db.yml", "db1"));
    assert_eq!(shown("app_dirs"), ("", ""));
    assert_eq!(app.templates, ["roles/app/templates/app.conf.j2"]);
    let text = format!("{catalog:?}");
    for secret in ["hunter2", "hunter3", "abc123", "ANSIBLE_VAULT"] {
        assert!(!text.contains(secret), "{secret} leaked into the catalog");
    }
}

#[test]
fn stacks_and_services_come_from_templates_files_and_container_tasks() {
    let catalog = clean_scan(&[
        (
            "roles/media/defaults/main.yml",
            "jellyfin_tag: \"10.9\"\nmedia_image: \"jellyfin/jellyfin:{{ jellyfin_tag }}\"\n",
        ),
        (
            "roles/media/templates/compose.yaml.j2",
            "services:\n  jellyfin:\n    image: jellyfin/jellyfin:{{ jellyfin_tag }}\n\
             {% if with_proxy %}\n  proxy:\n    image: caddy:2\n{% endif %}\n",
        ),
        (
            "roles/media/files/docker-compose.extra.yml",
            "services:\n  cache:\n    image: redis:7-alpine\n",
        ),
        (
            "roles/media/tasks/main.yml",
            "\
- name: Ship the extra stack
  ansible.builtin.copy:
    src: docker-compose.extra.yml
    dest: /srv/media/docker-compose.extra.yml
- name: Run the transcoder
  community.docker.docker_container:
    name: transcoder
    image: linuxserver/ffmpeg:latest
",
        ),
        (
            "playbooks/media.yml",
            "- hosts: media\n  roles: [media]\n  tasks:\n    - ansible.builtin.template: \
             src=docker-compose.yml.j2 dest=/srv/x.yml\n",
        ),
        (
            "playbooks/templates/docker-compose.yml.j2",
            "services:\n  {{ extra_name }}:\n    image: \"{{ extra_image }}\"\n",
        ),
    ]);
    let media = playbook(&catalog, "playbooks/media.yml");
    let stacks: Vec<(&str, Vec<&str>, Vec<&str>)> = media
        .compose_stacks
        .iter()
        .map(|s| {
            (
                s.path.as_str(),
                s.services.iter().map(String::as_str).collect(),
                s.images.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        stacks,
        [
            (
                "roles/media/files/docker-compose.extra.yml",
                vec!["cache"],
                vec!["redis:7-alpine"]
            ),
            (
                "roles/media/templates/compose.yaml.j2",
                vec!["jellyfin", "proxy"],
                vec!["jellyfin/jellyfin:10.9", "caddy:2"]
            ),
            (
                "playbooks/templates/docker-compose.yml.j2",
                vec!["{{ extra_name }}"],
                vec!["{{ extra_image }}"]
            ),
        ]
    );
    assert_eq!(
        media.services,
        [
            "media", "cache", "redis", "ffmpeg", "jellyfin", "proxy", "caddy"
        ]
    );
    assert_eq!(
        media.templates,
        [
            "roles/media/templates/compose.yaml.j2",
            "playbooks/templates/docker-compose.yml.j2"
        ]
    );
}

#[test]
fn imports_are_followed_once_even_in_a_cycle() {
    let catalog = clean_scan(&[
        (
            "playbooks/a.yml",
            "- import_playbook: b.yml\n- hosts: a\n  name: A\n",
        ),
        (
            "playbooks/b.yml",
            "- import_playbook: a.yml\n- hosts: b\n  name: B\n  tags: [b]\n",
        ),
    ]);
    let a = playbook(&catalog, "playbooks/a.yml");
    // In the order Ansible runs them: the import comes first.
    assert_eq!(a.plays, ["B", "A"]);
    assert_eq!(a.hosts, ["b", "a"]);
    assert_eq!(a.tags, ["b"]);
}

#[test]
fn vault_encrypted_vars_files_are_not_issues() {
    const ENCRYPTED: &str = "$ANSIBLE_VAULT;1.1;AES256\n62313365396662343061393464336163\n";
    let catalog = clean_scan(&[
        (
            "playbooks/db.yml",
            "- name: Database\n  hosts: db\n  vars_files:\n    - ../vars/secrets.yml\n    - ../vars/plain.yml\n  tasks:\n    - name: Show\n      ansible.builtin.debug:\n        msg: \"{{ db_port }} {{ db_password }}\"\n",
        ),
        ("vars/secrets.yml", ENCRYPTED),
        ("vars/plain.yml", "db_port: 5432\n"),
        ("inventory/group_vars/db/vault.yml", ENCRYPTED),
        ("roles/x/defaults/main.yml", ENCRYPTED),
    ]);
    let db = playbook(&catalog, "playbooks/db.yml");
    // What can be read is indexed (the plain file sets db_port); the encrypted file yields
    // nothing and no complaint, so db_password has no known default.
    assert_eq!(variable_names(db), ["db_password"]);
    assert_eq!(variable(db, "db_password").default_source, "");
}

#[test]
fn a_missing_role_is_reported_at_its_reference() {
    let dir = repo(&[
        (
            "playbooks/web.yml",
            "---\n- name: Web\n  hosts: web\n  gather_facts: false\n  roles:\n    - common\n    - role: webserver\n      tags: [web]\n  tasks:\n    - name: Extra\n      ansible.builtin.include_role:\n        name: helper\n",
        ),
        (
            "roles/common/tasks/main.yml",
            "- name: Hi\n  ansible.builtin.debug:\n",
        ),
    ]);
    let catalog = scan(dir.path()).expect("scan");
    let lines: Vec<(Option<usize>, bool, bool)> = catalog
        .issues
        .iter()
        .map(|i| {
            (
                i.line,
                i.message.contains("webserver"),
                i.message.contains("helper"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [(Some(7), true, false), (Some(12), false, true)],
        "{:#?}",
        catalog.issues
    );
}
