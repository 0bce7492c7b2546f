//! Runs decided by the repository's own Ansible configuration, with the real `ansible-playbook`:
//! the inventory its ansible.cfg names (INI), named inventories a request picks, unknown names
//! refused before anything starts, and a user's own callback plugin running next to Chiffon's.

mod support;

use chiffon_agents::RunOutcome;
use chiffon_agents::ansible::{InventorySource, PlaybookRunner};
use chiffon_proto::v1::{PlaybookRun, TaskEvent, TaskEventKind, WorkStatus};
use serde_json::{Map, Value};
use std::path::Path;

/// Writes one file per host that runs it, named after the host, under `out`.
const WHO_RAN: &str = "\
- name: Record who ran
  hosts: all
  gather_facts: false
  tasks:
    - name: Leave a mark
      ansible.builtin.copy:
        content: \"{{ inventory_hostname }}\"
        dest: \"{{ out }}/{{ inventory_hostname }}\"
        mode: \"0644\"
";

/// Local hosts in INI form; the interpreter is the one ansible-playbook runs on.
fn ini_hosts(group: &str, hosts: &[&str]) -> String {
    let mut text = format!("[{group}]\n");
    for host in hosts {
        text.push_str(&format!(
            "{host} ansible_connection=local ansible_python_interpreter=\"{{{{ ansible_playbook_python }}}}\"\n"
        ));
    }
    text
}

/// A runner whose every run gets `out` (where hosts leave their marks).
fn runner(repo: &Path, out: &Path) -> PlaybookRunner {
    let mut vars = Map::new();
    vars.insert(
        "out".into(),
        Value::from(out.to_string_lossy().into_owned()),
    );
    PlaybookRunner::new(repo).with_default_vars(vars)
}

async fn run(
    runner: &PlaybookRunner,
    playbook: &str,
    inventory: &str,
) -> (RunOutcome, Vec<TaskEvent>) {
    let request = PlaybookRun {
        playbook: playbook.to_owned(),
        inventory: inventory.to_owned(),
        ..PlaybookRun::default()
    };
    support::run_collecting(runner, &request).await
}

/// The hosts that left a mark in `out`, sorted.
fn marked(out: &Path) -> Vec<String> {
    let mut hosts: Vec<String> = std::fs::read_dir(out)
        .expect("read the marks")
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

fn stats_hosts(outcome: &RunOutcome) -> Vec<&str> {
    let mut hosts: Vec<&str> = outcome.host_stats.iter().map(|s| s.host.as_str()).collect();
    hosts.sort();
    hosts
}

#[tokio::test]
async fn the_inventory_ansible_cfg_names_is_used_without_any_i() {
    let repo = support::plain_repository(&[
        (
            "ansible.cfg",
            "[defaults]\ninventory = inventory/hosts.ini\n",
        ),
        (
            "inventory/hosts.ini",
            &ini_hosts("web", &["web-a", "web-b"]),
        ),
        ("playbooks/who.yml", WHO_RAN),
    ]);
    let out = tempfile::tempdir().expect("temp dir");
    let (outcome, events) = run(&runner(repo.path(), out.path()), "playbooks/who.yml", "").await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(stats_hosts(&outcome), ["web-a", "web-b"]);
    assert_eq!(marked(out.path()), ["web-a", "web-b"]);
    assert!(
        events
            .iter()
            .any(|e| e.kind() == TaskEventKind::HostChanged && e.task == "Leave a mark"),
        "{events:?}"
    );

    // "default" names the repository's own inventory when the agent names none.
    let out = tempfile::tempdir().expect("temp dir");
    let (outcome, _) = run(
        &runner(repo.path(), out.path()),
        "playbooks/who.yml",
        "default",
    )
    .await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(marked(out.path()), ["web-a", "web-b"]);
}

/// A repository with a staging and a production inventory (and an ansible.cfg naming neither).
fn two_inventories() -> tempfile::TempDir {
    support::plain_repository(&[
        ("ansible.cfg", "[defaults]\nretry_files_enabled = False\n"),
        (
            "inventories/staging/hosts.ini",
            &ini_hosts("app", &["stage-1"]),
        ),
        ("production.ini", &ini_hosts("app", &["prod-1", "prod-2"])),
        ("playbooks/who.yml", WHO_RAN),
    ])
}

fn named_inventories() -> Vec<InventorySource> {
    ["inventories/staging/hosts.ini", "production.ini"]
        .into_iter()
        .map(|argument| InventorySource::parse(argument).expect("a valid --inventory"))
        .collect()
}

#[tokio::test]
async fn a_request_picks_one_of_the_named_inventories() {
    let repo = two_inventories();
    let inventories = named_inventories();
    assert_eq!(
        inventories
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["staging", "production"]
    );

    let out = tempfile::tempdir().expect("temp dir");
    let production = runner(repo.path(), out.path()).with_inventories(inventories.clone());
    let (outcome, _) = run(&production, "playbooks/who.yml", "production").await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(stats_hosts(&outcome), ["prod-1", "prod-2"]);
    assert_eq!(marked(out.path()), ["prod-1", "prod-2"]);

    // No name: the first named inventory.
    let out = tempfile::tempdir().expect("temp dir");
    let default = runner(repo.path(), out.path()).with_inventories(inventories);
    let (outcome, _) = run(&default, "playbooks/who.yml", "").await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(marked(out.path()), ["stage-1"]);
}

#[tokio::test]
async fn an_unknown_inventory_fails_before_starting_and_names_the_known_ones() {
    let repo = two_inventories();
    let out = tempfile::tempdir().expect("temp dir");
    let runner = runner(repo.path(), out.path()).with_inventories(named_inventories());
    let (outcome, events) = run(&runner, "playbooks/who.yml", "prod").await;
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (WorkStatus::Failed, -1)
    );
    assert_eq!(
        outcome.error,
        "the inventory \"prod\" is not one of this agent's inventories (staging (the default), \
         production); name one of them, or none for the default"
    );
    assert!(events.is_empty(), "{events:?}");
    assert!(marked(out.path()).is_empty(), "nothing ran");

    // A named inventory whose file is gone is checked, as it is the agent's own -i.
    std::fs::remove_file(repo.path().join("production.ini")).expect("remove");
    let (outcome, _) = run(&runner, "playbooks/who.yml", "production").await;
    assert_eq!(outcome.status, WorkStatus::Failed);
    assert!(
        outcome.error.ends_with("production.ini does not exist"),
        "{}",
        outcome.error
    );
}

/// A callback plugin of the user's that needs enabling and leaves a marker file when the
/// playbook ends.
const USER_CALLBACK: &str = "\
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'leave_marker'
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        with open('callback-ran.txt', 'w') as marker:
            marker.write(','.join(sorted(stats.processed.keys())))
";

#[tokio::test]
async fn a_users_own_callbacks_still_run_next_to_chiffons_events() {
    let repo = support::plain_repository(&[
        (
            "ansible.cfg",
            "[defaults]\ninventory = hosts.ini\ncallback_plugins = my_callbacks\ncallbacks_enabled = leave_marker\n",
        ),
        ("hosts.ini", &ini_hosts("app", &["solo"])),
        ("my_callbacks/leave_marker.py", USER_CALLBACK),
        ("playbooks/who.yml", WHO_RAN),
    ]);
    let out = tempfile::tempdir().expect("temp dir");
    let (outcome, events) = run(&runner(repo.path(), out.path()), "playbooks/who.yml", "").await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("callback-ran.txt"))
            .expect("the user's callback ran and left its marker"),
        "solo"
    );
    let kinds: Vec<(TaskEventKind, &str)> =
        events.iter().map(|e| (e.kind(), e.task.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (TaskEventKind::PlayStarted, ""),
            (TaskEventKind::TaskStarted, "Leave a mark"),
            (TaskEventKind::HostChanged, "Leave a mark"),
        ],
        "Chiffon's events still arrive"
    );
    assert_eq!(stats_hosts(&outcome), ["solo"]);
}

#[tokio::test]
async fn a_broken_ansible_cfg_fails_the_run_with_ansibles_words() {
    let repo = support::plain_repository(&[
        ("ansible.cfg", "[defaults]\nforks = many\n"),
        ("playbooks/who.yml", WHO_RAN),
    ]);
    let out = tempfile::tempdir().expect("temp dir");
    let (outcome, events) = run(&runner(repo.path(), out.path()), "playbooks/who.yml", "").await;
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (WorkStatus::Failed, -1)
    );
    assert!(
        outcome
            .error
            .starts_with("cannot read Ansible's configuration in the repository: "),
        "{}",
        outcome.error
    );
    assert!(outcome.error.contains("DEFAULT_FORKS"), "{}", outcome.error);
    assert!(!outcome.error.contains("Traceback"), "{}", outcome.error);
    assert!(events.is_empty());
}
