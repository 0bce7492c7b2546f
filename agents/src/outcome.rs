//! How one piece of work ended, as every executor reports it to the runtime.

use chiffon_proto::v1::{FailedTask, HostStats, RepositoryCommit, WorkStatus};
use std::time::SystemTime;

/// The outcome of running one work item; the runtime turns it into a `WorkResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// How it ended.
    pub status: WorkStatus,
    /// Exit code of the program that ran; -1 when it was killed or never started.
    pub exit_code: i32,
    /// Per-host tallies, for work that ran a playbook.
    pub host_stats: Vec<HostStats>,
    /// Tasks that made the work fail.
    pub failed_tasks: Vec<FailedTask>,
    /// One-line explanation when `status` is not `Succeeded`; empty otherwise.
    pub error: String,
    /// When the work started (or was refused).
    pub started_at: SystemTime,
    /// When it ended.
    pub finished_at: SystemTime,
    /// The commit the work made on a new branch (suggested fixes, templates), when it made one.
    pub commit: Option<RepositoryCommit>,
}

impl RunOutcome {
    /// An outcome with `status` and `error`, exit code -1, no stats, and both times set to now.
    /// Fits work that ended before anything ran (refused input, missing files, a program that
    /// could not start, a cancellation that came first); other outcomes start from it.
    pub fn ended_early(status: WorkStatus, error: impl Into<String>) -> Self {
        let now = SystemTime::now();
        Self {
            status,
            exit_code: -1,
            host_stats: Vec::new(),
            failed_tasks: Vec::new(),
            error: error.into(),
            started_at: now,
            finished_at: now,
            commit: None,
        }
    }
}
