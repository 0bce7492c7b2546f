//! The request state machine, without a database: given where a request and its steps stand,
//! what happens next.
//!
//! The engine reads the state inside the transaction that locks the request, asks these
//! functions, and writes what they decide with the events that report it. Keeping the decisions
//! here means every rule of a request's life is tested without a database, and the engine's
//! transactions only say how a decision is recorded.

use crate::domain::{PlanStatus, RequestStatus, StepStatus};
use std::time::Duration;
use uuid::Uuid;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestState {
    pub status: RequestStatus,
    /// Someone asked to cancel it.
    pub cancel_requested: bool,
    /// It has ended; nothing moves it any more.
    pub finished: bool,
    /// Why it is in its status (for a cancellation: the reason given).
    pub status_reason: String,
}

/// Where one step of the request's current plan revision stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepState {
    pub id: Uuid,
    pub position: i32,
    pub title: String,
    pub status: StepStatus,
    /// Positions of the steps that must succeed first.
    pub depends_on: Vec<i32>,
    /// The work item of its current attempt, once queued.
    pub work_id: Option<Uuid>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// One change [`advance`] decides, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    /// End every step that has not started (pending or queued) with `status`, saying why.
    CloseUnstarted { status: StepStatus, why: String },
    /// Tell the agent running `work_id` to stop.
    StopWork { work_id: Uuid },
    /// Queue the step for an agent.
    Queue { step_id: Uuid },
    /// End the request.
    Finish {
        status: RequestStatus,
        reason: String,
    },
}

const CANCELLED: &str = "the request was cancelled";

/// What happens after a change to a request: steps whose dependencies succeeded are queued,
/// what can no longer run is closed, and the request ends once nothing is left to wait for.
/// A failure or cancellation waits for running steps to stop before the request ends.
pub(crate) fn advance(request: &RequestState, steps: &[StepState]) -> Vec<Transition> {
    use Transition::{Queue, StopWork};
    if request.finished {
        return Vec::new();
    }
    if request.status == RequestStatus::AwaitingApproval {
        // Only a cancellation moves an undecided request on.
        return if request.cancel_requested {
            vec![
                close(StepStatus::Skipped, CANCELLED),
                finish(RequestStatus::Cancelled, &request.status_reason),
            ]
        } else {
            Vec::new()
        };
    }
    let running = steps.iter().any(|step| step.status == StepStatus::Running);
    let unless_running = |transition: Transition| (!running).then_some(transition);
    if let Some(failed) = steps.iter().find(|step| step.status == StepStatus::Failed) {
        let reason = format!(
            "step {} ({}) failed: {}",
            failed.position,
            failed.title,
            failed.error.as_deref().unwrap_or("no error reported")
        );
        return [close(
            StepStatus::Skipped,
            &format!("step {} failed", failed.position),
        )]
        .into_iter()
        .chain(unless_running(finish(RequestStatus::Failed, &reason)))
        .collect();
    }
    if request.cancel_requested {
        let stop = steps
            .iter()
            .filter(|step| step.status == StepStatus::Running)
            .filter_map(|step| step.work_id)
            .map(|work_id| StopWork { work_id });
        return [close(StepStatus::Cancelled, CANCELLED)]
            .into_iter()
            .chain(stop)
            .chain(unless_running(finish(
                RequestStatus::Cancelled,
                &request.status_reason,
            )))
            .collect();
    }
    if steps
        .iter()
        .all(|step| step.status == StepStatus::Succeeded)
    {
        let reason = format!("all {} step(s) succeeded", steps.len());
        return vec![finish(RequestStatus::Succeeded, &reason)];
    }
    if let Some(cancelled) = steps
        .iter()
        .find(|step| step.status == StepStatus::Cancelled)
    {
        // A step stopped on its agent without anyone cancelling the request (the agent shut
        // down): what depends on it cannot run.
        let why = format!("step {} was cancelled", cancelled.position);
        return [close(StepStatus::Skipped, &why)]
            .into_iter()
            .chain(unless_running(finish(RequestStatus::Cancelled, &why)))
            .collect();
    }
    let succeeded = |position: &i32| {
        steps
            .iter()
            .any(|other| other.position == *position && other.status == StepStatus::Succeeded)
    };
    steps
        .iter()
        .filter(|step| step.status == StepStatus::Pending && step.depends_on.iter().all(succeeded))
        .map(|step| Queue { step_id: step.id })
        .collect()
}

fn close(status: StepStatus, why: &str) -> Transition {
    Transition::CloseUnstarted {
        status,
        why: why.to_owned(),
    }
}

fn finish(status: RequestStatus, reason: &str) -> Transition {
    Transition::Finish {
        status,
        reason: reason.to_owned(),
    }
}

/// Why a plan revision cannot take a decision (approve, reject, revise) now; `None` when it
/// can: it is the request's current revision, still proposed, and nobody is cancelling.
pub(crate) fn refuses_decision(
    request: &RequestState,
    current_revision: i32,
    revision: i32,
    plan_status: PlanStatus,
) -> Option<Refusal> {
    if revision != current_revision {
        return Some(Refusal::Superseded {
            by: current_revision,
        });
    }
    if plan_status != PlanStatus::Proposed || request.status != RequestStatus::AwaitingApproval {
        return Some(Refusal::Decided);
    }
    request.cancel_requested.then_some(Refusal::Cancelling)
}

/// Why a plan revision cannot take a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A later revision replaced it.
    Superseded { by: i32 },
    /// It was approved, rejected or revised already, or the request moved on.
    Decided,
    /// The request is being cancelled.
    Cancelling,
}

/// Who asks to run a work item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claimer<'a> {
    pub agent_id: &'a str,
    pub instance_id: &'a str,
}

/// A step as a claim sees it: its status and, once running, who runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimedStep<'a> {
    pub status: StepStatus,
    pub agent_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimDecision {
    /// The claimer starts the step now.
    Start,
    /// The claimer already runs it (a redelivered message); nothing changes.
    AlreadyRunning,
    /// Another agent process runs it, on agent `by`.
    HeldElsewhere { by: String },
    /// It must not run (any more).
    NotRunnable(String),
    /// It must run on `placed_on`; the claimer gives it back.
    OtherAgent { placed_on: String },
}

/// Decides a claim of a step's work item by `claimer`. `placed_on` is the agent placement
/// chose for the step, if it is bound to one.
pub(crate) fn claim(
    request: &RequestState,
    step: ClaimedStep<'_>,
    claimer: Claimer<'_>,
    placed_on: Option<&str>,
) -> ClaimDecision {
    if request.finished {
        return ClaimDecision::NotRunnable("the request has already ended".into());
    }
    match step.status {
        StepStatus::Queued if request.cancel_requested => {
            ClaimDecision::NotRunnable("the request is being cancelled".into())
        }
        StepStatus::Queued => match placed_on {
            Some(agent) if agent != claimer.agent_id => ClaimDecision::OtherAgent {
                placed_on: agent.to_owned(),
            },
            _ => ClaimDecision::Start,
        },
        StepStatus::Running if step.instance_id == Some(claimer.instance_id) => {
            ClaimDecision::AlreadyRunning
        }
        StepStatus::Running => ClaimDecision::HeldElsewhere {
            by: step.agent_id.unwrap_or("another agent").to_owned(),
        },
        status => ClaimDecision::NotRunnable(format!("the step is {status:?}, not queued")),
    }
}

/// The moment before which an online agent's last heartbeat means it went silent, at `now`, or
/// `None` while this process is younger than `offline_after`: agents could not reach it before
/// it started, so each gets a full period to say it is alive before its silence counts.
pub(crate) fn silent_before(
    now: chrono::DateTime<chrono::Utc>,
    started_at: chrono::DateTime<chrono::Utc>,
    offline_after: Duration,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let offline_after = chrono::Duration::from_std(offline_after).ok()?;
    let cutoff = now.checked_sub_signed(offline_after)?;
    (cutoff >= started_at).then_some(cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> RequestState {
        RequestState {
            status: RequestStatus::Running,
            cancel_requested: false,
            finished: false,
            status_reason: String::new(),
        }
    }

    fn step(position: i32, status: StepStatus, depends_on: &[i32]) -> StepState {
        StepState {
            id: Uuid::from_u128(position as u128),
            position,
            title: format!("step {position}"),
            status,
            depends_on: depends_on.to_vec(),
            work_id: Some(Uuid::from_u128(1000 + position as u128)),
            error: None,
        }
    }

    fn queued(steps: &[StepState]) -> Vec<i32> {
        advance(&running(), steps)
            .into_iter()
            .map(|transition| match transition {
                Transition::Queue { step_id } => step_id.as_u128() as i32,
                other => panic!("expected only queueing, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn approval_queues_the_steps_without_unmet_dependencies() {
        use StepStatus::Pending;
        let steps = [
            step(1, Pending, &[]),
            step(2, Pending, &[1]),
            step(3, Pending, &[]),
        ];
        assert_eq!(queued(&steps), vec![1, 3]);
    }

    #[test]
    fn a_step_is_queued_once_all_its_dependencies_succeeded() {
        use StepStatus::{Pending, Running, Succeeded};
        let waiting = [
            step(1, Succeeded, &[]),
            step(2, Running, &[]),
            step(3, Pending, &[1, 2]),
        ];
        assert!(queued(&waiting).is_empty());
        let ready = [
            step(1, Succeeded, &[]),
            step(2, Succeeded, &[]),
            step(3, Pending, &[1, 2]),
        ];
        assert_eq!(queued(&ready), vec![3]);
    }

    #[test]
    fn all_steps_succeeded_ends_the_request() {
        let steps = [
            step(1, StepStatus::Succeeded, &[]),
            step(2, StepStatus::Succeeded, &[1]),
        ];
        assert_eq!(
            advance(&running(), &steps),
            vec![finish(RequestStatus::Succeeded, "all 2 step(s) succeeded")]
        );
    }

    #[test]
    fn a_failure_skips_the_rest_and_ends_the_request_once_nothing_runs() {
        let mut failed = step(2, StepStatus::Failed, &[]);
        failed.error = Some("exit code 2".into());
        let skip = close(StepStatus::Skipped, "step 2 failed");
        let still_running = [step(1, StepStatus::Running, &[]), failed.clone()];
        assert_eq!(advance(&running(), &still_running), vec![skip.clone()]);
        let done = [step(1, StepStatus::Succeeded, &[]), failed];
        assert_eq!(
            advance(&running(), &done),
            vec![
                skip,
                finish(RequestStatus::Failed, "step 2 (step 2) failed: exit code 2")
            ]
        );
    }

    #[test]
    fn cancelling_a_running_request_stops_its_work_and_waits_for_it() {
        let request = RequestState {
            cancel_requested: true,
            status_reason: "cancelled: wrong host".into(),
            ..running()
        };
        let steps = [
            step(1, StepStatus::Running, &[]),
            step(2, StepStatus::Pending, &[1]),
        ];
        assert_eq!(
            advance(&request, &steps),
            vec![
                close(StepStatus::Cancelled, CANCELLED),
                Transition::StopWork {
                    work_id: Uuid::from_u128(1001)
                },
            ]
        );
        let stopped = [
            step(1, StepStatus::Cancelled, &[]),
            step(2, StepStatus::Cancelled, &[1]),
        ];
        assert_eq!(
            advance(&request, &stopped),
            vec![
                close(StepStatus::Cancelled, CANCELLED),
                finish(RequestStatus::Cancelled, "cancelled: wrong host"),
            ]
        );
    }

    #[test]
    fn cancelling_an_undecided_request_ends_it_at_once() {
        let request = RequestState {
            status: RequestStatus::AwaitingApproval,
            cancel_requested: true,
            status_reason: "cancelled: no reason given".into(),
            ..running()
        };
        let steps = [step(1, StepStatus::Pending, &[])];
        assert_eq!(
            advance(&request, &steps),
            vec![
                close(StepStatus::Skipped, CANCELLED),
                finish(RequestStatus::Cancelled, "cancelled: no reason given"),
            ]
        );
        let undecided = RequestState {
            cancel_requested: false,
            ..request
        };
        assert!(advance(&undecided, &steps).is_empty());
    }

    #[test]
    fn a_step_stopped_by_its_agent_cancels_what_depends_on_it() {
        let steps = [
            step(1, StepStatus::Cancelled, &[]),
            step(2, StepStatus::Pending, &[1]),
        ];
        assert_eq!(
            advance(&running(), &steps),
            vec![
                close(StepStatus::Skipped, "step 1 was cancelled"),
                finish(RequestStatus::Cancelled, "step 1 was cancelled"),
            ]
        );
    }

    #[test]
    fn an_ended_request_does_not_move() {
        let ended = RequestState {
            finished: true,
            ..running()
        };
        assert!(advance(&ended, &[step(1, StepStatus::Pending, &[])]).is_empty());
    }

    #[test]
    fn only_the_current_proposed_revision_takes_a_decision() {
        let undecided = RequestState {
            status: RequestStatus::AwaitingApproval,
            ..running()
        };
        assert_eq!(
            refuses_decision(&undecided, 2, 2, PlanStatus::Proposed),
            None
        );
        assert_eq!(
            refuses_decision(&undecided, 3, 2, PlanStatus::Proposed),
            Some(Refusal::Superseded { by: 3 })
        );
        assert_eq!(
            refuses_decision(&running(), 2, 2, PlanStatus::Approved),
            Some(Refusal::Decided)
        );
        let cancelling = RequestState {
            cancel_requested: true,
            ..undecided
        };
        assert_eq!(
            refuses_decision(&cancelling, 2, 2, PlanStatus::Proposed),
            Some(Refusal::Cancelling)
        );
    }

    #[test]
    fn the_first_claimer_starts_the_work_and_only_its_process_may_claim_again() {
        let me = Claimer {
            agent_id: "infra-1",
            instance_id: "a",
        };
        let queued = ClaimedStep {
            status: StepStatus::Queued,
            agent_id: None,
            instance_id: None,
        };
        assert_eq!(claim(&running(), queued, me, None), ClaimDecision::Start);
        let mine = ClaimedStep {
            status: StepStatus::Running,
            agent_id: Some("infra-1"),
            instance_id: Some("a"),
        };
        assert_eq!(
            claim(&running(), mine, me, None),
            ClaimDecision::AlreadyRunning
        );
        let other_process = Claimer {
            instance_id: "b",
            ..me
        };
        assert_eq!(
            claim(&running(), mine, other_process, None),
            ClaimDecision::HeldElsewhere {
                by: "infra-1".into()
            }
        );
    }

    #[test]
    fn placed_work_goes_back_from_any_other_agent() {
        let queued = ClaimedStep {
            status: StepStatus::Queued,
            agent_id: None,
            instance_id: None,
        };
        let other = Claimer {
            agent_id: "infra-2",
            instance_id: "b",
        };
        assert_eq!(
            claim(&running(), queued, other, Some("infra-1")),
            ClaimDecision::OtherAgent {
                placed_on: "infra-1".into()
            }
        );
        let owner = Claimer {
            agent_id: "infra-1",
            ..other
        };
        assert_eq!(
            claim(&running(), queued, owner, Some("infra-1")),
            ClaimDecision::Start
        );
    }

    #[test]
    fn no_work_starts_for_an_ended_or_cancelling_request() {
        let queued = ClaimedStep {
            status: StepStatus::Queued,
            agent_id: None,
            instance_id: None,
        };
        let me = Claimer {
            agent_id: "infra-1",
            instance_id: "a",
        };
        let cancelling = RequestState {
            cancel_requested: true,
            ..running()
        };
        assert!(matches!(
            claim(&cancelling, queued, me, None),
            ClaimDecision::NotRunnable(_)
        ));
        let ended = RequestState {
            finished: true,
            ..running()
        };
        assert!(matches!(
            claim(&ended, queued, me, None),
            ClaimDecision::NotRunnable(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_counts_only_after_a_full_period_of_this_process() {
        // The paused clock moves only when told, so the periods are exact.
        let offline_after = Duration::from_secs(30);
        let started = tokio::time::Instant::now();
        let started_at = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let wall = |instant: tokio::time::Instant| {
            started_at + chrono::Duration::from_std(instant - started).unwrap_or_default()
        };
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(
            silent_before(wall(tokio::time::Instant::now()), started_at, offline_after),
            None
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(
            silent_before(wall(tokio::time::Instant::now()), started_at, offline_after),
            Some(started_at + chrono::Duration::seconds(10))
        );
    }
}
