//! Running the short-lived Ansible tools (ansible-lint, `ansible-playbook --syntax-check`) to
//! completion: output collected, a time limit, and errors that say which program failed and
//! how. Shared by suggestions and templates.

use crate::AgentError;
use crate::ansible::process::{ProcessGroup, configure_ansible_tool};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;
use tokio::process::Command;

/// Lines of a tool's output quoted in an error.
const EXCERPT_LINES: usize = 12;
/// Longest excerpt quoted in an error, in characters.
const EXCERPT_CHARS: usize = 2000;

/// How a tool ended.
#[derive(Debug)]
pub(crate) struct ToolOutput {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl ToolOutput {
    /// The exit code, `None` when a signal ended the tool.
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// "exit code 3" or "killed by signal 9", for messages.
    pub(crate) fn describe_status(&self) -> String {
        use std::os::unix::process::ExitStatusExt as _;
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => self.status.to_string(),
        }
    }

    /// The end of stderr, or of stdout when stderr is blank: what explains a failure.
    pub(crate) fn excerpt(&self) -> String {
        let source = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        excerpt(source)
    }

    /// The failure error for this output.
    pub(crate) fn failed(&self, program: &Path) -> AgentError {
        AgentError::ToolFailed {
            program: program.to_path_buf(),
            status: self.describe_status(),
            output: self.excerpt(),
        }
    }
}

/// The last non-blank lines of `text`, bounded in size.
pub(crate) fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(EXCERPT_LINES)..].join("\n");
    if tail.is_empty() {
        return "no output".to_owned();
    }
    let chars = tail.chars().count();
    if chars <= EXCERPT_CHARS {
        tail
    } else {
        let skipped: String = tail.chars().skip(chars - EXCERPT_CHARS).collect();
        format!("…{skipped}")
    }
}

/// Runs `program` with `args` in `cwd` until it exits, at most `timeout`; `hint` says how to
/// install the program when it cannot be started.
///
/// The exit status is the caller's to judge: tools like ansible-lint exit non-zero when they
/// did their job and found something. The tool runs in its own process group: when it
/// outlives `timeout`, or the returned future is dropped (the work was cancelled, the agent is
/// stopping), the whole group is killed, including processes the tool started itself
/// (ansible-lint's syntax checks).
pub(crate) async fn run<I, S>(
    program: &Path,
    args: I,
    cwd: &Path,
    timeout: Duration,
    hint: &'static str,
) -> Result<ToolOutput, AgentError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).current_dir(cwd);
    configure_ansible_tool(&mut command);
    tracing::debug!(program = %program.display(), cwd = %cwd.display(), "running tool");
    run_command(program, command, timeout, hint).await
}

/// Runs the prepared `command` (of `program`) to its end within `timeout`, with its output; a
/// timeout, or dropping the future, kills its whole process group. `hint` says how to install
/// the program when it is missing.
pub(crate) async fn run_command(
    program: &Path,
    mut command: Command,
    timeout: Duration,
    hint: &'static str,
) -> Result<ToolOutput, AgentError> {
    let child = command.spawn().map_err(|source| AgentError::ToolMissing {
        program: program.to_path_buf(),
        hint,
        source,
    })?;
    // Armed until the tool exited by itself: every other way out of this function (timeout,
    // the future dropped) kills the group.
    let mut group = child.id().and_then(ProcessGroup::new);
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| AgentError::ToolTimedOut {
            program: program.to_path_buf(),
            timeout,
        })?
        .map_err(|source| AgentError::Io {
            action: "read the output of",
            path: program.to_path_buf(),
            source,
        })?;
    if let Some(group) = &mut group {
        group.disarm();
    }
    Ok(ToolOutput {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `name` next to `sibling_of` when `sibling_of` is a path with a directory and `name` exists
/// there (a virtualenv installs ansible-playbook and ansible-lint side by side); else `name`,
/// to be found on `PATH`.
pub(crate) fn sibling_program(sibling_of: &Path, name: &str) -> PathBuf {
    sibling_of
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_keep_the_end() {
        let text: String = (0..100).map(|i| format!("line {i}\n\n")).collect();
        let tail = excerpt(&text);
        assert!(tail.starts_with("line 88"));
        assert!(tail.ends_with("line 99"));
        assert_eq!(excerpt("  \n"), "no output");
    }

    #[test]
    fn siblings_need_a_directory() {
        assert_eq!(
            sibling_program(Path::new("ansible-playbook"), "ansible-lint"),
            PathBuf::from("ansible-lint")
        );
        assert_eq!(
            sibling_program(
                Path::new("/nonexistent/bin/ansible-playbook"),
                "ansible-lint"
            ),
            PathBuf::from("ansible-lint")
        );
    }

    #[tokio::test]
    async fn missing_programs_are_reported() {
        let error = run(
            Path::new("/nonexistent/ansible-lint"),
            ["--version"],
            Path::new("/"),
            Duration::from_secs(5),
            "install it",
        )
        .await
        .expect_err("cannot start");
        assert!(matches!(error, AgentError::ToolMissing { .. }), "{error}");
        assert!(error.to_string().contains("install it"));
    }

    #[tokio::test]
    async fn slow_programs_are_stopped() {
        let error = run(
            Path::new("sleep"),
            ["30"],
            Path::new("/"),
            Duration::from_millis(200),
            "",
        )
        .await
        .expect_err("times out");
        assert!(matches!(error, AgentError::ToolTimedOut { .. }), "{error}");
    }

    /// Whether a process whose command line contains `needle` is alive (zombies excluded).
    fn running(needle: &str) -> bool {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                let dir = entry.path();
                let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
                let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
                let zombie = stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'));
                !zombie
                    && String::from_utf8_lossy(&cmdline)
                        .replace('\0', " ")
                        .contains(needle)
            })
    }

    #[tokio::test]
    async fn stopping_a_tool_stops_what_it_started() {
        // A unique duration names the grandchild, which only the process group reaches.
        let marker = format!("{}.{}", 600 + std::process::id() % 300, std::process::id());
        let script = format!("sleep {marker} & wait");
        let run = run(
            Path::new("sh"),
            ["-c", script.as_str()],
            Path::new("/"),
            Duration::from_secs(600),
            "",
        );
        let cancel = tokio_util::sync::CancellationToken::new();
        let stopper = cancel.clone();
        let needle = format!("sleep {marker}");
        let watcher = {
            let needle = needle.clone();
            tokio::spawn(async move {
                while !running(&needle) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                stopper.cancel();
            })
        };
        tokio::select! {
            _ = run => panic!("the tool ended by itself"),
            () = cancel.cancelled() => {}
        }
        watcher.await.expect("watcher");
        // SIGKILL is delivered before kill(2) returns; the reaper may still be collecting it.
        for _ in 0..500 {
            if !running(&needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the tool's child outlived the cancelled run");
    }
}
