//! Decoding the callback plugin's JSON lines into [`TaskEvent`]s, and keeping what the run's
//! outcome needs (failed tasks, final host stats) on the way.

use chiffon_proto::v1::{FailedTask, HostStats, TaskEvent, TaskEventKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Longest message kept in an event or failed task. The plugin cuts at 4000 characters already;
/// this is the agent's own guarantee in case the plugin file was replaced by something else.
pub(crate) const MAX_MESSAGE_CHARS: usize = 4096;

/// Failed tasks kept for the outcome; a run failing on hundreds of hosts reports the first ones
/// and counts the rest.
const MAX_FAILED_TASKS: usize = 100;

/// One line of the plugin's output.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum PluginEvent {
    PlayStart {
        #[serde(default)]
        play: String,
    },
    TaskStart {
        #[serde(default)]
        play: String,
        #[serde(default)]
        task: String,
    },
    Runner {
        status: RunnerStatus,
        #[serde(default)]
        play: String,
        #[serde(default)]
        task: String,
        #[serde(default)]
        host: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        duration: Option<f64>,
    },
    Stats {
        #[serde(default)]
        hosts: BTreeMap<String, PluginHostStats>,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RunnerStatus {
    Ok,
    Changed,
    Failed,
    FailedIgnored,
    Skipped,
    Unreachable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PluginHostStats {
    ok: i32,
    changed: i32,
    failures: i32,
    unreachable: i32,
    skipped: i32,
    rescued: i32,
    ignored: i32,
}

/// Why a line from the plugin was not understood.
#[derive(Debug, thiserror::Error)]
#[error("unreadable event from the callback plugin: {0}")]
pub(crate) struct BadEvent(#[from] serde_json::Error);

/// A task that failed on a host, or a host that could not be reached for it.
#[derive(Debug, Clone)]
struct Failure {
    task: FailedTask,
    unreachable: bool,
}

/// Accumulates what the outcome of a run needs while events stream past.
#[derive(Debug, Default)]
pub(crate) struct EventCollector {
    failed_tasks: Vec<Failure>,
    /// Failures beyond [`MAX_FAILED_TASKS`], counted but not kept.
    more_failures: usize,
    host_stats: Option<Vec<HostStats>>,
}

impl EventCollector {
    /// Decodes one line. Returns the event to forward, if the line is one (stats are not).
    pub(crate) fn handle(&mut self, line: &str) -> Result<Option<TaskEvent>, BadEvent> {
        let event = match serde_json::from_str::<PluginEvent>(line)? {
            PluginEvent::PlayStart { play } => TaskEvent {
                kind: TaskEventKind::PlayStarted.into(),
                play,
                ..TaskEvent::default()
            },
            PluginEvent::TaskStart { play, task } => TaskEvent {
                kind: TaskEventKind::TaskStarted.into(),
                play,
                task,
                ..TaskEvent::default()
            },
            PluginEvent::Runner {
                status,
                play,
                task,
                host,
                message,
                duration,
            } => {
                let message = truncate(message, MAX_MESSAGE_CHARS);
                let kind = match status {
                    RunnerStatus::Ok => TaskEventKind::HostOk,
                    RunnerStatus::Changed => TaskEventKind::HostChanged,
                    RunnerStatus::Failed => TaskEventKind::HostFailed,
                    RunnerStatus::FailedIgnored => TaskEventKind::HostFailedIgnored,
                    RunnerStatus::Skipped => TaskEventKind::HostSkipped,
                    RunnerStatus::Unreachable => TaskEventKind::HostUnreachable,
                };
                if matches!(status, RunnerStatus::Failed | RunnerStatus::Unreachable) {
                    self.record_failure(Failure {
                        task: FailedTask {
                            host: host.clone(),
                            task: task.clone(),
                            message: message.clone(),
                        },
                        unreachable: matches!(status, RunnerStatus::Unreachable),
                    });
                }
                TaskEvent {
                    kind: kind.into(),
                    play,
                    task,
                    host,
                    message,
                    duration: duration.and_then(to_proto_duration),
                }
            }
            PluginEvent::Stats { hosts } => {
                self.host_stats = Some(
                    hosts
                        .into_iter()
                        .map(|(host, s)| HostStats {
                            host,
                            ok: s.ok,
                            changed: s.changed,
                            failed: s.failures,
                            unreachable: s.unreachable,
                            skipped: s.skipped,
                            rescued: s.rescued,
                            ignored: s.ignored,
                        })
                        .collect(),
                );
                return Ok(None);
            }
        };
        Ok(Some(event))
    }

    fn record_failure(&mut self, failure: Failure) {
        if self.failed_tasks.len() < MAX_FAILED_TASKS {
            self.failed_tasks.push(failure);
        } else {
            self.more_failures += 1;
        }
    }

    /// Per-host stats of the run, by host name; empty when the playbook ended before its recap.
    pub(crate) fn host_stats(&self) -> Vec<HostStats> {
        self.host_stats.clone().unwrap_or_default()
    }

    /// Tasks whose failure made the run fail.
    ///
    /// A failure that a `rescue` block handled is still reported by Ansible as a failed task;
    /// once the recap shows the host ended without failures, those are dropped so a successful
    /// run does not list failed tasks.
    pub(crate) fn failed_tasks(&self) -> Vec<FailedTask> {
        self.failures().map(|f| f.task.clone()).collect()
    }

    /// The failures that count: see [`failed_tasks`](Self::failed_tasks).
    fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.failed_tasks.iter().filter(|f| {
            self.host_stats.as_ref().is_none_or(|stats| {
                stats
                    .iter()
                    .find(|s| s.host == f.task.host)
                    .is_none_or(|s| s.failed > 0 || s.unreachable > 0)
            })
        })
    }

    /// One line naming the failed tasks and hosts, e.g.
    /// `task "Install package" failed on kuma.home.arpa: No package matching 'x'`; `None` when no
    /// task failed.
    pub(crate) fn failure_summary(&self) -> Option<String> {
        /// Failures spelled out in the summary; the rest are in `failed_tasks`.
        const NAMED: usize = 3;
        let failed: Vec<&Failure> = self.failures().collect();
        if failed.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = failed
            .iter()
            .take(NAMED)
            .map(|f| {
                let FailedTask {
                    host,
                    task,
                    message,
                } = &f.task;
                let mut part = if f.unreachable {
                    format!("host {host} could not be reached for task {task:?}")
                } else {
                    format!("task {task:?} failed on {host}")
                };
                if !message.is_empty() {
                    part.push_str(": ");
                    part.push_str(&truncate(first_line(message).to_owned(), 300));
                }
                part
            })
            .collect();
        let others = failed.len().saturating_sub(NAMED) + self.more_failures;
        if others > 0 {
            parts.push(format!(
                "and {others} more failure{}",
                if others == 1 { "" } else { "s" }
            ));
        }
        Some(parts.join("; "))
    }
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// `text` cut to at most `max_chars` characters, marking the cut.
pub(crate) fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((index, _)) = text.char_indices().nth(max_chars) {
        text.truncate(index);
        text.push_str(" ... (truncated)");
    }
    text
}

fn to_proto_duration(seconds: f64) -> Option<prost_types::Duration> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let duration = std::time::Duration::try_from_secs_f64(seconds).ok()?;
    prost_types::Duration::try_from(duration).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(event: &TaskEvent) -> TaskEventKind {
        TaskEventKind::try_from(event.kind).expect("known kind")
    }

    #[test]
    fn plugin_lines_become_task_events() {
        let mut collector = EventCollector::default();
        let play = collector
            .handle(r#"{"event":"play_start","play":"Deploy"}"#)
            .expect("ok");
        let play = play.expect("an event");
        assert_eq!(
            (kind(&play), play.play.as_str()),
            (TaskEventKind::PlayStarted, "Deploy")
        );

        let result = collector
            .handle(
                r#"{"event":"runner","status":"changed","play":"Deploy","task":"Copy","host":"h1","message":"","duration":1.5}"#,
            )
            .expect("ok")
            .expect("an event");
        assert_eq!(kind(&result), TaskEventKind::HostChanged);
        assert_eq!(
            result.duration,
            Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        assert!(collector.failure_summary().is_none());
    }

    #[test]
    fn failures_are_summarised_and_rescued_ones_dropped() {
        let mut collector = EventCollector::default();
        for (host, task) in [("h1", "Install"), ("h2", "Install"), ("h3", "Rescued")] {
            let line = format!(
                r#"{{"event":"runner","status":"failed","play":"p","task":"{task}","host":"{host}","message":"no package\nmore"}}"#
            );
            collector.handle(&line).expect("ok");
        }
        let stats = r#"{"event":"stats","hosts":{"h1":{"ok":1,"failures":1},"h2":{"failures":1},"h3":{"ok":2,"rescued":1}}}"#;
        assert!(collector.handle(stats).expect("ok").is_none());
        assert_eq!(collector.failed_tasks().len(), 2);
        assert_eq!(
            collector.failure_summary().as_deref(),
            Some(
                r#"task "Install" failed on h1: no package; task "Install" failed on h2: no package"#
            )
        );
        let h3 = collector
            .host_stats()
            .into_iter()
            .find(|s| s.host == "h3")
            .expect("h3");
        assert_eq!((h3.ok, h3.rescued, h3.failed), (2, 1, 0));
    }

    #[test]
    fn garbage_is_rejected() {
        let mut collector = EventCollector::default();
        assert!(collector.handle("not json").is_err());
        assert!(
            collector
                .handle(r#"{"event":"runner","status":"exploded"}"#)
                .is_err()
        );
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo".into(), 2), "hé ... (truncated)");
        assert_eq!(truncate("hi".into(), 2), "hi");
    }
}
