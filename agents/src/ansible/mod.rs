//! Running `ansible-playbook` for one [`PlaybookRun`], with its events streamed as they happen.
//!
//! Events come from Ansible itself, through the callback plugin in `chiffon_events.py`, which
//! writes one JSON line per play, task and host result to a pipe the child inherits as file
//! descriptor 3. Nothing is scraped from the human-readable output; stdout and stderr are only
//! kept (their last lines) to explain failures that happen before any task runs.
//!
//! The child runs in its own process group so that a cancellation or timeout stops every
//! process Ansible started, not just the `ansible-playbook` leader.
//!
//! Ansible's own configuration decides how a playbook runs: `ansible-playbook` runs in the
//! repository root and reads its `ansible.cfg` (inventory, roles and collections paths, vault
//! settings). The agent adds only what it must, on top of Ansible's effective configuration
//! ([`config`]): its callback plugin next to the user's callback plugins (it needs no enabling,
//! so the user's `callbacks_enabled` is left alone), its private Galaxy directory after the
//! configured role and collection paths, and `-i` when the request picks one of the
//! inventories the agent was given by name ([`inventory`]).
//!
//! The same tools describe the repository for the catalog ([`facts`]): inventories and the
//! hosts of each play ([`patterns`]), the tasks each tagged part runs ([`listing`]), and the
//! Galaxy content it needs ([`galaxy`]).

pub mod config;
mod events;
pub mod facts;
pub mod galaxy;
pub mod inventory;
mod listing;
pub mod patterns;
pub(crate) mod process;
pub mod setup;

pub use config::EffectiveConfig;
pub use facts::{AnsibleFacts, gather};
pub use galaxy::{InstallLimits, default_galaxy_dir, install_requirements};
pub use inventory::{DEFAULT_INVENTORY_NAME, InventorySource};
pub use setup::{AnsibleSetup, UnknownInventory};

use crate::{AgentError, RunOutcome};
use chiffon_proto::v1::{PlaybookRun, TaskEvent, WorkStatus};
use events::EventCollector;
use process::{BoundedLines, OutputTail, ProcessGroup};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};
use tokio::io::BufReader;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a stopped playbook gets between SIGTERM and SIGKILL when none is configured.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_secs(5);

/// The callback plugin, embedded so that the agent binary is all that needs installing.
const CALLBACK_PLUGIN: &str = include_str!("chiffon_events.py");
/// Name under which Ansible knows the plugin (its `CALLBACK_NAME`).
const CALLBACK_NAME: &str = "chiffon_events";

/// Longest event line read from the plugin; real events are a few KiB at most.
const MAX_EVENT_LINE: usize = 64 * 1024;

/// Lines of stdout/stderr quoted in the error of a run that failed without a failed task.
const ERROR_TAIL_LINES: usize = 5;

/// The `ansible-playbook` program to use when none is configured: `ansible-playbook` from
/// `PATH`. The binary decides whether a setting (`--ansible-playbook`) names another.
pub fn default_program() -> PathBuf {
    PathBuf::from("ansible-playbook")
}

/// Runs playbooks of one infrastructure repository.
#[derive(Debug, Clone)]
pub struct PlaybookRunner {
    setup: AnsibleSetup,
    default_vars: Map<String, Value>,
    cancel_grace: Duration,
}

/// Why a run ended before `ansible-playbook` started. Each message is the `error` of the
/// outcome, so it says what to fix.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("no playbook was given")]
    NoPlaybook,
    #[error("playbook path {path:?} is not allowed: {reason}")]
    BadPlaybookPath { path: String, reason: &'static str },
    #[error("playbook {path:?} does not exist in the repository {}", repo.display())]
    PlaybookNotFound { path: String, repo: PathBuf },
    #[error("playbook {path:?} cannot be read: {source}")]
    PlaybookUnreadable { path: String, source: io::Error },
    #[error("{0}; name one of them, or none for the default")]
    UnknownInventory(UnknownInventory),
    #[error("inventory {} does not exist", path.display())]
    InventoryNotFound { path: PathBuf },
    #[error("cannot read Ansible's configuration in the repository: {0}")]
    Config(AgentError),
    #[error("the vault password file {} does not exist", path.display())]
    VaultPasswordFileNotFound { path: PathBuf },
    #[error("the repository {} cannot be used: {source}", path.display())]
    Repository { path: PathBuf, source: io::Error },
    #[error("cannot prepare the run's private files: {0}")]
    Workdir(io::Error),
    #[error("cannot start {}: {source}", program.display())]
    Spawn { program: PathBuf, source: io::Error },
}

/// Everything a run needs on disk before the child starts.
struct Prepared {
    /// Canonical repository root, the child's working directory.
    repo: PathBuf,
    /// Canonical path of the playbook, checked to be inside `repo`.
    playbook: PathBuf,
    /// The `-i` of the run; `None` leaves the inventory to `ansible.cfg`.
    inventory: Option<PathBuf>,
    /// Ansible's configuration as the run will see it.
    config: EffectiveConfig,
    /// Private directory (mode 0700) holding the plugin and the extra-vars file; removed when
    /// dropped, which must not happen before the child exited.
    workdir: tempfile::TempDir,
}

impl Prepared {
    fn plugin_dir(&self) -> PathBuf {
        self.workdir.path().join("callback_plugins")
    }

    fn vars_file(&self) -> PathBuf {
        self.workdir.path().join("extra-vars.json")
    }
}

/// How the child's life ended.
enum Ending {
    /// It exited by itself.
    Exited(io::Result<ExitStatus>),
    /// The agent stopped it, for this reason (`Cancelled` or `TimedOut`).
    Stopped(WorkStatus),
}

impl PlaybookRunner {
    /// A runner for the repository at `repo` with [`AnsibleSetup::new`]'s settings (the
    /// repository's own inventory, [`default_program`]), no default variables and
    /// [`DEFAULT_CANCEL_GRACE`].
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        Self::from_setup(AnsibleSetup::new(repo))
    }

    /// A runner with `setup`'s repository, program, inventories, vault password file and
    /// Galaxy directory.
    pub fn from_setup(setup: AnsibleSetup) -> Self {
        Self {
            setup,
            default_vars: Map::new(),
            cancel_grace: DEFAULT_CANCEL_GRACE,
        }
    }

    /// Decrypts Ansible Vault content with the password in `file` (relative to the repository
    /// root, or absolute; a script that prints the password works too, as in Ansible). Only the
    /// path goes on the command line, never the password.
    pub fn with_vault_password_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.setup.vault_password_file = Some(file.into());
        self
    }

    /// Runs against `inventories`, chosen by name per run; the first is the default. Without
    /// any, runs pass no `-i` and the repository's `ansible.cfg` decides.
    pub fn with_inventories(mut self, inventories: Vec<InventorySource>) -> Self {
        self.setup.inventories = inventories;
        self
    }

    /// Finds roles and collections installed in `dir` (see [`install_requirements`]) after
    /// those of Ansible's configured paths.
    pub fn with_galaxy_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.setup.galaxy_dir = Some(dir.into());
        self
    }

    /// Runs `program` instead of the default `ansible-playbook`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.setup.ansible_playbook = program.into();
        self
    }

    /// Extra variables every run gets (e.g. `homelab_root`); a run's own `extra_vars` override
    /// them key by key.
    pub fn with_default_vars(mut self, vars: Map<String, Value>) -> Self {
        self.default_vars = vars;
        self
    }

    /// How long a stopped playbook gets to exit after SIGTERM before it is killed.
    pub fn with_cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_grace = grace;
        self
    }

    /// The repository the runner works on.
    pub fn repo(&self) -> &Path {
        &self.setup.repo
    }

    /// How the runner calls Ansible.
    pub fn setup(&self) -> &AnsibleSetup {
        &self.setup
    }

    /// Runs `run` to its end and reports how it went; never fails as such: every problem,
    /// from a bad path to a crash of Ansible, is a [`RunOutcome`] with an explanation.
    ///
    /// Events are sent on `events` in the order Ansible produced them. The channel should be
    /// bounded: while it is full the playbook waits, so a slow consumer slows the playbook down
    /// instead of growing memory. `run` returns only after every event was sent (or the
    /// receiver was dropped). Cancelling `cancel` or exceeding `timeout` stops the playbook's
    /// whole process group: SIGTERM, then SIGKILL after the cancel grace.
    #[tracing::instrument(
        name = "ansible-playbook",
        skip_all,
        fields(playbook = %run.playbook, check_mode = run.check_mode, limit = %run.limit),
    )]
    pub async fn run(
        &self,
        run: &PlaybookRun,
        timeout: Duration,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome {
        let started_at = SystemTime::now();
        if cancel.is_cancelled() {
            return RunOutcome::ended_early(
                WorkStatus::Cancelled,
                format!(
                    "playbook {:?} was cancelled before it started",
                    run.playbook
                ),
            );
        }
        let outcome = match self.prepare(run).await {
            Err(error) => {
                tracing::warn!(%error, "playbook not started");
                RunOutcome::ended_early(WorkStatus::Failed, error.to_string())
            }
            Ok(prepared) => {
                let outcome = self.execute(run, &prepared, timeout, cancel, events).await;
                // Removing the directory is file-system work; keep it off the async threads.
                let workdir = prepared.workdir;
                let removed = tokio::task::spawn_blocking(move || workdir.close()).await;
                if let Ok(Err(error)) = removed {
                    tracing::warn!(%error, "cannot remove the run's private directory");
                }
                outcome
            }
        };
        // The single place where a run's times are decided, whichever way it ended.
        let outcome = RunOutcome {
            started_at,
            finished_at: SystemTime::now(),
            ..outcome
        };
        tracing::info!(status = ?outcome.status, exit_code = outcome.exit_code, "playbook ended");
        outcome
    }

    /// Checks the paths, reads Ansible's configuration and writes the plugin and variables,
    /// without starting anything.
    async fn prepare(&self, run: &PlaybookRun) -> Result<Prepared, StartError> {
        let relative = validate_relative(&run.playbook)?;
        let chosen = self
            .setup
            .choose_inventory(&run.inventory)
            .map_err(StartError::UnknownInventory)?;
        let repo = tokio::fs::canonicalize(&self.setup.repo)
            .await
            .map_err(|source| StartError::Repository {
                path: self.setup.repo.clone(),
                source,
            })?;
        let playbook = resolve_inside(&repo, &run.playbook, relative).await?;

        // Only a path the agent passes is the agent's to check; ansible.cfg's is Ansible's.
        let inventory = chosen.map(|source| repo.join(&source.path));
        if let Some(path) = &inventory
            && !tokio::fs::try_exists(path).await.unwrap_or(false)
        {
            return Err(StartError::InventoryNotFound { path: path.clone() });
        }
        if let Some(file) = &self.setup.vault_password_file {
            let path = repo.join(file);
            if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                return Err(StartError::VaultPasswordFileNotFound { path });
            }
        }
        // Read for every run rather than cached: it costs about 0.35 s next to a
        // playbook's seconds or minutes, and a run then always builds on the ansible.cfg (and
        // ~/.ansible.cfg, ANSIBLE_* variables) that ansible-playbook itself will read.
        let config = EffectiveConfig::read(&self.setup)
            .await
            .map_err(StartError::Config)?;

        let mut vars = self.default_vars.clone();
        if let Some(extra) = &run.extra_vars {
            vars.extend(chiffon_proto::json::struct_to_json(extra));
        }
        let workdir = tokio::task::spawn_blocking(move || write_workdir(&vars))
            .await
            .map_err(|join| StartError::Workdir(io::Error::other(join.to_string())))?
            .map_err(StartError::Workdir)?;
        Ok(Prepared {
            repo,
            playbook,
            inventory,
            config,
            workdir,
        })
    }

    /// Starts the child and supervises it until it ended and its output was read.
    async fn execute(
        &self,
        run: &PlaybookRun,
        prepared: &Prepared,
        timeout: Duration,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome {
        let spawned = self.spawn(run, prepared);
        let (mut child, events_pipe) = match spawned {
            Ok(spawned) => spawned,
            Err(error) => {
                tracing::warn!(%error, "playbook not started");
                return RunOutcome::ended_early(WorkStatus::Failed, error.to_string());
            }
        };
        let Some(mut group) = child.id().and_then(ProcessGroup::new) else {
            // Only possible if the child was already reaped, which nothing here does.
            return RunOutcome::ended_early(
                WorkStatus::Failed,
                "ansible-playbook vanished right after it started",
            );
        };
        tracing::info!(pid = child.id(), "ansible-playbook started");

        let child_exited = CancellationToken::new();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let read_events = forward_events(events_pipe, events, child_exited.clone());
        let read_stdout = async {
            match stdout {
                Some(out) => OutputTail::collect(BufReader::new(out), child_exited.clone()).await,
                None => OutputTail::default(),
            }
        };
        let read_stderr = async {
            match stderr {
                Some(err) => OutputTail::collect(BufReader::new(err), child_exited.clone()).await,
                None => OutputTail::default(),
            }
        };
        let supervise = async {
            let ending = tokio::select! {
                status = child.wait() => Ending::Exited(status),
                () = cancel.cancelled() => Ending::Stopped(WorkStatus::Cancelled),
                () = tokio::time::sleep(timeout) => Ending::Stopped(WorkStatus::TimedOut),
            };
            let ending = match ending {
                Ending::Stopped(reason) => {
                    tracing::info!(?reason, "stopping the playbook's process group");
                    stop(&mut child, &group, self.cancel_grace).await;
                    Ending::Stopped(reason)
                }
                exited => exited,
            };
            group.disarm();
            child_exited.cancel();
            ending
        };
        let (collector, stdout, stderr, ending) =
            tokio::join!(read_events, read_stdout, read_stderr, supervise);

        let (status, exit_code, error) = match ending {
            Ending::Stopped(WorkStatus::TimedOut) => (
                WorkStatus::TimedOut,
                -1,
                format!(
                    "playbook {:?} did not finish within {} and was stopped",
                    run.playbook,
                    describe_duration(timeout)
                ),
            ),
            Ending::Stopped(reason) => (
                reason,
                -1,
                format!("playbook {:?} was cancelled while running", run.playbook),
            ),
            Ending::Exited(Err(error)) => (
                WorkStatus::Failed,
                -1,
                format!("lost track of ansible-playbook: {error}"),
            ),
            Ending::Exited(Ok(status)) => match status.code() {
                Some(0) => (WorkStatus::Succeeded, 0, String::new()),
                Some(code) => {
                    let why = collector.failure_summary().unwrap_or_else(|| {
                        let output = error_excerpt(&stderr, &stdout);
                        if output.is_empty() {
                            format!("ansible-playbook exited with code {code} without output")
                        } else {
                            format!("ansible-playbook exited with code {code}: {output}")
                        }
                    });
                    (WorkStatus::Failed, code, why)
                }
                None => (
                    WorkStatus::Failed,
                    -1,
                    format!("ansible-playbook was killed ({status})"),
                ),
            },
        };
        RunOutcome {
            exit_code,
            host_stats: collector.host_stats(),
            failed_tasks: collector.failed_tasks(),
            ..RunOutcome::ended_early(status, error)
        }
    }

    /// Builds the command line and starts the child, returning it with the read end of the
    /// event pipe.
    fn spawn(
        &self,
        run: &PlaybookRun,
        prepared: &Prepared,
    ) -> Result<(Child, tokio::net::unix::pipe::Receiver), StartError> {
        let (read_end, write_end) = process::event_pipe().map_err(StartError::Workdir)?;

        let mut command = Command::new(&self.setup.ansible_playbook);
        if let Some(inventory) = &prepared.inventory {
            command.arg("-i").arg(inventory);
        }
        // Extra variables go through a private file, never argv: they may hold secrets, and
        // every user of the machine can read a process's arguments.
        let mut vars_arg = OsString::from("@");
        vars_arg.push(prepared.vars_file());
        command.arg("-e").arg(vars_arg);
        // The `--opt=value` form keeps a value that starts with '-' from being read as an option.
        if !run.limit.trim().is_empty() {
            command.arg(format!("--limit={}", run.limit.trim()));
        }
        let tags: Vec<&str> = run
            .tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        if !tags.is_empty() {
            command.arg(format!("--tags={}", tags.join(",")));
        }
        if run.check_mode {
            command.arg("--check");
        }
        if run.diff {
            command.arg("--diff");
        }
        command.args(self.setup.vault_argument());
        // The validated canonical path, so a symlink swapped in after the check cannot redirect
        // the run outside the repository.
        command.arg(&prepared.playbook);

        // The plugin loads without being enabled (CALLBACK_NEEDS_ENABLED = False), so the
        // user's callbacks_enabled stays as configured; their callback directories stay on the
        // path after ours.
        let mut callback_dirs = vec![prepared.plugin_dir()];
        callback_dirs.extend(prepared.config.callback_plugin_path.iter().cloned());
        command
            .current_dir(&prepared.repo)
            .env(
                "ANSIBLE_CALLBACK_PLUGINS",
                setup::join_paths(&callback_dirs, None),
            )
            .env("CHIFFON_EVENTS_FD", process::EVENTS_FD.to_string())
            .env("PYTHONUNBUFFERED", "1");
        self.setup.add_search_paths(&prepared.config, &mut command);
        process::configure_ansible_tool(&mut command);
        process::pass_fd(&mut command, &write_end);

        let child = command.spawn().map_err(|source| StartError::Spawn {
            program: self.setup.ansible_playbook.clone(),
            source,
        })?;
        // The child has its copy as fd 3; ours must go, or the pipe never reports end-of-file.
        drop(write_end);
        let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(read_end)
            .map_err(StartError::Workdir)?;
        Ok((child, receiver))
    }
}

/// Stops the process group: SIGTERM, up to `grace` for the leader to exit, then SIGKILL.
async fn stop(child: &mut Child, group: &ProcessGroup, grace: Duration) {
    group.signal(libc::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::warn!(grace = ?grace, "ansible-playbook ignored SIGTERM; killing it");
    }
    // Also reaches workers that outlived a leader which did exit on SIGTERM. The leader may
    // already be reaped, but process ids are handed out sequentially, so its id cannot name a
    // new group within the moments since.
    group.signal(libc::SIGKILL);
    if let Err(error) = child.wait().await {
        tracing::warn!(%error, "cannot collect the stopped ansible-playbook");
    }
}

/// Reads the plugin's event lines, forwarding each event in order; returns what the outcome
/// needs. Keeps reading after the receiver went away so the child never blocks on a full pipe.
async fn forward_events(
    pipe: tokio::net::unix::pipe::Receiver,
    events: mpsc::Sender<TaskEvent>,
    child_exited: CancellationToken,
) -> EventCollector {
    let mut collector = EventCollector::default();
    let mut lines = BoundedLines::new(BufReader::new(pipe), MAX_EVENT_LINE);
    let mut forwarding = true;
    loop {
        let line = match process::next_line_until_drained(&mut lines, &child_exited).await {
            Some(Ok(Some(line))) => line,
            Some(Ok(None)) => break,
            Some(Err(error)) => {
                tracing::warn!(%error, "cannot read events from ansible-playbook");
                break;
            }
            None => {
                tracing::warn!("the event pipe stayed open after ansible-playbook exited");
                break;
            }
        };
        if line.truncated {
            tracing::warn!(max = MAX_EVENT_LINE, "skipped an oversized event line");
            continue;
        }
        match collector.handle(&line.text) {
            Ok(Some(event)) => {
                if forwarding && events.send(event).await.is_err() {
                    tracing::debug!("nobody listens to the playbook's events any more");
                    forwarding = false;
                }
            }
            Ok(None) => {}
            // The line itself is not logged: it may carry task output.
            Err(error) => tracing::warn!(%error, "skipped an event line"),
        }
    }
    collector
}

/// `playbook` as a relative path without `..`; the first check, before touching the disk.
fn validate_relative(playbook: &str) -> Result<&Path, StartError> {
    let bad = |reason| StartError::BadPlaybookPath {
        path: playbook.to_owned(),
        reason,
    };
    if playbook.trim().is_empty() {
        return Err(StartError::NoPlaybook);
    }
    if playbook.contains('\0') {
        return Err(bad("it contains a NUL character"));
    }
    let path = Path::new(playbook);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(bad("it must not contain '..'")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(bad("it must be relative to the repository root"));
            }
        }
    }
    Ok(path)
}

/// Resolves `relative` inside the canonical `repo`, following symlinks, and checks that the
/// result is a file still inside the repository.
async fn resolve_inside(
    repo: &Path,
    original: &str,
    relative: &Path,
) -> Result<PathBuf, StartError> {
    let canonical = match tokio::fs::canonicalize(repo.join(relative)).await {
        Ok(path) => path,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(StartError::PlaybookNotFound {
                path: original.to_owned(),
                repo: repo.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(StartError::PlaybookUnreadable {
                path: original.to_owned(),
                source,
            });
        }
    };
    if !canonical.starts_with(repo) {
        return Err(StartError::BadPlaybookPath {
            path: original.to_owned(),
            reason: "it leads outside the repository",
        });
    }
    let metadata =
        tokio::fs::metadata(&canonical)
            .await
            .map_err(|source| StartError::PlaybookUnreadable {
                path: original.to_owned(),
                source,
            })?;
    if !metadata.is_file() {
        return Err(StartError::BadPlaybookPath {
            path: original.to_owned(),
            reason: "it is not a file",
        });
    }
    Ok(canonical)
}

/// Creates the run's private directory with the plugin and the extra-vars file (mode 0600).
fn write_workdir(vars: &Map<String, Value>) -> io::Result<tempfile::TempDir> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    let dir = tempfile::Builder::new().prefix("chiffon-run-").tempdir()?;
    let plugins = dir.path().join("callback_plugins");
    std::fs::create_dir(&plugins)?;
    std::fs::write(plugins.join(format!("{CALLBACK_NAME}.py")), CALLBACK_PLUGIN)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.path().join("extra-vars.json"))?;
    file.write_all(&serde_json::to_vec(vars).map_err(io::Error::other)?)?;
    file.sync_all()?;
    Ok(dir)
}

/// The most telling part of the output of a run that failed before any task failed: Ansible's
/// error block (from its first `ERROR` line to the next blank line) if stderr has one, else the
/// last lines of stderr, or of stdout when stderr is empty.
fn error_excerpt(stderr: &OutputTail, stdout: &OutputTail) -> String {
    let source = if stderr.is_blank() { stdout } else { stderr };
    let lines: Vec<&str> = source.lines().collect();
    let excerpt: Vec<&str> = match lines.iter().position(|l| l.contains("ERROR")) {
        Some(start) => lines[start..]
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .take(ERROR_TAIL_LINES)
            .map(|l| l.trim())
            .collect(),
        None => {
            let filled: Vec<&str> = lines
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            filled[filled.len().saturating_sub(ERROR_TAIL_LINES)..].to_vec()
        }
    };
    events::truncate(excerpt.join(" "), events::MAX_MESSAGE_CHARS)
}

/// `30m`, `1h 5m`, `45s`.
fn describe_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds}s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests;
