//! How a long-running process stops: the first SIGINT or SIGTERM (or one of its parts ending
//! on its own) starts draining; from then on everything it still waits for shares one deadline,
//! the shutdown grace. What has not stopped by then is logged by name and left behind, and the
//! process exits anyway (with exit code 1). A second signal ends the wait at once.

use anyhow::anyhow;
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Owns the signal listener and the token every part of the process drains on.
pub struct Supervisor {
    draining: CancellationToken,
    /// A second signal: stop waiting for anything.
    forced: CancellationToken,
    grace: Duration,
    /// Ends the signal listener when the supervisor goes away.
    closed: CancellationToken,
}

/// A task of the process, known by name for the log.
pub struct Part {
    name: &'static str,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Supervisor {
    /// Listens for SIGINT and SIGTERM from now on.
    pub fn on_signals(grace: Duration) -> Self {
        let draining = CancellationToken::new();
        let forced = CancellationToken::new();
        let closed = CancellationToken::new();
        // Registered here, not in the task: a signal that comes before the task first runs
        // must already be ours, or it would kill the process outright.
        let terminate = listen_for(SignalKind::terminate(), "SIGTERM");
        let interrupt = listen_for(SignalKind::interrupt(), "SIGINT");
        tokio::spawn(listen(
            [terminate, interrupt],
            draining.clone(),
            forced.clone(),
            closed.clone(),
        ));
        Self {
            draining,
            forced,
            grace,
            closed,
        }
    }

    /// Cancelled when the process starts to drain.
    pub fn draining(&self) -> &CancellationToken {
        &self.draining
    }

    /// Runs `part` as a task. When it ends on its own, the process drains: none of the parts
    /// is any use without the others.
    pub fn spawn(
        &self,
        name: &'static str,
        part: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Part {
        let draining = self.draining.clone();
        let handle = tokio::spawn(async move {
            let outcome = part.await;
            if !draining.is_cancelled() {
                match &outcome {
                    Ok(()) => tracing::info!(part = name, "stopped on its own; shutting down"),
                    Err(error) => tracing::error!(part = name, "{error:#}; shutting down"),
                }
                draining.cancel();
            }
            outcome
        });
        Part { name, handle }
    }

    /// `future`, unless the process starts draining first (then `None`): for start-up steps
    /// that may wait long on a database or broker that does not answer.
    pub async fn unless_draining<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            output = future => Some(output),
            () = self.draining.cancelled() => None,
        }
    }

    /// Waits until the process starts draining; the grace starts then.
    pub async fn drained(&self) -> Deadline {
        self.draining.cancelled().await;
        Deadline {
            at: Instant::now() + self.grace,
            grace: self.grace,
            forced: self.forced.clone(),
            late: Vec::new(),
            failures: Vec::new(),
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// A stream of the signal `kind`, named `name` for the log; `None` when it cannot be had.
fn listen_for(kind: SignalKind, name: &'static str) -> Option<(Signal, &'static str)> {
    match signal(kind) {
        Ok(stream) => Some((stream, name)),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for {name}");
            None
        }
    }
}

/// Cancels `draining` on the first signal and `forced` on the second, until `closed`.
async fn listen(
    [mut terminate, mut interrupt]: [Option<(Signal, &'static str)>; 2],
    draining: CancellationToken,
    forced: CancellationToken,
    closed: CancellationToken,
) {
    loop {
        let name = tokio::select! {
            Some(name) = next(&mut terminate) => name,
            Some(name) = next(&mut interrupt) => name,
            () = closed.cancelled() => return,
        };
        if draining.is_cancelled() {
            tracing::warn!(
                signal = name,
                "second signal: exiting without waiting any longer"
            );
            forced.cancel();
            return;
        }
        tracing::info!(signal = name, "shutting down");
        draining.cancel();
    }
}

/// The name of the next signal of `stream`; never, without a stream.
async fn next(stream: &mut Option<(Signal, &'static str)>) -> Option<&'static str> {
    match stream {
        Some((stream, name)) => stream.recv().await.map(|()| *name),
        None => std::future::pending().await,
    }
}

/// The end of the shutdown grace, and what did not make it or failed.
pub struct Deadline {
    at: Instant,
    grace: Duration,
    forced: CancellationToken,
    late: Vec<&'static str>,
    failures: Vec<anyhow::Error>,
}

impl Deadline {
    /// Waits for `part` to end, at most until the deadline; past it, `part` is aborted.
    pub async fn join(&mut self, mut part: Part) {
        let joined = tokio::select! {
            biased;
            joined = &mut part.handle => Some(joined),
            () = tokio::time::sleep_until(self.at) => None,
            () = self.forced.cancelled() => None,
        };
        match joined {
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(error))) => self.failures.push(error.context(part.name)),
            Some(Err(error)) => self.failures.push(anyhow!("{}: {error}", part.name)),
            None => {
                part.handle.abort();
                self.late.push(part.name);
            }
        }
    }

    /// Waits for `stopped` to complete, at most until the deadline.
    pub async fn wait(&mut self, name: &'static str, stopped: impl Future<Output = ()>) {
        let finished = tokio::select! {
            biased;
            () = stopped => true,
            () = tokio::time::sleep_until(self.at) => false,
            () = self.forced.cancelled() => false,
        };
        if !finished {
            self.late.push(name);
        }
    }

    /// Exit code 0 when everything stopped in time without an error. Otherwise the first
    /// failure (the others logged), or which parts were still running when the grace ended.
    pub fn finish(self) -> anyhow::Result<ExitCode> {
        let mut failures = self.failures.into_iter();
        let first = failures.next();
        for other in failures {
            tracing::error!("{other:#}");
        }
        if !self.late.is_empty() {
            let late = self.late.join(", ");
            if let Some(first) = first {
                tracing::error!("{first:#}");
            }
            let when = if self.forced.is_cancelled() {
                "at a second signal".to_owned()
            } else {
                format!("after the shutdown grace of {} s", self.grace.as_secs())
            };
            tracing::error!(still_running = %late, "exiting {when} before everything stopped");
            return Err(anyhow!("still running {when}: {late}"));
        }
        match first {
            Some(error) => Err(error),
            None => Ok(ExitCode::SUCCESS),
        }
    }
}
