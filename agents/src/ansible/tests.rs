//! Tests of the runner against the real `ansible-playbook` (from `PATH`; `scripts/env.sh` puts
//! the project venv first), each on its own temporary repository whose only host is local.

use super::*;
use chiffon_proto::v1::{FailedTask, TaskEventKind};
use std::fs;

const INVENTORY: &str = "\
all:
  hosts:
    testhost:
      ansible_connection: local
      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"
";

/// The repository's Ansible configuration: it names the inventory, as real repositories do.
const ANSIBLE_CFG: &str = "[defaults]\ninventory = inventory/hosts.yml\n";

/// A repository with the test inventory (named by its ansible.cfg), the given files, and an
/// empty `root` directory that plays the part of `homelab_root`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all = vec![
            ("ansible.cfg", ANSIBLE_CFG),
            ("inventory/hosts.yml", INVENTORY),
        ];
        all.extend_from_slice(files);
        for (path, content) in all {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(full, content).expect("write");
        }
        fs::create_dir(dir.path().join("root")).expect("mkdir root");
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn runner(&self) -> PlaybookRunner {
        let program = default_program();
        assert!(
            std::process::Command::new(&program)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "these tests need ansible-playbook: install ansible-core and put it on PATH (. scripts/env.sh) (tried {})",
            program.display()
        );
        let mut vars = Map::new();
        vars.insert(
            "homelab_root".into(),
            Value::from(self.root().to_string_lossy().into_owned()),
        );
        PlaybookRunner::new(self.dir.path())
            .with_default_vars(vars)
            .with_cancel_grace(Duration::from_secs(2))
    }
}

fn playbook_run(path: &str) -> PlaybookRun {
    PlaybookRun {
        playbook: path.to_owned(),
        ..PlaybookRun::default()
    }
}

fn vars(pairs: &[(&str, prost_types::value::Kind)]) -> prost_types::Struct {
    prost_types::Struct {
        fields: pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    prost_types::Value {
                        kind: Some(v.clone()),
                    },
                )
            })
            .collect(),
    }
}

/// Runs `run` with a one-slot event channel (so the run only progresses as fast as events are
/// taken) and returns the outcome with every event, in order.
async fn run_collecting(
    runner: &PlaybookRunner,
    run: &PlaybookRun,
    timeout: Duration,
    cancel: CancellationToken,
) -> (RunOutcome, Vec<TaskEvent>) {
    let (tx, mut rx) = mpsc::channel(1);
    let collect = async {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    };
    tokio::join!(runner.run(run, timeout, cancel, tx), collect)
}

const LONG: Duration = Duration::from_secs(600);

fn kinds(events: &[TaskEvent]) -> Vec<(TaskEventKind, &str)> {
    events
        .iter()
        .map(|e| {
            (
                TaskEventKind::try_from(e.kind).expect("kind"),
                e.task.as_str(),
            )
        })
        .collect()
}

const FILES_PLAYBOOK: &str = "\
# Writes the demo configuration.
- name: Write config
  hosts: all
  gather_facts: false
  tasks:
    - name: Create the data directory
      ansible.builtin.file:
        path: \"{{ homelab_root }}/data\"
        state: directory
        mode: \"0755\"
    - name: Write the config
      ansible.builtin.copy:
        dest: \"{{ homelab_root }}/config.txt\"
        content: \"port={{ port | default(80) }}\\n\"
        mode: \"0644\"
    - name: Read the config
      ansible.builtin.command: cat {{ homelab_root }}/config.txt
      changed_when: false
";

#[tokio::test]
async fn a_successful_run_streams_events_in_order_and_counts_hosts() {
    let repo = Repo::new(&[("playbooks/files.yml", FILES_PLAYBOOK)]);
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/files.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;

    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!((outcome.exit_code, outcome.error.as_str()), (0, ""));
    assert!(outcome.failed_tasks.is_empty());
    assert!(outcome.started_at <= outcome.finished_at);
    use TaskEventKind::*;
    assert_eq!(
        kinds(&events),
        vec![
            (PlayStarted, ""),
            (TaskStarted, "Create the data directory"),
            (HostChanged, "Create the data directory"),
            (TaskStarted, "Write the config"),
            (HostChanged, "Write the config"),
            (TaskStarted, "Read the config"),
            (HostOk, "Read the config"),
        ]
    );
    assert!(events.iter().all(|e| e.play == "Write config"));
    let results: Vec<&TaskEvent> = events.iter().filter(|e| !e.host.is_empty()).collect();
    assert!(
        results
            .iter()
            .all(|e| e.host == "testhost" && e.duration.is_some())
    );
    assert_eq!(
        results[2].message, "port=80",
        "the command's stdout summarises it"
    );

    assert_eq!(outcome.host_stats.len(), 1);
    let stats = &outcome.host_stats[0];
    assert_eq!(
        (
            stats.host.as_str(),
            stats.ok,
            stats.changed,
            stats.failed,
            stats.unreachable
        ),
        ("testhost", 3, 2, 0, 0)
    );
    assert_eq!(
        fs::read_to_string(repo.root().join("config.txt")).expect("config"),
        "port=80\n"
    );
}

#[tokio::test]
async fn check_mode_changes_nothing() {
    let repo = Repo::new(&[("playbooks/files.yml", FILES_PLAYBOOK)]);
    let run = PlaybookRun {
        check_mode: true,
        diff: true,
        ..playbook_run("playbooks/files.yml")
    };
    let (outcome, events) =
        run_collecting(&repo.runner(), &run, LONG, CancellationToken::new()).await;

    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert!(kinds(&events).contains(&(TaskEventKind::HostChanged, "Write the config")));
    assert!(!repo.root().join("data").exists());
    assert!(!repo.root().join("config.txt").exists());
}

#[tokio::test]
async fn extra_vars_of_the_step_override_the_defaults() {
    let repo = Repo::new(&[(
        "site.yml",
        "\
- hosts: all
  gather_facts: false
  tasks:
    - name: Check the types
      ansible.builtin.assert:
        that:
          - port | type_debug == 'int'
          - enabled is sameas true
          - owner == 'kuma'
    - name: Write
      ansible.builtin.copy:
        dest: \"{{ homelab_root }}/out.txt\"
        content: \"{{ port }} {{ owner }}\"
",
    )]);
    let mut defaults = Map::new();
    defaults.insert(
        "homelab_root".into(),
        Value::from(repo.root().to_string_lossy().into_owned()),
    );
    defaults.insert("port".into(), Value::from(1));
    defaults.insert("owner".into(), Value::from("kuma"));
    let runner = repo.runner().with_default_vars(defaults);
    use prost_types::value::Kind;
    let run = PlaybookRun {
        extra_vars: Some(vars(&[
            ("port", Kind::NumberValue(3001.0)),
            ("enabled", Kind::BoolValue(true)),
        ])),
        ..playbook_run("site.yml")
    };
    let (outcome, _) = run_collecting(&runner, &run, LONG, CancellationToken::new()).await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    assert_eq!(
        fs::read_to_string(repo.root().join("out.txt")).expect("out"),
        "3001 kuma"
    );
}

#[tokio::test]
async fn a_failing_task_fails_the_run_and_is_named() {
    let repo = Repo::new(&[(
        "playbooks/fail.yml",
        "\
- name: Break
  hosts: all
  gather_facts: false
  tasks:
    - name: List a missing directory
      ansible.builtin.command: ls /nonexistent-chiffon-dir
      ignore_errors: true
    - name: Install package
      ansible.builtin.fail:
        msg: No package matching 'kuma' is available
    - name: Never runs
      ansible.builtin.debug:
        msg: unreachable
",
    )]);
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/fail.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;

    assert_eq!(outcome.status, WorkStatus::Failed);
    assert_eq!(outcome.exit_code, 2);
    assert_eq!(
        outcome.error,
        r#"task "Install package" failed on testhost: No package matching 'kuma' is available"#
    );
    assert_eq!(
        outcome.failed_tasks,
        vec![FailedTask {
            host: "testhost".into(),
            task: "Install package".into(),
            message: "No package matching 'kuma' is available".into(),
        }]
    );
    let ignored = events
        .iter()
        .find(|e| e.kind == i32::from(TaskEventKind::HostFailedIgnored))
        .expect("an ignored failure");
    assert!(
        ignored.message.contains("non-zero return code"),
        "{}",
        ignored.message
    );
    assert!(
        ignored.message.contains("nonexistent-chiffon-dir"),
        "{}",
        ignored.message
    );
    assert!(!kinds(&events).iter().any(|(_, task)| *task == "Never runs"));
    let stats = &outcome.host_stats[0];
    assert_eq!((stats.failed, stats.ignored), (1, 1));
}

#[tokio::test]
async fn a_playbook_ansible_cannot_load_fails_with_its_error() {
    let repo = Repo::new(&[(
        "broken.yml",
        "- hosts: all\n  tasks:\n    - name: Bad\n      no_such_module_chiffon: {}\n",
    )]);
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("broken.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, WorkStatus::Failed);
    assert_ne!(outcome.exit_code, 0);
    assert!(
        outcome
            .error
            .starts_with("ansible-playbook exited with code"),
        "{}",
        outcome.error
    );
    assert!(
        outcome.error.contains("no_such_module_chiffon"),
        "{}",
        outcome.error
    );
    assert!(
        outcome.error.contains("broken.yml:3"),
        "names the place: {}",
        outcome.error
    );
    assert!(
        !outcome.error.contains("tasks:"),
        "no source listing: {}",
        outcome.error
    );
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test]
async fn bad_playbook_paths_fail_without_starting_anything() {
    let repo = Repo::new(&[("playbooks/ok.yml", "- hosts: all\n")]);
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(outside.path().join("evil.yml"), "- hosts: all\n").expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("evil.yml"),
        repo.dir.path().join("link.yml"),
    )
    .expect("symlink");
    // A program that cannot start: reaching the spawn would give a different error.
    let runner = repo.runner().with_program("/nonexistent/ansible-playbook");

    for (path, expected) in [
        ("", "no playbook was given"),
        ("../x.yml", "must not contain '..'"),
        ("playbooks/../../x.yml", "must not contain '..'"),
        ("/etc/passwd", "must be relative to the repository root"),
        ("playbooks/missing.yml", "does not exist in the repository"),
        ("link.yml", "leads outside the repository"),
        ("playbooks", "is not a file"),
    ] {
        let (outcome, events) =
            run_collecting(&runner, &playbook_run(path), LONG, CancellationToken::new()).await;
        assert_eq!(outcome.status, WorkStatus::Failed, "{path}");
        assert_eq!(outcome.exit_code, -1, "{path}");
        assert!(
            outcome.error.contains(expected),
            "{path}: {}",
            outcome.error
        );
        assert!(events.is_empty());
    }

    let (outcome, _) = run_collecting(
        &runner,
        &playbook_run("playbooks/ok.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert!(
        outcome
            .error
            .starts_with("cannot start /nonexistent/ansible-playbook"),
        "{}",
        outcome.error
    );
}

#[tokio::test]
async fn a_missing_inventory_fails_clearly() {
    let repo = Repo::new(&[("playbooks/ok.yml", "- hosts: all\n")]);
    let runner = repo
        .runner()
        .with_inventories(vec![
            InventorySource::parse("inventory/nope.yml").expect("a valid argument"),
        ])
        .with_program("/nonexistent/x");
    let (outcome, _) = run_collecting(
        &runner,
        &playbook_run("playbooks/ok.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (WorkStatus::Failed, -1)
    );
    assert!(outcome.error.starts_with("inventory "), "{}", outcome.error);
    assert!(
        outcome.error.ends_with("inventory/nope.yml does not exist"),
        "{}",
        outcome.error
    );
}

/// A playbook whose second task sleeps (as `sleep <marker>`) far longer than any test waits.
fn sleeping_repo(marker: &str) -> Repo {
    let playbook = format!(
        "\
- name: Nap
  hosts: all
  gather_facts: false
  tasks:
    - name: Before
      ansible.builtin.debug:
        msg: about to sleep
    - name: Sleep
      ansible.builtin.command: sleep {marker}
"
    );
    Repo::new(&[("playbooks/nap.yml", &playbook)])
}

/// A marker unique to this test process and call, usable as `sleep`'s argument.
fn sleep_marker(base: u32) -> String {
    format!("{base}.{}", std::process::id())
}

/// Live (non-zombie) processes running `sleep <marker>`, with their process group.
fn sleepers(marker: &str) -> Vec<(u32, i32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            if args.len() < 2 || !args[0].ends_with(b"sleep") || args[1] != marker.as_bytes() {
                return None;
            }
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // Fields after the parenthesised command name: state, ppid, pgrp, …
            let after = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .collect::<Vec<_>>();
            if after.first() == Some(&"Z") {
                return None;
            }
            Some((pid, after.get(2)?.parse::<i32>().ok()?))
        })
        .collect()
}

/// Waits (bounded) until the sleep task's process exists and returns its process group.
async fn wait_for_sleeper(marker: &str) -> Option<i32> {
    for _ in 0..600 {
        if let Some((_, pgrp)) = sleepers(marker).first() {
            return Some(*pgrp);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn group_alive(pgrp: i32) -> bool {
    fs::read_dir("/proc")
        .map(|entries| {
            entries.flatten().any(|entry| {
                fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .is_some_and(|stat| {
                        let fields: Vec<String> = stat
                            .rsplit_once(')')
                            .map(|(_, rest)| rest.split_whitespace().map(str::to_owned).collect())
                            .unwrap_or_default();
                        fields.first().is_some_and(|s| s != "Z")
                            && fields.get(2).is_some_and(|g| g == &pgrp.to_string())
                    })
            })
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn cancelling_stops_the_whole_process_group() {
    let marker = sleep_marker(7001);
    let repo = sleeping_repo(&marker);
    let runner = repo.runner();
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<TaskEvent>(4);
    let watch = async {
        let mut events = Vec::new();
        let mut group = None;
        while let Some(event) = rx.recv().await {
            let sleeping =
                event.kind == i32::from(TaskEventKind::TaskStarted) && event.task == "Sleep";
            events.push(event);
            if sleeping {
                group = wait_for_sleeper(&marker).await;
                cancel.cancel();
            }
        }
        (events, group)
    };
    let run = playbook_run("playbooks/nap.yml");
    let (outcome, (events, group)) =
        tokio::join!(runner.run(&run, LONG, cancel.clone(), tx), watch);

    assert_eq!(outcome.status, WorkStatus::Cancelled, "{}", outcome.error);
    assert_eq!(outcome.exit_code, -1);
    assert!(outcome.error.contains("cancelled"), "{}", outcome.error);
    assert!(kinds(&events).contains(&(TaskEventKind::HostOk, "Before")));
    let group = group.expect("the sleep task's process appeared");
    assert!(
        !group_alive(group),
        "process group {group} survived the cancellation"
    );
    assert!(sleepers(&marker).is_empty());
}

#[tokio::test]
async fn a_run_past_its_timeout_is_stopped() {
    let marker = sleep_marker(7002);
    let repo = sleeping_repo(&marker);
    let (outcome, _) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/nap.yml"),
        Duration::from_secs(8),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, WorkStatus::TimedOut, "{}", outcome.error);
    assert_eq!(outcome.exit_code, -1);
    assert!(
        outcome.error.contains("did not finish within 8s"),
        "{}",
        outcome.error
    );
    assert!(
        sleepers(&marker).is_empty(),
        "the sleep task survived the timeout"
    );
}

#[tokio::test]
async fn a_cancelled_token_never_starts_the_run() {
    let repo = Repo::new(&[("playbooks/ok.yml", "- hosts: all\n")]);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/ok.yml"),
        LONG,
        cancel,
    )
    .await;
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (WorkStatus::Cancelled, -1)
    );
    assert!(events.is_empty());
}

#[tokio::test]
async fn no_log_output_never_leaves_the_agent() {
    const SECRET: &str = "s3cr3t-chiffon-token";
    let repo = Repo::new(&[(
        "playbooks/secret.yml",
        "\
- name: Secrets
  hosts: all
  gather_facts: false
  tasks:
    - name: Show the token
      ansible.builtin.debug:
        msg: \"the token is {{ token }}\"
      no_log: true
    - name: Use the token
      ansible.builtin.command: \"echo {{ token }}\"
      no_log: true
    - name: Reject the token
      ansible.builtin.fail:
        msg: \"bad token {{ token }}\"
      no_log: true
",
    )]);
    use prost_types::value::Kind;
    let run = PlaybookRun {
        extra_vars: Some(vars(&[("token", Kind::StringValue(SECRET.into()))])),
        ..playbook_run("playbooks/secret.yml")
    };
    let (outcome, events) =
        run_collecting(&repo.runner(), &run, LONG, CancellationToken::new()).await;

    assert_eq!(outcome.status, WorkStatus::Failed);
    let everything = format!("{outcome:?} {events:?}");
    assert!(
        !everything.contains(SECRET),
        "the secret leaked: {everything}"
    );
    let results: Vec<&TaskEvent> = events.iter().filter(|e| !e.host.is_empty()).collect();
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|e| e.message == "output hidden by no_log"),
        "{results:?}"
    );
    assert_eq!(
        outcome.error,
        r#"task "Reject the token" failed on testhost: output hidden by no_log"#
    );
}

#[test]
fn relative_paths_are_checked_before_touching_the_disk() {
    assert!(validate_relative("playbooks/a.yml").is_ok());
    assert!(validate_relative("./a.yml").is_ok());
    assert!(validate_relative("a/../../b.yml").is_err());
    assert!(validate_relative("/a.yml").is_err());
    assert!(validate_relative("  ").is_err());
}

#[test]
fn durations_read_well() {
    assert_eq!(describe_duration(Duration::from_secs(1800)), "30m");
    assert_eq!(describe_duration(Duration::from_secs(3905)), "1h 5m 5s");
    assert_eq!(describe_duration(Duration::from_millis(200)), "0s");
}

#[tokio::test]
async fn error_excerpts_prefer_ansibles_error_block() {
    async fn tail(text: &str) -> OutputTail {
        OutputTail::collect(text.as_bytes(), CancellationToken::new()).await
    }
    let stderr =
        tail("[WARNING]: noise\n[ERROR]: it broke\nOrigin: x.yml:3:7\n\n1 - hosts: all\n").await;
    let stdout = tail("PLAY [all]\n").await;
    assert_eq!(
        error_excerpt(&stderr, &stdout),
        "[ERROR]: it broke Origin: x.yml:3:7"
    );

    let lines: String = (1..=9).map(|i| format!("line {i}\n")).collect();
    assert_eq!(
        error_excerpt(&tail("").await, &tail(&lines).await),
        "line 5 line 6 line 7 line 8 line 9",
        "without stderr, the end of stdout"
    );
}

const TWO_HOSTS: &str = "\
all:
  hosts:
    alpha:
      ansible_connection: local
      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"
    beta:
      ansible_connection: local
      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"
";

#[tokio::test]
async fn an_unreachable_host_is_counted_and_fails_the_run_clearly() {
    let inventory = "\
all:
  hosts:
    gone:
      ansible_connection: ssh
      ansible_host: 127.0.0.1
      ansible_port: 1
      ansible_user: nobody
";
    let playbook = "\
- name: Reach out
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
";
    let repo = Repo::new(&[
        ("inventory/hosts.yml", inventory),
        ("playbooks/ping.yml", playbook),
    ]);
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/ping.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;

    assert_eq!(outcome.status, WorkStatus::Failed);
    assert_eq!(
        outcome.exit_code, 4,
        "ansible-playbook's code for unreachable hosts"
    );
    let unreachable: Vec<&TaskEvent> = events
        .iter()
        .filter(|e| e.kind() == TaskEventKind::HostUnreachable)
        .collect();
    assert_eq!(unreachable.len(), 1, "{events:#?}");
    assert_eq!(
        (unreachable[0].host.as_str(), unreachable[0].task.as_str()),
        ("gone", "Ping")
    );
    let stats = &outcome.host_stats;
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (stats[0].host.as_str(), stats[0].unreachable, stats[0].ok),
        ("gone", 1, 0)
    );
    assert!(
        outcome
            .error
            .starts_with("host gone could not be reached for task \"Ping\""),
        "{}",
        outcome.error
    );
    assert!(!outcome.error.contains('\n'), "{}", outcome.error);
    assert_eq!(outcome.failed_tasks.len(), 1);
}

#[tokio::test]
async fn limit_and_tags_are_honoured() {
    let playbook = "\
- name: Tagged
  hosts: all
  gather_facts: false
  tasks:
    - name: Tagged one
      ansible.builtin.debug:
        msg: one
      tags: [one]
    - name: Tagged two
      ansible.builtin.debug:
        msg: two
      tags: [two]
";
    let repo = Repo::new(&[
        ("inventory/hosts.yml", TWO_HOSTS),
        ("playbooks/tagged.yml", playbook),
    ]);
    let runner = repo.runner();

    let (outcome, events) = run_collecting(
        &runner,
        &playbook_run("playbooks/tagged.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    let hosts = |events: &[TaskEvent]| {
        let mut hosts: Vec<String> = events
            .iter()
            .filter(|e| !e.host.is_empty())
            .map(|e| e.host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    };
    assert_eq!(
        hosts(&events),
        ["alpha", "beta"],
        "without a limit both hosts run"
    );

    let run = PlaybookRun {
        limit: "alpha".into(),
        tags: vec!["one".into()],
        ..playbook_run("playbooks/tagged.yml")
    };
    let (outcome, events) = run_collecting(&runner, &run, LONG, CancellationToken::new()).await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    use TaskEventKind::*;
    assert_eq!(
        kinds(&events),
        vec![
            (PlayStarted, ""),
            (TaskStarted, "Tagged one"),
            (HostOk, "Tagged one")
        ]
    );
    assert_eq!(hosts(&events), ["alpha"]);
    let stats: Vec<(&str, i32)> = outcome
        .host_stats
        .iter()
        .map(|s| (s.host.as_str(), s.ok))
        .collect();
    assert_eq!(stats, [("alpha", 1)]);
}

#[tokio::test]
async fn diff_mode_shows_what_changed_in_the_event() {
    let repo = Repo::new(&[("playbooks/files.yml", FILES_PLAYBOOK)]);
    fs::write(repo.root().join("config.txt"), "port=80\n").expect("seed the config");
    let run = PlaybookRun {
        diff: true,
        extra_vars: Some(vars(&[(
            "port",
            prost_types::value::Kind::NumberValue(8080.0),
        )])),
        ..playbook_run("playbooks/files.yml")
    };
    let (outcome, events) =
        run_collecting(&repo.runner(), &run, LONG, CancellationToken::new()).await;
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    let write = events
        .iter()
        .find(|e| e.task == "Write the config" && !e.host.is_empty())
        .expect("the write's result");
    assert_eq!(write.kind(), TaskEventKind::HostChanged);
    assert!(write.message.contains("-port=80"), "{}", write.message);
    assert!(write.message.contains("+port=8080"), "{}", write.message);

    // Without --diff the same change reports no differences.
    fs::write(repo.root().join("config.txt"), "port=80\n").expect("reset the config");
    let (_, events) = run_collecting(
        &repo.runner(),
        &PlaybookRun { diff: false, ..run },
        LONG,
        CancellationToken::new(),
    )
    .await;
    let write = events
        .iter()
        .find(|e| e.task == "Write the config" && !e.host.is_empty())
        .expect("the write's result");
    assert!(!write.message.contains("+port=8080"), "{}", write.message);
}

/// Longest message an event can carry: the cap plus the truncation marker.
fn message_bound() -> usize {
    events::MAX_MESSAGE_CHARS + " ... (truncated)".len()
}

#[tokio::test]
async fn huge_output_streams_with_bounded_messages() {
    let playbook = "\
- name: Loud
  hosts: all
  gather_facts: false
  tasks:
    - name: Print a hundred thousand lines
      ansible.builtin.command: seq 1 100000
      register: loud
      changed_when: false
    - name: Show them all
      ansible.builtin.debug:
        var: loud.stdout_lines
    - name: Repeat them in one message
      ansible.builtin.debug:
        msg: \"{{ loud.stdout }}\"
    - name: Done
      ansible.builtin.debug:
        msg: done
";
    let repo = Repo::new(&[("playbooks/loud.yml", playbook)]);
    let (outcome, events) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/loud.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;

    // ansible-playbook printed the 100,000 lines on stdout (the second task) and the run still
    // ended: the agent drained the pipe.
    assert_eq!(outcome.status, WorkStatus::Succeeded, "{}", outcome.error);
    use TaskEventKind::*;
    assert_eq!(
        kinds(&events),
        vec![
            (PlayStarted, ""),
            (TaskStarted, "Print a hundred thousand lines"),
            (HostOk, "Print a hundred thousand lines"),
            (TaskStarted, "Show them all"),
            (HostOk, "Show them all"),
            (TaskStarted, "Repeat them in one message"),
            (HostOk, "Repeat them in one message"),
            (TaskStarted, "Done"),
            (HostOk, "Done"),
        ]
    );
    assert_eq!(events[2].message, "100000", "the command's last line");
    let repeated = &events[6].message;
    assert!(repeated.starts_with("1\n2\n3\n"), "{}", &repeated[..20]);
    assert!(repeated.ends_with("(truncated)"), "the message was cut");
    assert!(
        events
            .iter()
            .all(|e| e.message.chars().count() <= message_bound()),
        "every message stays within the cap"
    );
    assert_eq!(events[8].message, "done");
}

#[tokio::test]
async fn vault_secrets_are_decrypted_but_never_reported() {
    const PASSWORD: &str = "correct-horse-battery-staple";
    const SECRET: &str = "s3cr3t-db-passw0rd";
    let repo = Repo::new(&[("vault-password.txt", PASSWORD)]);
    let status = std::process::Command::new(default_program().with_file_name("ansible-vault"))
        .current_dir(repo.dir.path())
        .args([
            "encrypt_string",
            "--vault-password-file=vault-password.txt",
            "--name=db_password",
            SECRET,
        ])
        .output()
        .expect("ansible-vault runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let encrypted = String::from_utf8(status.stdout).expect("utf-8");
    assert!(!encrypted.contains(SECRET));
    let playbook = "\
- name: Use the secret
  hosts: all
  gather_facts: false
  vars_files:
    - ../vars/secrets.yml
  tasks:
    - name: Check it was decrypted
      ansible.builtin.assert:
        that: db_password | length == 18
        quiet: true
    - name: Write it where the service reads it
      ansible.builtin.copy:
        content: \"{{ db_password }}\"
        dest: \"{{ homelab_root }}/db-password\"
        mode: \"0600\"
      no_log: true
    - name: Fail with it
      ansible.builtin.fail:
        msg: \"the password {{ db_password }} is wrong\"
      no_log: true
";
    fs::create_dir_all(repo.dir.path().join("vars")).expect("mkdir");
    fs::create_dir_all(repo.dir.path().join("playbooks")).expect("mkdir");
    fs::write(repo.dir.path().join("vars/secrets.yml"), &encrypted).expect("write vars");
    fs::write(repo.dir.path().join("playbooks/secret.yml"), playbook).expect("write playbook");

    let runner = repo.runner().with_vault_password_file("vault-password.txt");
    let (outcome, events) = run_collecting(
        &runner,
        &PlaybookRun {
            diff: true,
            ..playbook_run("playbooks/secret.yml")
        },
        LONG,
        CancellationToken::new(),
    )
    .await;

    assert_eq!(
        outcome.status,
        WorkStatus::Failed,
        "the last task fails on purpose"
    );
    assert_eq!(
        fs::read_to_string(repo.root().join("db-password")).expect("written"),
        SECRET,
        "the playbook saw the decrypted value"
    );
    assert_eq!(outcome.failed_tasks.len(), 1);
    assert_eq!(outcome.failed_tasks[0].task, "Fail with it");
    let reported = format!("{events:?} {outcome:?}");
    for leak in [PASSWORD, SECRET] {
        assert!(!reported.contains(leak), "{leak} leaked: {reported}");
    }

    // Without the password file the run fails before any task, saying why.
    let (outcome, _) = run_collecting(
        &repo.runner(),
        &playbook_run("playbooks/secret.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, WorkStatus::Failed);
    assert!(outcome.error.contains("vault"), "{}", outcome.error);
    assert!(!outcome.error.contains(PASSWORD));

    let missing = repo.runner().with_vault_password_file("nope.txt");
    let (outcome, _) = run_collecting(
        &missing,
        &playbook_run("playbooks/secret.yml"),
        LONG,
        CancellationToken::new(),
    )
    .await;
    assert!(
        outcome.error.starts_with("the vault password file ")
            && outcome.error.ends_with("nope.txt does not exist"),
        "{}",
        outcome.error
    );
}
