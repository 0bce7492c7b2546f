//! The changes that move a request through its life, each written with the events that report
//! it, inside the transaction the caller opened.
//!
//! What should happen is decided by [`crate::machine`]; these functions read the state it needs,
//! record its decisions through [`crate::store`] and collect the side effects (events to
//! announce, work to publish, work to stop) in [`Effects`] for after the commit.

use super::{Effects, PlanWithSteps};
use crate::convert;
use crate::domain::{
    ApprovalDecision, PlanRevision, PlanStatus, Request, RequestStatus, Step, StepAction,
    StepStatus,
};
use crate::error::{OrchestratorError, Result};
use crate::events::NewEvent;
use crate::machine::{self, Refusal, RequestState, StepState, Transition};
use crate::planner::{PlanDraft, RunOptions};
use crate::store::suggestions::FixOutcome;
use crate::store::{self, Transaction, steps::Outcome};
use crate::validate::display_name;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::RequestEventKind as Kind;
use uuid::Uuid;

/// What a new request records besides its text.
#[derive(Debug, Default)]
pub(super) struct RequestOrigin {
    pub run_options: RunOptions,
    pub rerun_of: Option<Uuid>,
    pub suggestion_id: Option<String>,
}

/// Records a new request, awaiting its first plan, and the event that says it was submitted.
pub(super) async fn insert_request(
    txn: &Transaction,
    fx: &mut Effects,
    text: &str,
    origin: RequestOrigin,
) -> Result<Request> {
    let stored = store::requests::NewRequest {
        run_options: origin.run_options,
        rerun_of: origin.rerun_of,
        suggestion_id: origin.suggestion_id,
    };
    let mut request = store::requests::insert(txn, text, stored).await?;
    let message = format!("request submitted: {text}");
    emit(
        txn,
        fx,
        &mut request,
        NewEvent::new(Kind::RequestSubmitted, message),
    )
    .await?;
    Ok(request)
}

/// Records `draft` as the request's next plan revision, proposed for approval.
pub(super) async fn propose(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    draft: &PlanDraft,
    feedback: &str,
    planner_name: &str,
) -> Result<PlanWithSteps> {
    let revision = request.current_plan_revision + 1;
    let plan =
        store::plans::insert(txn, request.id, revision, draft, feedback, planner_name).await?;
    request.current_plan_revision = revision;
    *request = store::requests::save(txn, request).await?;
    let message = format!(
        "plan revision {revision} proposed with {} step(s): {}",
        plan.steps.len(),
        draft.summary
    );
    emit(txn, fx, request, NewEvent::new(Kind::PlanProposed, message)).await?;
    Ok(plan)
}

/// Records the approval of `plan` by `approver`, starts the request and queues its first steps.
pub(super) async fn approve_revision(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    plan: PlanRevision,
    approver: &str,
    comment: &str,
) -> Result<PlanRevision> {
    let who = display_name(approver);
    store::plans::decide(txn, &plan, ApprovalDecision::Approved, who, comment).await?;
    let plan = store::plans::set_status(txn, plan, PlanStatus::Approved).await?;
    request.status = RequestStatus::Running;
    *request = store::requests::save(txn, request).await?;
    let message = format!("plan revision {} approved by {who}", plan.revision);
    emit(txn, fx, request, NewEvent::new(Kind::PlanApproved, message)).await?;
    advance(txn, fx, request).await?;
    Ok(plan)
}

/// Appends an event to the request's history and keeps it to announce after the commit.
pub(super) async fn emit(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    event: NewEvent,
) -> Result<()> {
    let recorded = store::events::record(txn, request, event).await?;
    fx.events.push(recorded);
    Ok(())
}

/// Locks the request of plan `plan_id` and checks the plan is its open revision, the only one
/// a decision may be about.
pub(super) async fn open_decision(
    txn: &Transaction,
    plan_id: Uuid,
) -> Result<(Request, PlanRevision)> {
    let found = store::plans::find(txn, plan_id).await?;
    let request = store::requests::lock(txn, found.request_id).await?;
    // Read again under the lock: a concurrent decision may have changed it.
    let plan = store::plans::find(txn, plan_id).await?;
    let refusal = machine::refuses_decision(
        &state(&request),
        request.current_plan_revision,
        plan.revision,
        plan.status,
    );
    match refusal {
        None => Ok((request, plan)),
        Some(refusal) => Err(refusal_error(refusal, &request, &plan)),
    }
}

/// What a caller is told when `plan` cannot take a decision.
pub(super) fn refusal_error(
    refusal: Refusal,
    request: &Request,
    plan: &PlanRevision,
) -> OrchestratorError {
    OrchestratorError::FailedPrecondition(match refusal {
        Refusal::Superseded { by } => format!(
            "plan revision {} is stale: revision {by} superseded it; review the latest revision",
            plan.revision
        ),
        Refusal::Decided => format!(
            "plan revision {} was already decided ({}); the request is {}",
            plan.revision,
            convert::plan_status_name(plan.status),
            convert::request_status_word(request.status)
        ),
        Refusal::Cancelling => "the request is being cancelled".into(),
    })
}

/// A decision that closes a plan revision without running it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Closing {
    Reject,
    Revise,
}

/// Records a reject or revise decision on the open revision `plan_id`: the revision's status,
/// its steps that will never run, and the event that says who decided and why. Returns the
/// locked request and the closed revision.
pub(super) async fn close_revision(
    txn: &Transaction,
    fx: &mut Effects,
    plan_id: Uuid,
    closing: Closing,
    decided_by: &str,
    note: &str,
) -> Result<(Request, PlanRevision)> {
    let (mut request, plan) = open_decision(txn, plan_id).await?;
    let who = display_name(decided_by);
    let (decision, status, why, kind, message) = match closing {
        Closing::Reject => (
            ApprovalDecision::Rejected,
            PlanStatus::Rejected,
            "the plan was rejected",
            Kind::PlanRejected,
            format!("plan revision {} rejected by {who}: {note}", plan.revision),
        ),
        Closing::Revise => (
            ApprovalDecision::RevisionRequested,
            PlanStatus::Superseded,
            "the plan was revised",
            Kind::PlanRevisionRequested,
            format!(
                "{who} asked for changes to revision {}: {note}",
                plan.revision
            ),
        ),
    };
    store::plans::decide(txn, &plan, decision, who, note).await?;
    let plan = store::plans::set_status(txn, plan, status).await?;
    close_unstarted(txn, fx, &mut request, plan.id, StepStatus::Skipped, why).await?;
    emit(txn, fx, &mut request, NewEvent::new(kind, message)).await?;
    Ok((request, plan))
}

/// Locks the request of the step whose work item is `work` (found as belonging to
/// `request_id` before the transaction) and reads the step again under the lock, since a
/// concurrent report may have changed it.
pub(super) async fn lock_work(
    txn: &Transaction,
    request_id: Uuid,
    work: Uuid,
) -> Result<(Request, Step)> {
    let request = store::requests::lock(txn, request_id).await?;
    let step = store::steps::find_by_work(txn, work)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
    Ok((request, step))
}

/// Ends every step of `plan_id` that has not started with `status`, recording why.
async fn close_unstarted(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    plan_id: Uuid,
    status: StepStatus,
    why: &str,
) -> Result<()> {
    for step in store::steps::not_started(txn, plan_id).await? {
        let (id, position, title) = (step.id, step.position, step.title.clone());
        let never_ran = FixOutcome::Failed(format!("the fix never ran: {why}"));
        settle_suggestion(txn, &step, never_ran).await?;
        store::steps::close(txn, &step, status).await?;
        let verb = if status == StepStatus::Cancelled {
            "cancelled"
        } else {
            "skipped"
        };
        let message = format!("step {position} ({title}) {verb}: {why}");
        emit(
            txn,
            fx,
            request,
            NewEvent::new(Kind::StepCancelled, message).step(id),
        )
        .await?;
    }
    Ok(())
}

/// Ends the request with `status`, saying why; its last event.
pub(super) async fn finish(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    status: RequestStatus,
    reason: String,
) -> Result<()> {
    let kind = match status {
        RequestStatus::Succeeded => Kind::RequestSucceeded,
        RequestStatus::Failed => Kind::RequestFailed,
        RequestStatus::Cancelled => Kind::RequestCancelled,
        RequestStatus::Rejected => Kind::RequestRejected,
        RequestStatus::AwaitingApproval | RequestStatus::Running => {
            return Err(OrchestratorError::corrupt(
                "request",
                "finished with an open status",
            ));
        }
    };
    let word = convert::request_status_word(status);
    let message = match reason.as_str() {
        "" => format!("request {word}"),
        reason => format!("request {word}: {reason}"),
    };
    request.status = status;
    request.status_reason = reason;
    request.finished_at = Some(chrono::Utc::now());
    *request = store::requests::save(txn, request).await?;
    emit(txn, fx, request, NewEvent::new(kind, message).ending()).await
}

/// Records a step's outcome as its agent reported it.
pub(super) async fn finish_step(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    step: Step,
    result: pb::WorkResult,
) -> Result<()> {
    let (status, kind, verb) = match result.status() {
        pb::WorkStatus::Succeeded => (StepStatus::Succeeded, Kind::StepSucceeded, "succeeded"),
        pb::WorkStatus::Cancelled => (StepStatus::Cancelled, Kind::StepCancelled, "was cancelled"),
        pb::WorkStatus::TimedOut => (StepStatus::Failed, Kind::StepFailed, "timed out"),
        pb::WorkStatus::Failed | pb::WorkStatus::Unspecified => {
            (StepStatus::Failed, Kind::StepFailed, "failed")
        }
    };
    let (id, position, title) = (step.id, step.position, step.title.clone());
    let error = (!result.error.is_empty()).then(|| result.error.clone());
    let fix = match (&result.commit, status) {
        (Some(commit), StepStatus::Succeeded) => FixOutcome::Applied(commit),
        (None, StepStatus::Succeeded) => {
            FixOutcome::Failed("the agent reported success but no commit".to_owned())
        }
        _ => FixOutcome::Failed(
            error
                .clone()
                .unwrap_or_else(|| format!("the step {verb} without an error message")),
        ),
    };
    settle_suggestion(txn, &step, fix).await?;
    let outcome = Outcome {
        status,
        exit_code: result.exit_code,
        error: error.clone(),
        result: &result,
    };
    store::steps::finish(txn, &step, outcome).await?;
    let message = match &error {
        Some(error) => format!("step {position} ({title}) {verb}: {error}"),
        None => format!("step {position} ({title}) {verb}"),
    };
    let mut event = NewEvent::new(kind, message).step(id);
    event.result = Some(result);
    emit(txn, fx, request, event).await
}

/// Records on its suggestion how an apply-suggestion step ended; other steps have none.
async fn settle_suggestion(txn: &Transaction, step: &Step, outcome: FixOutcome<'_>) -> Result<()> {
    match (step.action, &step.suggestion_id) {
        (StepAction::ApplySuggestion, Some(suggestion_id)) => {
            store::suggestions::settle(txn, suggestion_id, step.request_id, outcome).await
        }
        _ => Ok(()),
    }
}

/// Fails a running step whose agent process is gone, and moves its request on.
pub(super) async fn fail_running_step(
    txn: &Transaction,
    fx: &mut Effects,
    step: Step,
    error: &str,
) -> Result<()> {
    let mut request = store::requests::lock(txn, step.request_id).await?;
    // The step was read before the lock; its result may have been recorded since.
    let Some(current) = store::steps::find(txn, step.id).await? else {
        return Ok(());
    };
    if current.status != StepStatus::Running || current.instance_id != step.instance_id {
        return Ok(());
    }
    let step = current;
    let result = pb::WorkResult {
        work_id: step.work_id.map(|id| id.to_string()).unwrap_or_default(),
        request_id: step.request_id.to_string(),
        step_id: step.id.to_string(),
        agent_id: step.agent_id.clone().unwrap_or_default(),
        status: pb::WorkStatus::Failed as i32,
        exit_code: -1,
        error: error.to_owned(),
        finished_at: Some(convert::timestamp(chrono::Utc::now())),
        ..pb::WorkResult::default()
    };
    finish_step(txn, fx, &mut request, step, result).await?;
    advance(txn, fx, &mut request).await
}

/// The state machine's view of a request row.
pub(super) fn state(request: &Request) -> RequestState {
    RequestState {
        status: request.status,
        cancel_requested: request.cancel_requested_at.is_some(),
        finished: request.finished_at.is_some(),
        status_reason: request.status_reason.clone(),
    }
}

/// The state machine's view of a step row.
fn step_state(step: &Step) -> Result<StepState> {
    Ok(StepState {
        id: step.id,
        position: step.position,
        title: step.title.clone(),
        status: step.status,
        depends_on: step.depends_on.clone(),
        work_id: step.work_id,
        error: step.error.clone(),
    })
}

/// Moves the request on after a change: asks [`machine::advance`] what follows from the state
/// of its current revision and records it.
pub(super) async fn advance(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
) -> Result<()> {
    if request.finished_at.is_some() {
        return Ok(());
    }
    let plan = store::plans::current(txn, request).await?;
    let plan_id = plan.id;
    let steps = store::plans::with_steps(txn, plan).await?.steps;
    let states = steps.iter().map(step_state).collect::<Result<Vec<_>>>()?;
    for transition in machine::advance(&state(request), &states) {
        match transition {
            Transition::CloseUnstarted { status, why } => {
                close_unstarted(txn, fx, request, plan_id, status, &why).await?;
            }
            Transition::StopWork { work_id } => fx.cancel.push(pb::CancelWork {
                work_id: work_id.to_string(),
                request_id: request.id.to_string(),
                reason: request.status_reason.clone(),
            }),
            Transition::Queue { step_id } => {
                if let Some(step) = steps.iter().find(|step| step.id == step_id) {
                    queue_step(txn, fx, request, step.clone()).await?;
                }
            }
            Transition::Finish { status, reason } => {
                finish(txn, fx, request, status, reason).await?;
            }
        }
    }
    Ok(())
}

/// Queues a step for an agent and keeps it to publish after the commit.
async fn queue_step(
    txn: &Transaction,
    fx: &mut Effects,
    request: &mut Request,
    step: Step,
) -> Result<()> {
    let step = store::steps::queue(txn, &step).await?;
    let message = format!(
        "step {} ({}) queued for {} agents",
        step.position,
        step.title,
        chiffon_bus::agent_kind_slug(convert::agent_kind(step.agent_kind))
    );
    emit(
        txn,
        fx,
        request,
        NewEvent::new(Kind::StepQueued, message).step(step.id),
    )
    .await?;
    fx.dispatch.push(step.id);
    Ok(())
}
