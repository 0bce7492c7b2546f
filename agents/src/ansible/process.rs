//! The operating-system side of running ansible-playbook: the event pipe handed to the child as
//! file descriptor 3, signalling its process group, and reading its output in bounded memory.

#![allow(
    unsafe_code,
    reason = "the pipe ansible-playbook writes its events to and the process group it runs in need libc calls std does not offer"
)]

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// The descriptor number under which the child finds the event pipe (`CHIFFON_EVENTS_FD`).
pub(crate) const EVENTS_FD: RawFd = 3;

/// Creates the event pipe, returning `(read end, write end)`.
///
/// Both ends are close-on-exec so that no *other* child spawned concurrently by this process
/// inherits the write end: a stray copy would keep the pipe open and the reader would never see
/// end-of-file. Only the playbook's child gets it, explicitly, through [`pass_fd`].
pub(crate) fn event_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((read, write))
}

/// Sets up `command` the way every Ansible tool runs under the agent: plain output whatever the
/// operator's terminal settings, no retry files left in the repository, no stdin, stdout and
/// stderr piped, and its own process group, killed when the child handle is dropped, so a
/// cancelled run takes everything the tool started with it.
pub(crate) fn configure_ansible_tool(command: &mut Command) {
    command
        .env("NO_COLOR", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
}

/// Makes `fd` (which must stay open until the command is spawned) available to the child as
/// descriptor [`EVENTS_FD`], without close-on-exec.
pub(crate) fn pass_fd(command: &mut Command, fd: &OwnedFd) {
    let source = fd.as_raw_fd();
    let duplicate = move || -> io::Result<()> {
        // Runs in the forked child before exec: only async-signal-safe calls are allowed here,
        // and dup2/fcntl are.
        let rc = if source == EVENTS_FD {
            // dup2 onto itself would leave close-on-exec set; clear the flag by hand.
            // SAFETY: fcntl on a descriptor that is open in the child.
            unsafe {
                let flags = libc::fcntl(source, libc::F_GETFD);
                if flags < 0 {
                    flags
                } else {
                    libc::fcntl(source, libc::F_SETFD, flags & !libc::FD_CLOEXEC)
                }
            }
        } else {
            // SAFETY: both descriptors are valid in the child; dup2 clears close-on-exec on the
            // target.
            unsafe { libc::dup2(source, EVENTS_FD) }
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: the closure only calls async-signal-safe functions and allocates nothing.
    unsafe {
        command.pre_exec(duplicate);
    }
}

/// The process group the playbook runs in (the child is its leader, see `process_group(0)`), so
/// that stopping it also stops every worker and module process Ansible forked.
///
/// While armed, dropping it kills the whole group: if the future running a playbook is dropped
/// half-way (for example when the runtime shuts down), nothing is left running behind it.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: libc::pid_t,
    armed: bool,
}

impl ProcessGroup {
    /// Takes charge of the process group led by the child with id `pid`.
    pub(crate) fn new(pid: u32) -> Option<Self> {
        let pgid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 1)?;
        Some(Self { pgid, armed: true })
    }

    /// Sends `signal` to every process of the group. Errors (typically "no such process" because
    /// everything already exited) are not interesting to the caller.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory-safety preconditions; a negative pid addresses the group,
        // and `pgid > 1` was checked so this can never address "every process".
        let rc = unsafe { libc::kill(-self.pgid, signal) };
        if rc != 0 {
            tracing::debug!(
                pgid = self.pgid,
                signal,
                error = %io::Error::last_os_error(),
                "signalling the playbook's process group"
            );
        }
    }

    /// The group ended normally; dropping it must not signal anyone any more.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.signal(libc::SIGKILL);
        }
    }
}

/// One line read by [`BoundedLines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line without its newline, lossily decoded, at most the reader's limit long.
    pub(crate) text: String,
    /// True when the line was longer than the limit and its end was dropped.
    pub(crate) truncated: bool,
}

/// Reads lines while never holding more than `max_len` bytes of one line in memory: a child may
/// print a gigabyte without a newline.
pub(crate) struct BoundedLines<R> {
    reader: R,
    line: Vec<u8>,
    truncated: bool,
    max_len: usize,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Reads from `reader`, keeping at most `max_len` bytes of each line.
    pub(crate) fn new(reader: R, max_len: usize) -> Self {
        Self {
            reader,
            line: Vec::new(),
            truncated: false,
            max_len,
        }
    }

    /// The next line; `None` at end of input (a last line without newline is still returned).
    ///
    /// Cancel safe: every await is `fill_buf`, and the partial line lives in `self`, so dropping
    /// the future loses nothing.
    pub(crate) async fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if self.line.is_empty() && !self.truncated {
                    return Ok(None);
                }
                return Ok(Some(self.take_line()));
            }
            let (chunk, consumed, complete) = match available.iter().position(|b| *b == b'\n') {
                Some(newline) => (&available[..newline], newline + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.max_len.saturating_sub(self.line.len());
            if chunk.len() > room {
                self.truncated = true;
            }
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.reader.consume(consumed);
            if complete {
                return Ok(Some(self.take_line()));
            }
        }
    }

    fn take_line(&mut self) -> Line {
        let mut text = String::from_utf8_lossy(&self.line).into_owned();
        if text.ends_with('\r') {
            text.pop();
        }
        self.line.clear();
        Line {
            text,
            truncated: std::mem::take(&mut self.truncated),
        }
    }
}

/// How long a reader keeps waiting for more output once the child exited. Normally the pipe
/// closes with the child; a grandchild that inherited it (and outlived the run) must not make the
/// agent wait forever.
const DRAIN_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits for the next line of `lines`, giving up (`None`) when `child_exited` has fired and no
/// new output arrived for [`DRAIN_AFTER_EXIT`]. Output already in the pipe is read immediately,
/// so nothing the child wrote before exiting is lost.
pub(crate) async fn next_line_until_drained<R: AsyncBufRead + Unpin>(
    lines: &mut BoundedLines<R>,
    child_exited: &CancellationToken,
) -> Option<io::Result<Option<Line>>> {
    tokio::select! {
        biased;
        line = lines.next_line() => Some(line),
        () = async {
            child_exited.cancelled().await;
            tokio::time::sleep(DRAIN_AFTER_EXIT).await;
        } => None,
    }
}

/// The last lines of an output stream, for error messages when the playbook fails before any
/// task ran (syntax errors, bad inventory, …).
#[derive(Debug, Default)]
pub(crate) struct OutputTail {
    lines: VecDeque<String>,
}

/// Lines kept per stream; enough for a Python traceback's last frames or Ansible's error block.
const TAIL_LINES: usize = 40;
/// Longest line kept in the tail.
const TAIL_LINE_BYTES: usize = 1024;

impl OutputTail {
    /// Reads `stream` to its end (or until drained after the child exited), keeping the tail.
    pub(crate) async fn collect<R: AsyncBufRead + Unpin>(
        stream: R,
        child_exited: CancellationToken,
    ) -> Self {
        let mut tail = OutputTail::default();
        let mut lines = BoundedLines::new(stream, TAIL_LINE_BYTES);
        while let Some(Ok(Some(line))) = next_line_until_drained(&mut lines, &child_exited).await {
            tail.push(line.text);
        }
        tail
    }

    fn push(&mut self, line: String) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The kept lines, oldest first, blank ones included.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.trim_end())
    }

    /// True when nothing but blank lines was kept.
    pub(crate) fn is_blank(&self) -> bool {
        self.lines().all(|l| l.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn read_all(input: &[u8], max_len: usize, buffer: usize) -> Vec<Line> {
        let mut lines = BoundedLines::new(BufReader::with_capacity(buffer, input), max_len);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read") {
            out.push(line);
        }
        out
    }

    fn line(text: &str, truncated: bool) -> Line {
        Line {
            text: text.to_owned(),
            truncated,
        }
    }

    #[tokio::test]
    async fn lines_are_split_and_long_ones_cut() {
        for buffer in [1, 3, 64] {
            let lines = read_all(b"ab\r\n0123456789\n\nlast", 4, buffer).await;
            assert_eq!(
                lines,
                vec![
                    line("ab", false),
                    line("0123", true),
                    line("", false),
                    line("last", false)
                ],
                "buffer {buffer}"
            );
        }
    }

    #[tokio::test]
    async fn the_tail_keeps_the_last_lines() {
        let text: String = (0..100)
            .map(|i| format!("line {i}\n\n"))
            .collect::<String>()
            + "last";
        let tail = OutputTail::collect(text.as_bytes(), CancellationToken::new()).await;
        let kept: Vec<&str> = tail.lines().collect();
        assert_eq!(kept.len(), TAIL_LINES);
        assert_eq!(kept[TAIL_LINES - 3..], ["line 99", "", "last"]);
        assert!(!tail.is_blank());
        assert!(OutputTail::default().is_blank());
    }

    #[tokio::test]
    async fn the_pipe_reaches_the_child_as_fd_3() {
        let (read, write) = event_pipe().expect("pipe");
        let mut command = Command::new("sh");
        command.arg("-c").arg("echo hello >&3");
        pass_fd(&mut command, &write);
        let mut child = command.spawn().expect("spawn sh");
        drop(write);
        let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(read).expect("receiver");
        let mut lines = BoundedLines::new(BufReader::new(receiver), 100);
        assert_eq!(
            lines.next_line().await.expect("read"),
            Some(line("hello", false))
        );
        // End of file proves that no other copy of the write end stayed open.
        assert_eq!(lines.next_line().await.expect("read"), None);
        assert!(child.wait().await.expect("wait").success());
    }
}
