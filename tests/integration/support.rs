//! Helpers shared by the end-to-end tests: processes, databases, repositories and clients.

use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_client::AgentServiceClient;
use chiffon_proto::v1::orchestrator_service_client::OrchestratorServiceClient;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tonic::transport::Channel;

pub use chiffon_bus::testing::{BrokerLock, RabbitVhost, restart_broker};

/// The request every happy-path test runs.
pub const UPTIME_KUMA_REQUEST: &str =
    "Deploy Uptime Kuma to the homelab and add our existing portals to its config";

/// Upper bound for anything a test waits for; reaching it is a failure, never a measurement.
pub const PATIENCE: Duration = Duration::from_secs(240);

pub fn chiffon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chiffon"))
}

/// Runs `chiffon ARGS` as a client of `endpoint` and prints what it said, for failing tests.
pub fn cli(endpoint: &str, args: &[&str]) -> Output {
    let output = chiffon()
        .args(args)
        .env("CHIFFON_SERVER", endpoint)
        .env("USER", "tester")
        .output()
        .expect("run the chiffon CLI");
    println!(
        "$ chiffon {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The word after `prefix` on the first line that starts with it, e.g. the id in
/// "request 0193… submitted".
pub fn word_after(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
        .to_owned()
}

/// Submits `TEXT [OPTIONS]` with the CLI, approves its plan and follows it to the end; returns
/// the request id and whether `chiffon watch` reported success.
pub fn run_request_with_cli(endpoint: &str, request: &[&str]) -> (String, bool) {
    let mut args = vec!["request"];
    args.extend_from_slice(request);
    let submitted = cli(endpoint, &args);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let request_id = word_after(&stdout(&submitted), "request ");
    let approved = cli(endpoint, &["approve", &request_id]);
    assert!(approved.status.success(), "{}", stderr(&approved));
    let watched = cli(endpoint, &["watch", &request_id]);
    (request_id, watched.status.success())
}

/// Every file under `dir` (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `chiffon` process, stopped (SIGTERM, then SIGKILL) when dropped. Its stderr goes
/// to a log file that is printed if the test fails.
pub struct ChiffonProcess {
    child: Child,
    pub endpoint: String,
    log: PathBuf,
}

impl ChiffonProcess {
    /// Starts `chiffon ARGS` and waits for its "listening on" line when `serves` is true.
    pub fn start(args: &[&str], log_dir: &Path, name: &str, serves: bool) -> Self {
        let log = log_dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("create the process log");
        let mut child = chiffon()
            .args(args)
            .env("RUST_LOG", "info,chiffon=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("start the chiffon binary");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!(
                    "[{}] {line}",
                    std::thread::current().name().unwrap_or("chiffon")
                );
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = sender.send(rest.trim().to_owned());
                }
            }
        });
        let mut process = Self {
            child,
            endpoint: String::new(),
            log,
        };
        if serves {
            match receiver.recv_timeout(PATIENCE) {
                Ok(endpoint) => process.endpoint = endpoint,
                Err(_) => {
                    process.dump_log();
                    panic!("chiffon {args:?} did not start listening");
                }
            }
        }
        process
    }

    pub fn dump_log(&self) {
        if let Ok(log) = std::fs::read_to_string(&self.log) {
            eprintln!("---- {} ----\n{log}", self.log.display());
        }
    }

    /// Kills the process at once (SIGKILL), as a crash or power loss would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process gracefully and returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        self.terminate(Duration::from_secs(10))
            .is_some_and(|status| status.success())
    }

    /// Sends SIGTERM and returns how the process exited; `None` when it was still running
    /// after `patience` and had to be killed.
    pub fn terminate(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        send_sigterm(self.child.id());
        let deadline = std::time::Instant::now() + patience;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for ChiffonProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_log();
        }
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn send_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

/// A PostgreSQL database that exists for one test.
pub struct TempDatabase {
    name: String,
}

impl TempDatabase {
    pub fn create() -> Self {
        let name = format!("chiffon_test_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"));
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", postgres_base(), self.name)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn postgres_base() -> String {
    std::env::var("CHIFFON_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .arg(format!("{}/postgres", postgres_base()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .status()
        .expect("run psql (is the PostgreSQL client installed? run scripts/setup)");
    assert!(status.success(), "psql failed: {sql}");
}

/// A scratch directory with a copy of an example infrastructure repository in `repo/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    /// The variable naming the directory the example's playbooks write under.
    root_variable: &'static str,
}

impl Workspace {
    /// A copy of `examples/homelab-infra`.
    pub fn new() -> Self {
        Self::of_example("homelab-infra", "homelab_root")
    }

    /// A copy of `examples/<example>`, whose playbooks write under the variable `root_variable`.
    pub fn of_example(example: &str, root_variable: &'static str) -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir");
        copy_dir(
            &repo_root().join("examples").join(example),
            &dir.path().join("repo"),
        );
        Self { dir, root_variable }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn homelab_root(&self) -> PathBuf {
        self.dir.path().join("homelab")
    }

    /// Adds a playbook to the repository copy.
    pub fn add_playbook(&self, name: &str, content: &str) {
        std::fs::write(self.repo().join("playbooks").join(name), content).expect("write playbook");
    }

    /// Replaces `from` by `to` in a file of the repository copy; `from` must be there.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let path = self.repo().join(relative);
        let text = std::fs::read_to_string(&path).expect("read the file to edit");
        assert!(text.contains(from), "{relative} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write the edited file");
    }

    /// Makes the repository copy a git repository with everything in one commit on `main`, as a
    /// user's infrastructure repository is; returns the commit.
    pub fn commit_repo(&self) -> git2::Oid {
        let mut options = git2::RepositoryInitOptions::new();
        options.initial_head("main");
        let git = git2::Repository::init_opts(self.repo(), &options).expect("git init");
        let mut index = git.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("git add");
        index.write().expect("write index");
        let tree = git
            .find_tree(index.write_tree().expect("write tree"))
            .expect("tree");
        let me = git2::Signature::now("Tester", "tester@localhost").expect("signature");
        git.commit(Some("HEAD"), &me, &me, "Homelab", &tree, &[])
            .expect("commit")
    }

    /// `chiffon dev` on this workspace's repository copy.
    pub fn start_dev(&self) -> ChiffonProcess {
        self.start_dev_on(Some(&self.repo()), "dev")
    }

    /// `chiffon dev` on this workspace's repository copy with `extra` arguments.
    pub fn start_dev_with(&self, extra: &[&str]) -> ChiffonProcess {
        self.start_dev_process(Some(&self.repo()), "dev", extra)
    }

    /// `chiffon dev` on `repo`, or without `--repo` (the example under the data directory);
    /// its log is `<name>.log`.
    pub fn start_dev_on(&self, repo: Option<&Path>, name: &str) -> ChiffonProcess {
        self.start_dev_process(repo, name, &[])
    }

    fn start_dev_process(&self, repo: Option<&Path>, name: &str, extra: &[&str]) -> ChiffonProcess {
        let data = self.path().join("data");
        let var = format!("{}={}", self.root_variable, self.homelab_root().display());
        let mut args = vec![
            "dev".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--data-dir".to_owned(),
            data.display().to_string(),
            "--var".to_owned(),
            var,
        ];
        if let Some(repo) = repo {
            args.extend(["--repo".to_owned(), repo.display().to_string()]);
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ChiffonProcess::start(&args, self.path(), name, true)
    }
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read example repo") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

pub async fn orchestrator(endpoint: &str) -> OrchestratorServiceClient<Channel> {
    OrchestratorServiceClient::connect(endpoint.to_owned())
        .await
        .expect("connect to the orchestrator")
}

pub async fn agents(endpoint: &str) -> AgentServiceClient<Channel> {
    AgentServiceClient::connect(endpoint.to_owned())
        .await
        .expect("connect to the orchestrator")
}

/// Waits until an infrastructure agent with a catalog is online.
pub async fn wait_for_infra_agent(endpoint: &str) {
    let mut client = agents(endpoint).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let listed = client
            .list_agents(pb::ListAgentsRequest {
                kind: pb::AgentKind::Infra as i32,
                status: pb::AgentStatus::Online as i32,
            })
            .await
            .expect("list agents")
            .into_inner();
        if listed.agents.iter().any(|agent| agent.playbook_count > 0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no infrastructure agent registered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Submits `text` and approves its first plan.
pub async fn submit_and_approve(
    client: &mut OrchestratorServiceClient<Channel>,
    text: &str,
) -> (pb::Request, pb::Plan) {
    let submitted = client
        .submit_request(pb::SubmitRequestRequest {
            text: text.to_owned(),
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner();
    let plan = submitted.plan.expect("a plan");
    let approved = client
        .approve_plan(pb::ApprovePlanRequest {
            plan_id: plan.plan_id.clone(),
            content_hash: plan.content_hash.clone(),
            approver: "test".into(),
            comment: String::new(),
        })
        .await
        .expect("approve")
        .into_inner();
    (
        approved.request.expect("a request"),
        approved.plan.expect("a plan"),
    )
}

/// Follows a request to its end and returns every event.
pub async fn watch_to_end(
    client: &mut OrchestratorServiceClient<Channel>,
    request_id: &str,
) -> Vec<pb::RequestEvent> {
    let mut stream = client
        .watch_request(pb::WatchRequestRequest {
            request_id: request_id.to_owned(),
            after_sequence: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("the request did not end in time")
            .expect("the watch stream failed");
        let Some(response) = next else { break };
        let event = response.event.expect("an event");
        let ends = event.ends_request;
        events.push(event);
        if ends {
            break;
        }
    }
    events
}

/// Follows the request to its end, checks its history is well ordered (see
/// [`assert_well_ordered`]) and ends with `outcome`, and returns the events.
pub async fn watch_to_outcome(
    client: &mut OrchestratorServiceClient<Channel>,
    request_id: &str,
    outcome: pb::RequestEventKind,
) -> Vec<pb::RequestEvent> {
    let events = watch_to_end(client, request_id).await;
    let kinds = assert_well_ordered(&events);
    assert_eq!(kinds.last(), Some(&outcome), "{events:#?}");
    events
}

/// Checks the history is gap-free from 1, ends with exactly one final event, and that each
/// step's events came in lifecycle order; returns the kinds in order.
pub fn assert_well_ordered(events: &[pb::RequestEvent]) -> Vec<pb::RequestEventKind> {
    for (index, event) in events.iter().enumerate() {
        assert_eq!(
            event.sequence,
            index as i64 + 1,
            "sequence gap at {event:?}"
        );
    }
    let last = events.last().expect("some events");
    assert!(
        last.ends_request,
        "the last event must end the request: {last:?}"
    );
    assert_eq!(events.iter().filter(|event| event.ends_request).count(), 1);
    let kinds: Vec<pb::RequestEventKind> = events.iter().map(|event| event.kind()).collect();
    let mut steps: Vec<&str> = events
        .iter()
        .filter(|e| !e.step_id.is_empty())
        .map(|e| e.step_id.as_str())
        .collect();
    steps.dedup();
    for step in steps {
        let phases: Vec<u8> = events
            .iter()
            .filter(|event| event.step_id == step)
            .map(|event| match event.kind() {
                pb::RequestEventKind::StepQueued => 0,
                pb::RequestEventKind::StepStarted => 1,
                pb::RequestEventKind::StepProgress => 2,
                _ => 3,
            })
            .collect();
        assert!(
            phases.windows(2).all(|pair| pair[0] <= pair[1]),
            "step {step} events out of order: {phases:?}"
        );
    }
    kinds
}

/// The Python interpreter with grpcio-tools (the project venv).
pub fn python() -> String {
    std::env::var("CHIFFON_PYTHON")
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python").display().to_string())
}

/// A playbook (for the `nas` host) that waits `seconds`, then writes
/// `{{ homelab_root }}/maintenance-done`; the request "Run the slow maintenance" plans it.
pub fn slow_maintenance_playbook(seconds: u32) -> String {
    format!(
        "# Slow maintenance window: waits, then records that maintenance ran.\n\
         - name: Slow maintenance\n  hosts: nas\n  gather_facts: false\n  tags: [maintenance]\n  tasks:\n\
         \x20   - name: Wait for the maintenance window\n      ansible.builtin.pause:\n        seconds: {seconds}\n\
         \x20   - name: Create the homelab root\n      ansible.builtin.file:\n        path: \"{{{{ homelab_root }}}}\"\n        state: directory\n        mode: \"0755\"\n\
         \x20   - name: Record maintenance\n      ansible.builtin.copy:\n        dest: \"{{{{ homelab_root }}}}/maintenance-done\"\n        content: \"done\\n\"\n        mode: \"0644\"\n"
    )
}

/// Reads a request's events until one of `kind` arrives.
pub async fn wait_for_event(
    client: &mut OrchestratorServiceClient<Channel>,
    request_id: &str,
    kind: pb::RequestEventKind,
) {
    let mut stream = client
        .watch_request(pb::WatchRequestRequest {
            request_id: request_id.to_owned(),
            after_sequence: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    loop {
        let event = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("the event did not come in time")
            .expect("the watch stream failed")
            .expect("the request ended first")
            .event
            .expect("an event");
        if event.kind() == kind {
            return;
        }
    }
}

pub async fn catalog(
    endpoint: &str,
) -> chiffon_proto::v1::catalog_service_client::CatalogServiceClient<Channel> {
    chiffon_proto::v1::catalog_service_client::CatalogServiceClient::connect(endpoint.to_owned())
        .await
        .expect("connect to the orchestrator")
}

pub async fn suggestions(
    endpoint: &str,
) -> chiffon_proto::v1::suggestion_service_client::SuggestionServiceClient<Channel> {
    chiffon_proto::v1::suggestion_service_client::SuggestionServiceClient::connect(
        endpoint.to_owned(),
    )
    .await
    .expect("connect to the orchestrator")
}

/// Waits until the orchestrator lists the lint finding `rule` in `path` (relative to the
/// repository root), as an agent's background lint reports it after registering.
pub async fn wait_for_suggestion(endpoint: &str, rule: &str, path: &str) -> pb::Suggestion {
    let mut client = suggestions(endpoint).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let listed = client
            .list_suggestions(pb::ListSuggestionsRequest::default())
            .await
            .expect("list suggestions")
            .into_inner()
            .suggestions;
        if let Some(found) = listed
            .into_iter()
            .find(|suggestion| suggestion.rule == rule && suggestion.path == path)
        {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lint never reported {rule} in {path}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The commit at the tip of the local branch `branch` of `git`, which must exist.
pub fn branch_tip<'repo>(git: &'repo git2::Repository, branch: &str) -> git2::Commit<'repo> {
    git.find_branch(branch, git2::BranchType::Local)
        .unwrap_or_else(|error| panic!("the branch {branch} exists: {error}"))
        .get()
        .peel_to_commit()
        .unwrap_or_else(|error| panic!("the branch {branch} has a commit: {error}"))
}
