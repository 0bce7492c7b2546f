//! Requests and their plan revisions: submit, look up, approve, reject, revise, cancel, watch.

use super::lifecycle::{
    Closing, RequestOrigin, advance, approve_revision, close_revision, emit, finish,
    insert_request, open_decision, propose, refusal_error,
};
use super::{Effects, Orchestrator, PlanWithSteps};
use crate::convert;
use crate::domain::{PlanStatus, Request, RequestStatus};
use crate::error::{OrchestratorError, Result};
use crate::events::NewEvent;
use crate::machine;
use crate::planner::Planning;
use crate::store;
use crate::validate::{
    MAX_NOTE, MAX_REQUEST_TEXT, check_length, display_name, page_cursor, page_size_within,
    required_note, split_page,
};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::RequestEventKind as Kind;
use chiffon_types::RunOptions;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Default and largest page of `list_requests`.
const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;

impl Orchestrator {
    /// Records a request and its first plan revision; `run_options` go to every playbook step.
    pub async fn submit(
        &self,
        text: &str,
        run_options: RunOptions,
    ) -> Result<(Request, PlanWithSteps)> {
        let text = text.trim();
        if text.is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "the request text is empty: say what you want done, e.g. \"Deploy Uptime Kuma\""
                    .into(),
            ));
        }
        check_length("request text", text, MAX_REQUEST_TEXT)?;
        self.check_inventory(&run_options.inventory).await?;
        let planner = &self.config().planner;
        let draft = planner
            .plan(&Planning {
                text,
                feedback: "",
                catalog: &self.catalog().await?,
                threshold: self.config().match_threshold,
                options: &run_options,
            })
            .await?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let origin = RequestOrigin {
            run_options,
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, text, origin).await?;
        let plan = propose(&txn, &mut fx, &mut request, &draft, "", planner.name()).await?;
        self.commit(txn, fx).await?;
        Ok((request, plan))
    }

    /// One request.
    pub async fn get_request(&self, id: Uuid) -> Result<Request> {
        store::requests::find(self.db(), id).await
    }

    /// A page of requests, newest first, and the token of the next page.
    pub async fn list_requests(
        &self,
        page_size: i32,
        page_token: &str,
        status: Option<RequestStatus>,
    ) -> Result<(Vec<Request>, String)> {
        let size = page_size_within(page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let after = page_cursor(page_token)?;
        let rows = store::requests::page(self.db(), after, status, size + 1).await?;
        let (rows, next) = split_page(rows, size, |row| row.id);
        Ok((rows, next))
    }

    /// A plan revision of a request; revision 0 is the latest.
    pub async fn get_plan(&self, id: Uuid, revision: i32) -> Result<PlanWithSteps> {
        let request = store::requests::find(self.db(), id).await?;
        let revision = match revision {
            0 => request.current_plan_revision,
            revision if revision < 0 => {
                return Err(OrchestratorError::InvalidArgument(format!(
                    "revision must be 0 (latest) or a revision number, got {revision}"
                )));
            }
            revision => revision,
        };
        let plan = store::plans::revision(self.db(), id, revision).await?;
        store::plans::with_steps(self.db(), plan).await
    }

    /// Approves one plan revision, bound to the content hash the approver reviewed, and starts
    /// its first steps.
    pub async fn approve(
        &self,
        id: Uuid,
        content_hash: &str,
        approver: &str,
        comment: &str,
    ) -> Result<(Request, PlanWithSteps)> {
        if content_hash.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "content_hash is required: pass the content_hash of the plan revision you reviewed"
                    .into(),
            ));
        }
        check_length("comment", comment, MAX_NOTE)?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let (mut request, plan) = open_decision(&txn, id).await?;
        if plan.content_hash != content_hash.trim() {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "plan revision {} has content hash {}, not {}: review the plan again before approving",
                plan.revision,
                plan.content_hash,
                content_hash.trim()
            )));
        }
        let plan = store::plans::with_steps(&txn, plan).await?;
        if let Some(step) = plan.steps.iter().find(|step| step.custom_playbook_needed) {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} (\"{}\") has no playbook in the catalog; add one and revise the plan",
                step.position, step.title
            )));
        }
        let plan_row =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, comment).await?;
        self.commit(txn, fx).await?;
        let plan = store::plans::with_steps(self.db(), plan_row).await?;
        Ok((request, plan))
    }

    /// Rejects one plan revision; the request ends as rejected.
    pub async fn reject(&self, id: Uuid, reason: &str, approver: &str) -> Result<Request> {
        let reason = required_note("reason", reason)?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let (mut request, _) =
            close_revision(&txn, &mut fx, id, Closing::Reject, approver, reason).await?;
        let who = display_name(approver);
        finish(
            &txn,
            &mut fx,
            &mut request,
            RequestStatus::Rejected,
            format!("rejected by {who}: {reason}"),
        )
        .await?;
        self.commit(txn, fx).await?;
        Ok(request)
    }

    /// Plans the request again with reviewer feedback; the reviewed revision is superseded.
    ///
    /// The planner runs before the transaction: the decision is checked without a lock first
    /// (so a plan that cannot be revised is not planned), and again under the lock, where a
    /// revision decided or cancelled while the planner worked refuses the new plan.
    pub async fn revise(&self, id: Uuid, feedback: &str, approver: &str) -> Result<PlanWithSteps> {
        let note = required_note("feedback", feedback)?;
        let reviewed = store::plans::find(self.db(), id).await?;
        let request = store::requests::find(self.db(), reviewed.request_id).await?;
        if let Some(refusal) = machine::refuses_decision(
            &super::lifecycle::state(&request),
            request.current_plan_revision,
            reviewed.revision,
            reviewed.status,
        ) {
            return Err(refusal_error(refusal, &request, &reviewed));
        }
        let feedback = [reviewed.feedback.as_str(), note]
            .into_iter()
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let planner = &self.config().planner;
        let draft = planner
            .plan(&Planning {
                text: &request.text,
                feedback: &feedback,
                catalog: &self.catalog().await?,
                threshold: self.config().match_threshold,
                options: &request.run_options,
            })
            .await?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let (mut request, _) =
            close_revision(&txn, &mut fx, id, Closing::Revise, approver, note).await?;
        let revised = propose(
            &txn,
            &mut fx,
            &mut request,
            &draft,
            &feedback,
            planner.name(),
        )
        .await?;
        self.commit(txn, fx).await?;
        Ok(revised)
    }

    /// Cancels a request: undecided plans and steps that did not start are cancelled, running
    /// steps are told to stop and the request ends once they have.
    pub async fn cancel(&self, id: Uuid, reason: &str) -> Result<Request> {
        check_length("reason", reason, MAX_NOTE)?;
        let reason = match reason.trim() {
            "" => "no reason given",
            reason => reason,
        };
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let mut request = store::requests::lock(&txn, id).await?;
        match request.status {
            RequestStatus::AwaitingApproval | RequestStatus::Running => {}
            status => {
                return Err(OrchestratorError::FailedPrecondition(format!(
                    "request {id} already ended ({}); there is nothing to cancel",
                    convert::request_status_word(status)
                )));
            }
        }
        if request.cancel_requested_at.is_some() {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "request {id} is already being cancelled; its running steps are stopping"
            )));
        }
        request.cancel_requested_at = Some(chrono::Utc::now());
        request.status_reason = format!("cancelled: {reason}");
        request = store::requests::save(&txn, &request).await?;
        emit(
            &txn,
            &mut fx,
            &mut request,
            NewEvent::new(Kind::CancelRequested, format!("cancel requested: {reason}")),
        )
        .await?;
        if request.status == RequestStatus::AwaitingApproval {
            let plan = store::plans::current(&txn, &request).await?;
            store::plans::set_status(&txn, plan, PlanStatus::Cancelled).await?;
        }
        advance(&txn, &mut fx, &mut request).await?;
        self.commit(txn, fx).await?;
        Ok(request)
    }

    /// Streams a request's events after `after_sequence`.
    pub async fn watch(
        &self,
        id: Uuid,
        after_sequence: i64,
    ) -> Result<mpsc::Receiver<Result<pb::RequestEvent>>> {
        if after_sequence < 0 {
            return Err(OrchestratorError::InvalidArgument(format!(
                "after_sequence must not be negative, got {after_sequence}"
            )));
        }
        store::requests::find(self.db(), id).await?;
        Ok(self.inner.hub.watch(
            self.db().clone(),
            id,
            after_sequence,
            &self.inner.tasks,
            self.inner.shutdown.clone(),
        ))
    }
}
