//! Linting an agent's repository in the background, so that the orchestrator's suggestions
//! follow the repository: a lint runs whenever one is requested (after the agent registered,
//! after the repository changed), one at a time, and its findings are published for the
//! runtime to report.
//!
//! Requests that arrive while a lint runs are served by one more lint once it ended, however
//! many there were. A failing lint (ansible-lint missing, crashing, timing out) is logged once
//! per kind of failure and leaves the published findings as they were; the next request tries
//! again. Stopping the task kills a running ansible-lint with every process it started.

use super::Linter;
use crate::runtime::retry::{FailureLog, variant_name};
use chiffon_proto::v1::Suggestion;
use std::future::Future;
use std::path::PathBuf;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Asks the background linter for a new lint of the whole repository. Cheap to clone and to
/// call: requests made while a lint runs are merged into one more lint.
#[derive(Debug, Clone)]
pub struct LintRequests(watch::Sender<u64>);

impl LintRequests {
    /// Requests a lint that starts after this call.
    pub fn request(&self) {
        self.0
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

/// Starts nothing yet: returns the handle to request lints, the findings of the latest lint
/// that worked (each successful lint sends a new value, even when the findings are the same,
/// so a report can follow every request), and the task that lints `repo` with `linter` until
/// `stop` fires. The caller owns the task and spawns it.
pub fn lint_in_background(
    linter: Linter,
    repo: PathBuf,
    stop: CancellationToken,
) -> (
    LintRequests,
    watch::Receiver<Vec<Suggestion>>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (requests, requested) = watch::channel(0_u64);
    let (findings, published) = watch::channel(Vec::new());
    let task = keep_linted(linter, repo, requested, findings, stop);
    (LintRequests(requests), published, task)
}

async fn keep_linted(
    linter: Linter,
    repo: PathBuf,
    mut requested: watch::Receiver<u64>,
    findings: watch::Sender<Vec<Suggestion>>,
    stop: CancellationToken,
) {
    let mut failures = FailureLog::with_follow_up(
        "linting the repository with ansible-lint",
        "the suggestions stay as they were; the next change of the repository tries again",
    );
    loop {
        tokio::select! {
            changed = requested.changed() => {
                if changed.is_err() {
                    // Nobody can request a lint any more.
                    return;
                }
            }
            () = stop.cancelled() => return,
        }
        // Requests from now on ask for another lint after this one.
        requested.mark_unchanged();
        tracing::debug!(repo = %repo.display(), "linting the repository");
        let result = tokio::select! {
            result = linter.lint(&repo, &[]) => result,
            // Dropping the lint kills ansible-lint's process group.
            () = stop.cancelled() => return,
        };
        match result {
            Ok(suggestions) => {
                failures.succeeded();
                tracing::info!(
                    findings = suggestions.len(),
                    "repository linted; reporting the suggestions"
                );
                findings.send_replace(suggestions.into_iter().map(Suggestion::from).collect());
            }
            Err(error) => failures.failed(variant_name(&error), &error),
        }
    }
}
