//! The orchestrator's state machine: requests, plan revisions, approvals, steps and their work.
//!
//! Every operation runs in one database transaction that first locks the request row it changes,
//! so concurrent operations on one request apply one after another and each records its events
//! with consecutive sequence numbers. Side effects outside the database (waking watchers,
//! publishing work, broadcasting cancellations) are collected in [`Effects`] and happen only
//! after the commit; work that was committed as queued but not yet published is published again
//! on start, which is safe because agents claim work before running it.

use crate::catalog::{CatalogReport, validate_catalog, validate_inventory_name};
use crate::convert;
use crate::error::{OrchestratorError, Result};
use crate::events::{self, EventHub, NewEvent};
use crate::mapping;
use crate::planner::{self, PlanDraft, RunOptions, StepDraft};
use chiffon_bus::{Bus, BusMessage, Destination, Envelope};
use chiffon_entity::{
    AgentKind, AgentStatus, ApprovalDecision, PlanStatus, RequestStatus, StepAction, StepStatus,
    SuggestionStatus, agent, approval, catalog_issue, catalog_playbook, plan, request, step,
    suggestion,
};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::RequestEventKind as Kind;
use prost::Message as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    TransactionTrait as _,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// Longest request text accepted, in characters.
pub const MAX_REQUEST_TEXT: usize = 4000;
/// Longest reason, comment or feedback accepted, in characters.
const MAX_NOTE: usize = 4000;
/// Default and largest page of `list_requests`.
const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;
/// Longest `--limit` host pattern accepted, in characters.
pub const MAX_LIMIT_PATTERN: usize = 1000;
/// Most `--tags` a request may name.
pub const MAX_TAGS: usize = 50;
/// Name recorded as the planner of the plans that apply an accepted suggestion.
const SUGGESTION_PLANNER: &str = "suggestion";
/// Name recorded as the planner of the plans that re-run failed hosts.
const RERUN_PLANNER: &str = "rerun";

/// Settings of the orchestrator's state machine.
#[derive(Debug, Clone)]
pub struct OrchestratorConfig {
    /// How often agents are asked to send a heartbeat.
    pub heartbeat_interval: Duration,
    /// An agent silent for this long is offline, and the work it was running fails.
    pub agent_offline_after: Duration,
    /// The confidence (0 to 1) a catalog playbook needs to be used for a task; below it the
    /// answer is "no playbook fits". See [`mapping::DEFAULT_THRESHOLD`] for how the default was
    /// chosen.
    pub match_threshold: f64,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(5),
            agent_offline_after: Duration::from_secs(30),
            match_threshold: mapping::DEFAULT_THRESHOLD,
        }
    }
}

/// A plan revision with its steps, in order.
#[derive(Debug, Clone)]
pub struct PlanWithSteps {
    /// The revision.
    pub plan: plan::Model,
    /// Its steps by position.
    pub steps: Vec<step::Model>,
}

/// What an agent must do with a work item it tried to claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run it.
    Granted,
    /// Another agent process holds it.
    HeldElsewhere(String),
    /// It must not run (any more).
    NotRunnable(String),
    /// It must run on another agent; the claimer gives the message back to the queue.
    OtherAgent(String),
}

/// Side effects of a committed transaction.
#[derive(Default)]
struct Effects {
    events: Vec<pb::RequestEvent>,
    dispatch: Vec<Uuid>,
    cancel: Vec<pb::CancelWork>,
}

/// Handle to the orchestrator; cheap to clone.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    hub: EventHub,
    dispatch: mpsc::UnboundedSender<Uuid>,
    config: OrchestratorConfig,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    started_at: chrono::DateTime<chrono::Utc>,
}

impl Orchestrator {
    /// Starts the orchestrator's background work (publishing queued steps, consuming the status
    /// queue, watching agent heartbeats) on a migrated database. Everything stops when
    /// `shutdown` is cancelled; [`Orchestrator::stopped`] waits for it.
    pub async fn start(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        config: OrchestratorConfig,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let (dispatch, to_dispatch) = mpsc::unbounded_channel();
        let orchestrator = Self {
            inner: Arc::new(Inner {
                db,
                bus,
                hub: EventHub::new(),
                dispatch,
                config,
                tasks: TaskTracker::new(),
                shutdown,
                started_at: chrono::Utc::now(),
            }),
        };
        let status = orchestrator
            .inner
            .bus
            .subscribe(Destination::Status)
            .await?;
        let tasks = &orchestrator.inner.tasks;
        tasks.spawn(crate::dispatch::run(orchestrator.clone(), to_dispatch));
        tasks.spawn(crate::status::run(orchestrator.clone(), status));
        tasks.spawn(crate::reaper::run(orchestrator.clone()));
        orchestrator.requeue_unpublished().await?;
        Ok(orchestrator)
    }

    /// Waits until every background task has stopped (after shutdown was requested).
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub(crate) fn bus(&self) -> &Arc<dyn Bus> {
        &self.inner.bus
    }

    pub(crate) fn config(&self) -> &OrchestratorConfig {
        &self.inner.config
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Re-sends steps that were committed as queued; the previous process may have stopped
    /// before publishing them.
    async fn requeue_unpublished(&self) -> Result<()> {
        for step_id in self.unclaimed_steps(Duration::ZERO).await? {
            let _ = self.inner.dispatch.send(step_id);
        }
        Ok(())
    }

    /// Steps queued at least `waiting` ago that no agent has claimed.
    pub(crate) async fn unclaimed_steps(&self, waiting: Duration) -> Result<Vec<Uuid>> {
        let queued_before = chrono::Utc::now()
            - chrono::Duration::from_std(waiting).unwrap_or(chrono::Duration::zero());
        let queued = step::Entity::find()
            .filter(step::Column::Status.eq(StepStatus::Queued))
            .filter(step::Column::QueuedAt.lte(queued_before))
            .all(self.db())
            .await?;
        Ok(queued.into_iter().map(|step| step.id).collect())
    }

    async fn commit(&self, txn: DatabaseTransaction, effects: Effects) -> Result<()> {
        txn.commit().await?;
        self.inner.hub.publish(effects.events);
        for step_id in effects.dispatch {
            // The dispatcher only stops at shutdown; the step stays queued and is sent on start.
            let _ = self.inner.dispatch.send(step_id);
        }
        for cancel in effects.cancel {
            let envelope = Envelope {
                correlation_id: cancel.request_id.clone(),
                idempotency_key: format!("cancel:{}", cancel.work_id),
                ..Envelope::default()
            };
            if let Err(error) = self
                .bus()
                .publish(
                    Destination::Control,
                    BusMessage::CancelWork(cancel),
                    envelope,
                )
                .await
            {
                // Heartbeats carry the same instruction, so the agent still learns about it.
                tracing::warn!(%error, "broadcasting a cancellation failed; heartbeats will carry it");
            }
        }
        Ok(())
    }

    // ----- requests and plans -----

    /// Records a request and its first plan revision; `run_options` (validated here) go to
    /// every playbook step.
    pub async fn submit(
        &self,
        text: &str,
        run_options: Option<&pb::RunOptions>,
    ) -> Result<(request::Model, PlanWithSteps)> {
        let run_options = validate_run_options(run_options)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "the request text is empty: say what you want done, e.g. \"Deploy Uptime Kuma\""
                    .into(),
            ));
        }
        check_length("request text", text, MAX_REQUEST_TEXT)?;
        self.check_inventory(&run_options.inventory).await?;
        let draft = planner::plan_request(&planner::Planning {
            text,
            feedback: "",
            catalog: &self.catalog().await?,
            threshold: self.config().match_threshold,
            options: &run_options,
        });

        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let origin = RequestOrigin {
            run_options,
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, text, origin).await?;
        let plan = insert_plan(
            &txn,
            &mut fx,
            &mut request,
            &draft,
            "",
            planner::CATALOG_PLANNER,
        )
        .await?;
        self.commit(txn, fx).await?;
        Ok((request, plan))
    }

    /// One request.
    pub async fn get_request(&self, request_id: &str) -> Result<request::Model> {
        let id = parse_id("request_id", request_id)?;
        find_request(self.db(), id).await
    }

    /// A page of requests, newest first, and the token of the next page.
    pub async fn list_requests(
        &self,
        page_size: i32,
        page_token: &str,
        status: Option<RequestStatus>,
    ) -> Result<(Vec<request::Model>, String)> {
        let size = page_size_within(page_size, DEFAULT_PAGE, MAX_PAGE)?;
        // Request ids are UUIDv7, ordered by creation time, so the last id is the page cursor.
        let mut query = request::Entity::find().order_by_desc(request::Column::Id);
        if let Some(after) = page_cursor(page_token)? {
            query = query.filter(request::Column::Id.lt(after));
        }
        if let Some(status) = status {
            query = query.filter(request::Column::Status.eq(status));
        }
        let rows = query.limit(size + 1).all(self.db()).await?;
        let (rows, next) = split_page(rows, size, |row| row.id);
        Ok((rows, next))
    }

    /// A plan revision of a request; revision 0 is the latest.
    pub async fn get_plan(&self, request_id: &str, revision: i32) -> Result<PlanWithSteps> {
        let id = parse_id("request_id", request_id)?;
        let request = find_request(self.db(), id).await?;
        let revision = match revision {
            0 => request.current_plan_revision,
            revision if revision < 0 => {
                return Err(OrchestratorError::InvalidArgument(format!(
                    "revision must be 0 (latest) or a revision number, got {revision}"
                )));
            }
            revision => revision,
        };
        let plan = plan::Entity::find()
            .filter(plan::Column::RequestId.eq(id))
            .filter(plan::Column::Revision.eq(revision))
            .one(self.db())
            .await?
            .ok_or_else(|| {
                OrchestratorError::not_found("plan revision", format!("{revision} of request {id}"))
            })?;
        with_steps(self.db(), plan).await
    }

    /// Approves one plan revision, bound to the content hash the approver reviewed, and starts
    /// its first steps.
    pub async fn approve(
        &self,
        plan_id: &str,
        content_hash: &str,
        approver: &str,
        comment: &str,
    ) -> Result<(request::Model, PlanWithSteps)> {
        let id = parse_id("plan_id", plan_id)?;
        if content_hash.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "content_hash is required: pass the content_hash of the plan revision you reviewed"
                    .into(),
            ));
        }
        check_length("comment", comment, MAX_NOTE)?;
        let txn = self.db().begin().await?;
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
        let plan = with_steps(&txn, plan).await?;
        if let Some(step) = plan.steps.iter().find(|step| step.custom_playbook_needed) {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} (\"{}\") has no playbook in the catalog; add one and revise the plan",
                step.position, step.title
            )));
        }
        let plan_row =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, comment).await?;
        self.commit(txn, fx).await?;
        let plan = with_steps(self.db(), plan_row).await?;
        Ok((request, plan))
    }

    /// Rejects one plan revision; the request ends as rejected.
    pub async fn reject(
        &self,
        plan_id: &str,
        reason: &str,
        approver: &str,
    ) -> Result<request::Model> {
        let id = parse_id("plan_id", plan_id)?;
        let reason = required_note("reason", reason)?;
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let (mut request, plan) = open_decision(&txn, id).await?;
        close_revision(
            &txn,
            &mut fx,
            &mut request,
            plan,
            Closing::Reject,
            approver,
            reason,
        )
        .await?;
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
    pub async fn revise(
        &self,
        plan_id: &str,
        feedback: &str,
        approver: &str,
    ) -> Result<PlanWithSteps> {
        let id = parse_id("plan_id", plan_id)?;
        let feedback = required_note("feedback", feedback)?;
        let catalog = self.catalog().await?;
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let (mut request, plan) = open_decision(&txn, id).await?;
        let plan = close_revision(
            &txn,
            &mut fx,
            &mut request,
            plan,
            Closing::Revise,
            approver,
            feedback,
        )
        .await?;
        let feedback = [plan.feedback.as_str(), feedback]
            .into_iter()
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let run_options = convert::stored_run_options(&request.run_options)?;
        let draft = planner::plan_request(&planner::Planning {
            text: &request.text,
            feedback: &feedback,
            catalog: &catalog,
            threshold: self.config().match_threshold,
            options: &run_options,
        });
        let revised = insert_plan(
            &txn,
            &mut fx,
            &mut request,
            &draft,
            &feedback,
            &plan.planner,
        )
        .await?;
        self.commit(txn, fx).await?;
        Ok(revised)
    }

    /// Cancels a request: undecided plans and steps that did not start are cancelled, running
    /// steps are told to stop and the request ends once they have.
    pub async fn cancel(&self, request_id: &str, reason: &str) -> Result<request::Model> {
        let id = parse_id("request_id", request_id)?;
        check_length("reason", reason, MAX_NOTE)?;
        let reason = match reason.trim() {
            "" => "no reason given",
            reason => reason,
        };
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let mut request = lock_request(&txn, id).await?;
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
        request = save_request(&txn, request).await?;
        emit(
            &txn,
            &mut fx,
            &mut request,
            NewEvent::new(Kind::CancelRequested, format!("cancel requested: {reason}")),
        )
        .await?;
        if request.status == RequestStatus::AwaitingApproval {
            let plan = current_plan(&txn, &request).await?;
            set_plan_status(&txn, plan, PlanStatus::Cancelled).await?;
        }
        advance(&txn, &mut fx, &mut request).await?;
        self.commit(txn, fx).await?;
        Ok(request)
    }

    /// Streams a request's events after `after_sequence`.
    pub async fn watch(
        &self,
        request_id: &str,
        after_sequence: i64,
    ) -> Result<mpsc::Receiver<Result<pb::RequestEvent>>> {
        let id = parse_id("request_id", request_id)?;
        if after_sequence < 0 {
            return Err(OrchestratorError::InvalidArgument(format!(
                "after_sequence must not be negative, got {after_sequence}"
            )));
        }
        find_request(self.db(), id).await?;
        Ok(self.inner.hub.watch(
            self.db().clone(),
            id,
            after_sequence,
            &self.inner.tasks,
            self.inner.shutdown.clone(),
        ))
    }

    /// Every playbook the registered infrastructure agents reported, one per path (when
    /// several agents report a path, the one with the smallest agent id).
    pub(crate) async fn catalog(&self) -> Result<Vec<pb::Playbook>> {
        let mut playbooks = self.catalog_entries(None).await?;
        playbooks.dedup_by(|a, b| a.path == b.path);
        Ok(playbooks)
    }

    /// The catalog entries of infrastructure agents (of `agent_id` only, when given), by path
    /// and then agent.
    pub(crate) async fn catalog_entries(
        &self,
        agent_id: Option<&str>,
    ) -> Result<Vec<pb::Playbook>> {
        let mut query = catalog_playbook::Entity::find()
            .inner_join(agent::Entity)
            .filter(agent::Column::Kind.eq(AgentKind::Infra))
            .order_by_asc(catalog_playbook::Column::Path)
            .order_by_asc(catalog_playbook::Column::AgentId);
        if let Some(agent_id) = agent_id {
            query = query.filter(catalog_playbook::Column::AgentId.eq(agent_id.to_owned()));
        }
        let rows = query.all(self.db()).await?;
        rows.iter().map(convert::catalog_playbook).collect()
    }

    // ----- agents -----

    /// Records an agent process and its catalog. Work an earlier process of the same agent was
    /// running fails: that process is gone.
    pub async fn register_agent(
        &self,
        registration: pb::RegisterAgentRequest,
    ) -> Result<agent::Model> {
        validate_agent_id(&registration.agent_id)?;
        let kind = convert::agent_kind_filter(registration.kind()).ok_or_else(|| {
            OrchestratorError::InvalidArgument(
                "kind is required: AGENT_KIND_INFRA or AGENT_KIND_DESKTOP".into(),
            )
        })?;
        if registration.instance_id.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "instance_id is required: a fresh UUID for every agent process".into(),
            ));
        }
        let catalog = CatalogReport {
            playbooks: &registration.playbooks,
            issues: &registration.catalog_issues,
            inventories: &registration.inventories,
        };
        validate_catalog(&catalog)?;
        let now = chrono::Utc::now();
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let row = agent::ActiveModel {
            id: Set(registration.agent_id.clone()),
            kind: Set(kind),
            hostname: Set(registration.hostname.clone()),
            version: Set(registration.version.clone()),
            instance_id: Set(registration.instance_id.clone()),
            status: Set(AgentStatus::Online),
            registered_at: Set(now),
            last_seen_at: Set(now),
            inventories: Set(convert::inventories_json(catalog.inventories)),
        };
        let agent = match agent::Entity::find_by_id(registration.agent_id.clone())
            .one(&txn)
            .await?
        {
            Some(_) => row.update(&txn).await?,
            None => row.insert(&txn).await?,
        };
        replace_catalog(&txn, &agent.id, &catalog).await?;
        let orphaned = step::Entity::find()
            .filter(step::Column::AgentId.eq(agent.id.clone()))
            .filter(step::Column::Status.eq(StepStatus::Running))
            .filter(step::Column::InstanceId.ne(registration.instance_id.clone()))
            .all(&txn)
            .await?;
        for step in orphaned {
            let error = format!("agent {} restarted while running this step", agent.id);
            fail_running_step(&txn, &mut fx, step, &error).await?;
        }
        self.commit(txn, fx).await?;
        tracing::info!(agent_id = %agent.id, kind = ?agent.kind, "agent registered");
        Ok(agent)
    }

    /// Notes that an agent process is alive and returns the running work it must stop.
    pub async fn heartbeat(
        &self,
        agent_id: &str,
        instance_id: &str,
        running_work_ids: &[String],
    ) -> Result<Vec<String>> {
        let agent = agent::Entity::find_by_id(agent_id.to_owned())
            .one(self.db())
            .await?
            .filter(|agent| agent.instance_id == instance_id)
            .ok_or_else(|| OrchestratorError::UnknownAgent {
                agent_id: agent_id.to_owned(),
                instance_id: instance_id.to_owned(),
            })?;
        let mut active: agent::ActiveModel = agent.into();
        active.last_seen_at = Set(chrono::Utc::now());
        active.status = Set(AgentStatus::Online);
        active.update(self.db()).await?;
        let mut stop = Vec::new();
        for work_id in running_work_ids {
            let keep = match Uuid::parse_str(work_id) {
                Ok(id) => self.still_wanted(id, instance_id).await?,
                Err(_) => false,
            };
            if !keep {
                stop.push(work_id.clone());
            }
        }
        Ok(stop)
    }

    /// Replaces an agent process's catalog, catalog issues and inventories after its
    /// repository changed; returns the catalog's size.
    pub async fn report_catalog(
        &self,
        agent_id: &str,
        instance_id: &str,
        catalog: &CatalogReport<'_>,
    ) -> Result<usize> {
        validate_catalog(catalog)?;
        let txn = self.db().begin().await?;
        let agent = find_agent_process(&txn, agent_id, instance_id).await?;
        replace_catalog(&txn, agent_id, catalog).await?;
        let mut agent: agent::ActiveModel = agent.into();
        agent.inventories = Set(convert::inventories_json(catalog.inventories));
        agent.update(&txn).await?;
        txn.commit().await?;
        tracing::info!(
            %agent_id,
            playbooks = catalog.playbooks.len(),
            issues = catalog.issues.len(),
            inventories = catalog.inventories.len(),
            "agent catalog updated"
        );
        Ok(catalog.playbooks.len())
    }

    /// Whether running work `work_id` should go on in agent process `instance_id`.
    async fn still_wanted(&self, work_id: Uuid, instance_id: &str) -> Result<bool> {
        let Some(step) = find_step_by_work(self.db(), work_id).await? else {
            return Ok(false);
        };
        let request = find_request(self.db(), step.request_id).await?;
        Ok(step.status == StepStatus::Running
            && step.instance_id.as_deref() == Some(instance_id)
            && request.cancel_requested_at.is_none())
    }

    /// Known agents with the size of their catalogs.
    pub async fn list_agents(
        &self,
        kind: Option<AgentKind>,
        status: Option<AgentStatus>,
    ) -> Result<Vec<(agent::Model, usize)>> {
        let mut query = agent::Entity::find().order_by_asc(agent::Column::Id);
        if let Some(kind) = kind {
            query = query.filter(agent::Column::Kind.eq(kind));
        }
        if let Some(status) = status {
            query = query.filter(agent::Column::Status.eq(status));
        }
        let mut agents = Vec::new();
        for agent in query.all(self.db()).await? {
            let count = catalog_playbook::Entity::find()
                .filter(catalog_playbook::Column::AgentId.eq(agent.id.clone()))
                .count(self.db())
                .await?;
            agents.push((agent, count as usize));
        }
        Ok(agents)
    }

    /// Gives a work item to the agent process that asks first; every later ask is refused.
    pub async fn claim_work(
        &self,
        work_id: &str,
        agent_id: &str,
        instance_id: &str,
    ) -> Result<Claim> {
        let work = parse_id("work_id", work_id)?;
        let registered = agent::Entity::find_by_id(agent_id.to_owned())
            .one(self.db())
            .await?
            .is_some_and(|agent| agent.instance_id == instance_id);
        if !registered {
            return Err(OrchestratorError::UnknownAgent {
                agent_id: agent_id.to_owned(),
                instance_id: instance_id.to_owned(),
            });
        }
        let Some(found) = find_step_by_work(self.db(), work).await? else {
            return Ok(Claim::NotRunnable(format!(
                "work {work} is not a current work item"
            )));
        };
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let mut request = lock_request(&txn, found.request_id).await?;
        let step = find_step_by_work(&txn, work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        let claim = match step.status {
            _ if request.finished_at.is_some() => {
                Claim::NotRunnable("the request has already ended".into())
            }
            StepStatus::Queued if request.cancel_requested_at.is_some() => {
                Claim::NotRunnable("the request is being cancelled".into())
            }
            StepStatus::Queued
                if let Some(owner) = required_agent(&txn, &step).await?
                    && owner != agent_id =>
            {
                Claim::OtherAgent(format!(
                    "it changes the repository of {owner}, so only {owner} can run it"
                ))
            }
            StepStatus::Queued => {
                let mut active: step::ActiveModel = step.clone().into();
                active.status = Set(StepStatus::Running);
                active.agent_id = Set(Some(agent_id.to_owned()));
                active.instance_id = Set(Some(instance_id.to_owned()));
                active.started_at = Set(Some(chrono::Utc::now()));
                active.update(&txn).await?;
                let message = format!(
                    "step {} ({}) started on {agent_id}",
                    step.position, step.title
                );
                emit(
                    &txn,
                    &mut fx,
                    &mut request,
                    NewEvent::new(Kind::StepStarted, message).step(step.id),
                )
                .await?;
                Claim::Granted
            }
            StepStatus::Running if step.instance_id.as_deref() == Some(instance_id) => {
                Claim::Granted
            }
            StepStatus::Running => Claim::HeldElsewhere(format!(
                "work {work} runs on {}",
                step.agent_id.as_deref().unwrap_or("another agent")
            )),
            status => Claim::NotRunnable(format!("the step is {status:?}, not queued")),
        };
        self.commit(txn, fx).await?;
        Ok(claim)
    }

    /// Marks agents that stopped sending heartbeats offline and fails the work they held.
    pub(crate) async fn reap_silent_agents(&self) -> Result<()> {
        let offline_after = chrono::Duration::from_std(self.config().agent_offline_after)
            .unwrap_or(chrono::Duration::seconds(30));
        let silent_since = chrono::Utc::now() - offline_after;
        if silent_since < self.inner.started_at {
            // Agents could not reach this process before it started: give them a full period
            // to say they are alive before holding their silence against them.
            return Ok(());
        }
        let silent = agent::Entity::find()
            .filter(agent::Column::Status.eq(AgentStatus::Online))
            .filter(agent::Column::LastSeenAt.lt(silent_since))
            .all(self.db())
            .await?;
        for agent in silent {
            tracing::warn!(agent_id = %agent.id, "agent stopped sending heartbeats; marking it offline");
            let txn = self.db().begin().await?;
            let mut fx = Effects::default();
            let held = step::Entity::find()
                .filter(step::Column::AgentId.eq(agent.id.clone()))
                .filter(step::Column::Status.eq(StepStatus::Running))
                .all(&txn)
                .await?;
            let id = agent.id.clone();
            // Only if no heartbeat arrived since the query above.
            let marked = agent::Entity::update_many()
                .col_expr(agent::Column::Status, Expr::value(AgentStatus::Offline))
                .filter(agent::Column::Id.eq(id.clone()))
                .filter(agent::Column::LastSeenAt.lt(silent_since))
                .exec(&txn)
                .await?;
            if marked.rows_affected == 0 {
                continue;
            }
            for step in held {
                let error =
                    format!("agent {id} stopped sending heartbeats while running this step");
                fail_running_step(&txn, &mut fx, step, &error).await?;
            }
            self.commit(txn, fx).await?;
        }
        Ok(())
    }

    // ----- work reported by agents -----

    /// Records a progress event of running work; a redelivered event is recorded once.
    pub(crate) async fn record_work_event(&self, event: pb::WorkEvent) -> Result<()> {
        let work = parse_id("work_id", &event.work_id)?;
        let dedupe_key = format!("event:{work}:{}", event.sequence);
        if events::already_recorded(self.db(), &dedupe_key).await? {
            return Ok(());
        }
        let step = find_step_by_work(self.db(), work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let mut request = lock_request(&txn, step.request_id).await?;
        if request.finished_at.is_some() {
            // The request's history is closed; a late event changes nothing.
            return Ok(());
        }
        let Some(pb::work_event::Detail::Task(task)) = event.detail else {
            return Err(OrchestratorError::InvalidArgument(
                "the work event carries no detail".into(),
            ));
        };
        let message = describe_task(&task);
        let mut new = NewEvent::new(Kind::StepProgress, message).step(step.id);
        new.task = Some(task);
        new.dedupe_key = Some(dedupe_key);
        emit(&txn, &mut fx, &mut request, new).await?;
        self.commit(txn, fx).await
    }

    /// Records the outcome of work and moves the request on; a duplicate result is ignored.
    pub(crate) async fn record_work_result(&self, result: pb::WorkResult) -> Result<()> {
        let work = parse_id("work_id", &result.work_id)?;
        let found = find_step_by_work(self.db(), work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let mut request = lock_request(&txn, found.request_id).await?;
        let step = find_step_by_work(&txn, work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        if request.finished_at.is_some()
            || !matches!(step.status, StepStatus::Queued | StepStatus::Running)
        {
            tracing::debug!(%work, "duplicate or late work result ignored");
            return Ok(());
        }
        finish_step(&txn, &mut fx, &mut request, step, result).await?;
        advance(&txn, &mut fx, &mut request).await?;
        self.commit(txn, fx).await
    }

    /// What the agent does for `step`: its action with the stored details.
    async fn work_action(&self, step: &step::Model) -> Result<pb::work_item::Action> {
        use pb::work_item::Action;
        Ok(match step.action {
            StepAction::RunPlaybook => {
                let options = convert::stored_run_options(&step.run_options)?;
                Action::PlaybookRun(pb::PlaybookRun {
                    playbook: step.playbook.clone(),
                    extra_vars: Some(convert::json_object_to_struct(&step.extra_vars)?),
                    limit: options.limit,
                    tags: options.tags,
                    check_mode: options.check_mode,
                    diff: options.diff,
                    inventory: options.inventory,
                })
            }
            StepAction::ApplySuggestion => {
                let suggestion_id = step.suggestion_id.clone().ok_or_else(|| {
                    OrchestratorError::corrupt("step", "an apply step names no suggestion")
                })?;
                let row = find_suggestion(self.db(), &suggestion_id).await?;
                // The agent names its branch and checks the finding by the id it reported.
                let suggestion = pb::Suggestion {
                    suggestion_id: row.finding_id.clone(),
                    ..convert::suggestion(&row)?
                };
                Action::ApplySuggestion(Box::new(pb::ApplySuggestion {
                    suggestion: Some(suggestion),
                }))
            }
            StepAction::GenerateTemplate => {
                let template = step.template.as_ref().ok_or_else(|| {
                    OrchestratorError::corrupt("step", "a template step names no template")
                })?;
                Action::GenerateTemplate(convert::template_message(&convert::stored_template(
                    template,
                )?))
            }
        })
    }

    // ----- suggestions -----

    /// Replaces an agent's findings with its latest lint's: new ones open, known ones are
    /// refreshed (keeping their status and first sighting) and the ones no longer reported are
    /// resolved, except one whose fix is being applied. Returns how many are open now.
    pub async fn report_suggestions(
        &self,
        agent_id: &str,
        instance_id: &str,
        findings: &[pb::Suggestion],
    ) -> Result<u64> {
        let findings = crate::suggestions::validate_findings(findings)?;
        let now = chrono::Utc::now();
        let txn = self.db().begin().await?;
        find_agent_process(&txn, agent_id, instance_id).await?;
        let known: std::collections::HashMap<String, suggestion::Model> =
            suggestion::Entity::find()
                .filter(suggestion::Column::AgentId.eq(agent_id.to_owned()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|row| (row.finding_id.clone(), row))
                .collect();
        let mut reported = std::collections::HashSet::new();
        let mut found_again = Vec::new();
        for finding in &findings {
            reported.insert(finding.finding_id.clone());
            let mut row = finding.row(agent_id, now);
            match known.get(&finding.finding_id) {
                Some(existing) => {
                    // Only what the lint says about the finding: its status, request, commit
                    // and error belong to acceptances and fixes, which may be changing them
                    // concurrently, so they are never written from the rows read above.
                    row.id = Set(existing.id);
                    row.first_seen_at = NotSet;
                    row.status = NotSet;
                    row.request_id = NotSet;
                    row.commit = NotSet;
                    row.error = NotSet;
                    row.update(&txn).await?;
                    if existing.status == SuggestionStatus::Resolved {
                        found_again.push(existing.id);
                    }
                }
                None => {
                    row.insert(&txn).await?;
                }
            }
        }
        let gone: Vec<Uuid> = known
            .values()
            .filter(|row| !reported.contains(&row.finding_id))
            .map(|row| row.id)
            .collect();
        // Conditional on the status at the time of the update, for the same reason.
        for (ids, from, to) in [
            (
                found_again,
                vec![SuggestionStatus::Resolved],
                SuggestionStatus::Open,
            ),
            (
                gone,
                vec![
                    SuggestionStatus::Open,
                    SuggestionStatus::Applied,
                    SuggestionStatus::Failed,
                ],
                SuggestionStatus::Resolved,
            ),
        ] {
            if ids.is_empty() {
                continue;
            }
            suggestion::Entity::update_many()
                .col_expr(suggestion::Column::Status, Expr::value(to))
                .filter(suggestion::Column::Id.is_in(ids))
                .filter(suggestion::Column::Status.is_in(from))
                .exec(&txn)
                .await?;
        }
        let open = suggestion::Entity::find()
            .filter(suggestion::Column::AgentId.eq(agent_id.to_owned()))
            .filter(suggestion::Column::Status.eq(SuggestionStatus::Open))
            .count(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(%agent_id, findings = findings.len(), open, "agent suggestions updated");
        Ok(open)
    }

    /// Accepts a fixable suggestion: records a request whose one step applies the fix, approved
    /// by `approver`, and dispatches it.
    pub async fn accept_suggestion(
        &self,
        suggestion_id: &str,
        approver: &str,
    ) -> Result<(suggestion::Model, request::Model, PlanWithSteps)> {
        let suggestion_id = suggestion_id.trim();
        if suggestion_id.is_empty() {
            return Err(OrchestratorError::InvalidArgument(
                "suggestion_id is required: take one from ListSuggestions".into(),
            ));
        }
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let found = find_suggestion(&txn, suggestion_id).await?;
        crate::suggestions::check_acceptable(&found)?;
        // Only the agent that linted the repository may fix it; without it online the fix would
        // wait in the queue with nobody to take it.
        let owner_online = agent::Entity::find_by_id(found.agent_id.clone())
            .one(&txn)
            .await?
            .is_some_and(|owner| owner.status == AgentStatus::Online);
        if !owner_online {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "suggestion {suggestion_id} is about the repository of agent {}, which is offline;                  start that agent and accept it again",
                found.agent_id
            )));
        }
        let text = format!(
            "Apply the ansible-lint fix for {} in {}",
            found.rule, found.path
        );
        let origin = RequestOrigin {
            suggestion_id: Some(found.suggestion_id.clone()),
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, &text, origin).await?;
        // Conditional, so of two concurrent acceptances only one takes the suggestion.
        let taken = suggestion::Entity::update_many()
            .col_expr(
                suggestion::Column::Status,
                Expr::value(SuggestionStatus::Accepted),
            )
            .col_expr(suggestion::Column::RequestId, Expr::value(Some(request.id)))
            .col_expr(
                suggestion::Column::Error,
                Expr::value(Option::<String>::None),
            )
            .filter(suggestion::Column::Id.eq(found.id))
            .filter(suggestion::Column::Status.eq(found.status))
            .exec(&txn)
            .await?;
        if taken.rows_affected == 0 {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "suggestion {suggestion_id} changed while it was being accepted; look at it again \
                 with GetSuggestion"
            )));
        }
        let draft = crate::suggestions::fix_plan(&text, &found);
        let plan = insert_plan(&txn, &mut fx, &mut request, &draft, "", SUGGESTION_PLANNER).await?;
        let comment = format!("accepted suggestion {}", found.suggestion_id);
        let plan =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, &comment).await?;
        let accepted = find_suggestion(&txn, suggestion_id).await?;
        self.commit(txn, fx).await?;
        let plan = with_steps(self.db(), plan).await?;
        Ok((accepted, request, plan))
    }

    // ----- re-runs -----

    /// Runs the failed request `request_id` again on the hosts that failed: a new request whose
    /// approved plan is the failed step and the steps after it that never ran, limited to those
    /// hosts, dispatched at once. Returns it with the hosts.
    pub async fn rerun_failed_hosts(
        &self,
        request_id: &str,
        approver: &str,
    ) -> Result<(request::Model, PlanWithSteps, Vec<String>)> {
        let id = parse_id("request_id", request_id)?;
        let txn = self.db().begin().await?;
        let mut fx = Effects::default();
        let original = lock_request(&txn, id).await?;
        if original.status != RequestStatus::Failed {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "request {id} is {}, not failed; only a failed request can be re-run on its \
                 failed hosts",
                convert::request_status_word(original.status)
            )));
        }
        let steps = with_steps(&txn, current_plan(&txn, &original).await?)
            .await?
            .steps;
        let failed = steps
            .iter()
            .find(|step| step.status == StepStatus::Failed)
            .ok_or_else(|| {
                OrchestratorError::FailedPrecondition(format!(
                    "request {id} failed without a failed step ({}); submit it again",
                    original.status_reason
                ))
            })?;
        if failed.action != StepAction::RunPlaybook {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} ({}) of request {id} does not run a playbook, so it has no hosts to \
                 re-run; submit the request again",
                failed.position, failed.title
            )));
        }
        let hosts = match failed.result.as_deref() {
            Some(bytes) => failed_hosts(
                &pb::WorkResult::decode(bytes)
                    .map_err(|error| OrchestratorError::corrupt("work result", error))?,
            ),
            None => Vec::new(),
        };
        if hosts.is_empty() {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} ({}) of request {id} failed before any host ran a task ({}); no host \
                 failed, so there is nothing to re-run on: fix the cause (for example the \
                 inventory) and submit the request again",
                failed.position,
                failed.title,
                failed.error.as_deref().unwrap_or("no error reported")
            )));
        }
        // Host names come from the agent's report: the limit made of them passes the same
        // checks as one a person sends.
        if let Some(host) = hosts
            .iter()
            .find(|host| host.contains(',') || host.chars().any(refused_in_limit))
        {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "request {id} failed on the host \"{host}\", whose name cannot be part of a \
                 --limit host pattern, so no re-run can be limited to it; submit the request \
                 again"
            )));
        }
        let run_options = RunOptions {
            limit: hosts.join(","),
            ..convert::stored_run_options(&original.run_options)?
        };
        let rerun: Vec<&step::Model> = steps
            .iter()
            .filter(|step| step.position >= failed.position && step.status != StepStatus::Succeeded)
            .collect();
        let draft = rerun_plan(&original, &rerun, &hosts)?.with_run_options(&run_options);
        let text = format!("Re-run on the failed hosts: {}", original.text);
        let origin = RequestOrigin {
            run_options,
            rerun_of: Some(original.id),
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, &text, origin).await?;
        let plan = insert_plan(&txn, &mut fx, &mut request, &draft, "", RERUN_PLANNER).await?;
        let comment = format!("re-run of request {id} on the failed hosts");
        let plan =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, &comment).await?;
        self.commit(txn, fx).await?;
        let plan = with_steps(self.db(), plan).await?;
        Ok((request, plan, hosts))
    }

    /// The bus message for a queued step, or `None` when the step is not queued any more.
    pub(crate) async fn work_item(
        &self,
        step_id: Uuid,
    ) -> Result<Option<(pb::WorkItem, Envelope)>> {
        let Some(step) = step::Entity::find_by_id(step_id).one(self.db()).await? else {
            return Ok(None);
        };
        let (StepStatus::Queued, Some(work_id)) = (step.status, step.work_id) else {
            return Ok(None);
        };
        let plan = plan::Entity::find_by_id(step.plan_id)
            .one(self.db())
            .await?
            .ok_or_else(|| {
                OrchestratorError::corrupt("step", format!("plan {} is missing", step.plan_id))
            })?;
        let item = pb::WorkItem {
            work_id: work_id.to_string(),
            request_id: step.request_id.to_string(),
            plan_id: plan.id.to_string(),
            step_id: step.id.to_string(),
            attempt: step.attempt,
            agent_kind: convert::agent_kind(step.agent_kind) as i32,
            plan_content_hash: plan.content_hash.clone(),
            timeout: None,
            action: Some(self.work_action(&step).await?),
        };
        let envelope = Envelope {
            correlation_id: step.request_id.to_string(),
            idempotency_key: format!("work:{work_id}"),
            ..Envelope::default()
        };
        Ok(Some((item, envelope)))
    }
}

// ----- transaction building blocks -----

/// Refuses run options ansible-playbook would misread, or that could smuggle more than a host
/// pattern and tag names onto its command line; returns them trimmed.
pub(crate) fn validate_run_options(options: Option<&pb::RunOptions>) -> Result<RunOptions> {
    let Some(options) = options else {
        return Ok(RunOptions::default());
    };
    let limit = options.limit.trim();
    check_length("run_options.limit", limit, MAX_LIMIT_PATTERN)?;
    if let Some(bad) = limit.chars().find(|c| refused_in_limit(*c)) {
        return Err(OrchestratorError::InvalidArgument(format!(
            "run_options.limit \"{limit}\" contains {bad:?}: use an Ansible host pattern such as \
             \"web:!nas\" or \"host1,host2\", without spaces or shell characters"
        )));
    }
    if options.tags.len() > MAX_TAGS {
        return Err(OrchestratorError::InvalidArgument(format!(
            "run_options.tags names {} tags; the limit is {MAX_TAGS}",
            options.tags.len()
        )));
    }
    let mut tags = Vec::with_capacity(options.tags.len());
    for tag in &options.tags {
        let tag = tag.trim();
        let valid = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(OrchestratorError::InvalidArgument(format!(
                "run_options.tags has \"{tag}\": a tag is 1 to 128 letters, digits, '_', '.' or '-'"
            )));
        }
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    let inventory = options.inventory.trim();
    if !inventory.is_empty() {
        validate_inventory_name(inventory)?;
    }
    Ok(RunOptions {
        limit: limit.to_owned(),
        tags,
        check_mode: options.check_mode,
        diff: options.diff,
        inventory: inventory.to_owned(),
    })
}

/// True for the characters a `--limit` host pattern may not contain: whitespace, control
/// characters and shell metacharacters. `&` stays allowed: it is Ansible's intersection
/// (`web:&staging`), and the limit reaches ansible-playbook as one argument, never via a shell.
fn refused_in_limit(c: char) -> bool {
    c.is_whitespace() || c.is_control() || ";|$`<>\\\"'(){}".contains(c)
}

/// The size of a page a caller asked for: `default` for 0, at most `max`.
pub(crate) fn page_size_within(page_size: i32, default: u64, max: u64) -> Result<u64> {
    match u64::try_from(page_size) {
        Ok(0) => Ok(default),
        Ok(size) => Ok(size.min(max)),
        Err(_) => Err(OrchestratorError::InvalidArgument(format!(
            "page_size must not be negative, got {page_size}"
        ))),
    }
}

/// The row id a page token names (the last row of the previous page); `None` for the first
/// page.
pub(crate) fn page_cursor(page_token: &str) -> Result<Option<Uuid>> {
    if page_token.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(page_token).map(Some).map_err(|_| {
        OrchestratorError::InvalidArgument(format!(
            "page_token \"{page_token}\" is not one this server issued; pass the next_page_token of a previous response"
        ))
    })
}

/// Splits `rows`, read with a limit of `size + 1`, into the page and the next page's token.
pub(crate) fn split_page<T>(
    mut rows: Vec<T>,
    size: u64,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, String) {
    if rows.len() as u64 <= size {
        return (rows, String::new());
    }
    rows.truncate(size as usize);
    let next = rows
        .last()
        .map(|row| id(row).to_string())
        .unwrap_or_default();
    (rows, next)
}

/// What a new request row records besides its text.
#[derive(Debug, Default)]
struct RequestOrigin {
    run_options: RunOptions,
    rerun_of: Option<Uuid>,
    suggestion_id: Option<String>,
}

/// Records a new request, awaiting its first plan, and the event that says it was submitted.
async fn insert_request(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    text: &str,
    origin: RequestOrigin,
) -> Result<request::Model> {
    let now = chrono::Utc::now();
    let mut request = request::ActiveModel {
        id: Set(Uuid::now_v7()),
        text: Set(text.to_owned()),
        status: Set(RequestStatus::AwaitingApproval),
        status_reason: Set(String::new()),
        current_plan_revision: Set(0),
        last_event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        cancel_requested_at: Set(None),
        run_options: Set(convert::run_options_json(&origin.run_options)),
        rerun_of_request_id: Set(origin.rerun_of),
        suggestion_id: Set(origin.suggestion_id),
    }
    .insert(txn)
    .await?;
    emit(
        txn,
        fx,
        &mut request,
        NewEvent::new(Kind::RequestSubmitted, format!("request submitted: {text}")),
    )
    .await?;
    Ok(request)
}

/// Records the approval of `plan` by `approver`, starts the request and queues its first steps.
async fn approve_revision(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    plan: plan::Model,
    approver: &str,
    comment: &str,
) -> Result<plan::Model> {
    decide(txn, &plan, ApprovalDecision::Approved, approver, comment).await?;
    let plan = set_plan_status(txn, plan, PlanStatus::Approved).await?;
    request.status = RequestStatus::Running;
    *request = save_request(txn, request.clone()).await?;
    let who = display_name(approver);
    emit(
        txn,
        fx,
        request,
        NewEvent::new(
            Kind::PlanApproved,
            format!("plan revision {} approved by {who}", plan.revision),
        ),
    )
    .await?;
    advance(txn, fx, request).await?;
    Ok(plan)
}

fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    if value.trim().is_empty() {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    Uuid::parse_str(value.trim()).map_err(|_| {
        OrchestratorError::InvalidArgument(format!(
            "{field} \"{value}\" is not a valid id (a UUID)"
        ))
    })
}

/// Refuses `text` longer than `max` characters, naming `field`.
pub(crate) fn check_length(field: &str, text: &str, max: usize) -> Result<()> {
    let length = text.chars().count();
    if length > max {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is {length} characters long; the limit is {max}"
        )));
    }
    Ok(())
}

fn required_note<'a>(field: &str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    check_length(field, text, MAX_NOTE)?;
    Ok(text)
}

fn display_name(person: &str) -> &str {
    match person.trim() {
        "" => "an unnamed reviewer",
        name => name,
    }
}

/// True for 1 to `max` letters, digits, '.', '_' or '-': the names (agent ids, inventories) a
/// person types on a command line and that travel in messages unquoted.
pub(crate) fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn validate_agent_id(agent_id: &str) -> Result<()> {
    if is_plain_name(agent_id, 128) {
        Ok(())
    } else {
        Err(OrchestratorError::InvalidArgument(format!(
            "agent_id \"{agent_id}\" is invalid: use 1 to 128 letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Makes the report's playbooks the whole catalog of `agent_id` and its issues the whole list of
/// what it could not index, in the caller's transaction so readers never see one without the
/// other. The caller stores the inventories with the agent row.
async fn replace_catalog(
    txn: &DatabaseTransaction,
    agent_id: &str,
    catalog: &CatalogReport<'_>,
) -> Result<()> {
    let CatalogReport {
        playbooks, issues, ..
    } = *catalog;
    catalog_playbook::Entity::delete_many()
        .filter(catalog_playbook::Column::AgentId.eq(agent_id.to_owned()))
        .exec(txn)
        .await?;
    catalog_issue::Entity::delete_many()
        .filter(catalog_issue::Column::AgentId.eq(agent_id.to_owned()))
        .exec(txn)
        .await?;
    // A path is unique per agent; a repeated one (a bug in the agent) keeps its first entry.
    let mut seen = std::collections::BTreeSet::new();
    for playbook in playbooks
        .iter()
        .filter(|playbook| seen.insert(playbook.path.clone()))
    {
        convert::catalog_playbook_row(agent_id, playbook)
            .insert(txn)
            .await?;
    }
    for issue in issues {
        convert::catalog_issue_row(agent_id, issue)
            .insert(txn)
            .await?;
    }
    Ok(())
}

/// The agent `agent_id` if its current process is `instance_id`.
async fn find_agent_process(
    db: &impl ConnectionTrait,
    agent_id: &str,
    instance_id: &str,
) -> Result<agent::Model> {
    agent::Entity::find_by_id(agent_id.to_owned())
        .one(db)
        .await?
        .filter(|agent| agent.instance_id == instance_id)
        .ok_or_else(|| OrchestratorError::UnknownAgent {
            agent_id: agent_id.to_owned(),
            instance_id: instance_id.to_owned(),
        })
}

pub(crate) async fn find_suggestion(
    db: &impl ConnectionTrait,
    suggestion_id: &str,
) -> Result<suggestion::Model> {
    suggestion::Entity::find()
        .filter(suggestion::Column::SuggestionId.eq(suggestion_id.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("suggestion", suggestion_id))
}

/// The agent a step must run on, if any: a suggestion's fix belongs to the agent whose
/// repository was linted, since another agent's checkout may differ or not exist.
async fn required_agent(db: &impl ConnectionTrait, step: &step::Model) -> Result<Option<String>> {
    match (&step.action, &step.suggestion_id) {
        (StepAction::ApplySuggestion, Some(suggestion_id)) => {
            Ok(Some(find_suggestion(db, suggestion_id).await?.agent_id))
        }
        _ => Ok(None),
    }
}

/// Hosts that failed or were unreachable in `result`, sorted and each once.
fn failed_hosts(result: &pb::WorkResult) -> Vec<String> {
    let hosts: std::collections::BTreeSet<&str> = result
        .host_stats
        .iter()
        .filter(|stats| stats.failed > 0 || stats.unreachable > 0)
        .map(|stats| stats.host.as_str())
        .chain(result.failed_tasks.iter().map(|task| task.host.as_str()))
        .filter(|host| !host.trim().is_empty())
        .collect();
    hosts.into_iter().map(str::to_owned).collect()
}

/// The plan of a re-run: `steps` of `original` (the failed one first), renumbered from 1 with
/// their dependencies on each other kept and those on steps that already succeeded dropped.
fn rerun_plan(
    original: &request::Model,
    steps: &[&step::Model],
    hosts: &[String],
) -> Result<PlanDraft> {
    let new_position = |old: i32| {
        steps
            .iter()
            .position(|step| step.position == old)
            .map(|index| index as i32 + 1)
    };
    let mut drafts = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let extra_vars = match &step.extra_vars {
            serde_json::Value::Object(vars) => vars.clone(),
            _ => serde_json::Map::new(),
        };
        drafts.push(StepDraft {
            position: index as i32 + 1,
            title: step.title.clone(),
            rationale: format!(
                "step {} of request {} failed on {}: {}",
                step.position,
                original.id,
                hosts.join(", "),
                step.rationale
            ),
            playbook: (!step.playbook.is_empty()).then(|| step.playbook.clone()),
            depends_on: convert::depends_on(step)?
                .into_iter()
                .filter_map(new_position)
                .collect(),
            risk: step.risk,
            risk_reason: step.risk_reason.clone(),
            // The re-run is limited to the hosts that failed: those are the ones it touches.
            hosts: hosts.to_vec(),
            roles: convert::json_list("step roles", &step.roles)?,
            estimated_seconds: step.estimated_seconds,
            extra_vars,
            action: step.action,
            run_options: convert::stored_run_options(&step.run_options)?,
            suggestion_id: step.suggestion_id.clone(),
            template: step
                .template
                .as_ref()
                .map(convert::stored_template)
                .transpose()?,
        });
    }
    let titles: Vec<String> = drafts
        .iter()
        .map(|step| format!("{}. {}", step.position, step.title))
        .collect();
    Ok(PlanDraft {
        summary: format!(
            "Re-run {} step(s) of request {} on the hosts that failed ({}): {}.",
            drafts.len(),
            original.id,
            hosts.join(", "),
            titles.join("; ")
        ),
        steps: drafts,
    })
}

async fn find_request(db: &impl ConnectionTrait, id: Uuid) -> Result<request::Model> {
    request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("request", id.to_string()))
}

async fn find_step_by_work(
    db: &impl ConnectionTrait,
    work_id: Uuid,
) -> Result<Option<step::Model>> {
    Ok(step::Entity::find()
        .filter(step::Column::WorkId.eq(work_id))
        .one(db)
        .await?)
}

/// Locks the request row for the rest of the transaction (PostgreSQL takes a row lock on
/// update; SQLite takes its write lock) and returns it.
async fn lock_request(txn: &DatabaseTransaction, id: Uuid) -> Result<request::Model> {
    let updated = request::Entity::update_many()
        .col_expr(request::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(request::Column::Id.eq(id))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(OrchestratorError::not_found("request", id.to_string()));
    }
    find_request(txn, id).await
}

async fn save_request(
    txn: &DatabaseTransaction,
    request: request::Model,
) -> Result<request::Model> {
    let mut active: request::ActiveModel = request.clone().into();
    // Mark every field changed: the caller edited the model in place.
    active.status = Set(request.status);
    active.status_reason = Set(request.status_reason);
    active.current_plan_revision = Set(request.current_plan_revision);
    active.finished_at = Set(request.finished_at);
    active.cancel_requested_at = Set(request.cancel_requested_at);
    active.updated_at = Set(chrono::Utc::now());
    Ok(active.update(txn).await?)
}

async fn emit(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    event: NewEvent,
) -> Result<()> {
    let (recorded, updated) = events::record(txn, request.clone(), event).await?;
    *request = updated;
    fx.events.push(recorded);
    Ok(())
}

async fn current_plan(txn: &DatabaseTransaction, request: &request::Model) -> Result<plan::Model> {
    plan::Entity::find()
        .filter(plan::Column::RequestId.eq(request.id))
        .filter(plan::Column::Revision.eq(request.current_plan_revision))
        .one(txn)
        .await?
        .ok_or_else(|| {
            OrchestratorError::corrupt(
                "request",
                format!(
                    "plan revision {} of {} is missing",
                    request.current_plan_revision, request.id
                ),
            )
        })
}

async fn with_steps(db: &impl ConnectionTrait, plan: plan::Model) -> Result<PlanWithSteps> {
    let steps = step::Entity::find()
        .filter(step::Column::PlanId.eq(plan.id))
        .order_by_asc(step::Column::Position)
        .all(db)
        .await?;
    Ok(PlanWithSteps { plan, steps })
}

async fn insert_plan(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    draft: &PlanDraft,
    feedback: &str,
    planner_name: &str,
) -> Result<PlanWithSteps> {
    let revision = request.current_plan_revision + 1;
    let plan = plan::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(request.id),
        revision: Set(revision),
        status: Set(PlanStatus::Proposed),
        summary: Set(draft.summary.clone()),
        content_hash: Set(draft.content_hash()),
        feedback: Set(feedback.to_owned()),
        planner: Set(planner_name.to_owned()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await?;
    let mut steps = Vec::with_capacity(draft.steps.len());
    for draft_step in &draft.steps {
        steps.push(
            step::ActiveModel {
                id: Set(Uuid::now_v7()),
                plan_id: Set(plan.id),
                request_id: Set(request.id),
                position: Set(draft_step.position),
                title: Set(draft_step.title.clone()),
                rationale: Set(draft_step.rationale.clone()),
                agent_kind: Set(AgentKind::Infra),
                playbook: Set(draft_step.playbook.clone().unwrap_or_default()),
                custom_playbook_needed: Set(draft_step.needs_custom_playbook()),
                depends_on: Set(serde_json::json!(draft_step.depends_on)),
                risk: Set(draft_step.risk),
                risk_reason: Set(draft_step.risk_reason.clone()),
                hosts: Set(serde_json::json!(draft_step.hosts)),
                roles: Set(serde_json::json!(draft_step.roles)),
                estimated_seconds: Set(draft_step.estimated_seconds),
                extra_vars: Set(serde_json::Value::Object(draft_step.extra_vars.clone())),
                status: Set(StepStatus::Pending),
                attempt: Set(0),
                work_id: Set(None),
                agent_id: Set(None),
                instance_id: Set(None),
                queued_at: Set(None),
                started_at: Set(None),
                finished_at: Set(None),
                exit_code: Set(None),
                error: Set(None),
                result: Set(None),
                action: Set(draft_step.action),
                run_options: Set(convert::run_options_json(&draft_step.run_options)),
                suggestion_id: Set(draft_step.suggestion_id.clone()),
                template: Set(draft_step
                    .template
                    .as_ref()
                    .map(|template| serde_json::json!(template))),
            }
            .insert(txn)
            .await?,
        );
    }
    request.current_plan_revision = revision;
    *request = save_request(txn, request.clone()).await?;
    let message = format!(
        "plan revision {revision} proposed with {} step(s): {}",
        steps.len(),
        draft.summary
    );
    emit(txn, fx, request, NewEvent::new(Kind::PlanProposed, message)).await?;
    Ok(PlanWithSteps { plan, steps })
}

/// Loads the plan a decision is about and checks it is the request's open revision.
async fn open_decision(
    txn: &DatabaseTransaction,
    plan_id: Uuid,
) -> Result<(request::Model, plan::Model)> {
    let found = plan::Entity::find_by_id(plan_id)
        .one(txn)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("plan", plan_id.to_string()))?;
    let request = lock_request(txn, found.request_id).await?;
    let plan = plan::Entity::find_by_id(plan_id)
        .one(txn)
        .await?
        .ok_or_else(|| OrchestratorError::not_found("plan", plan_id.to_string()))?;
    if plan.revision != request.current_plan_revision {
        return Err(OrchestratorError::FailedPrecondition(format!(
            "plan revision {} is stale: revision {} superseded it; review the latest revision",
            plan.revision, request.current_plan_revision
        )));
    }
    if plan.status != PlanStatus::Proposed || request.status != RequestStatus::AwaitingApproval {
        return Err(OrchestratorError::FailedPrecondition(format!(
            "plan revision {} was already decided ({}); the request is {}",
            plan.revision,
            convert::plan_status_name(plan.status),
            convert::request_status_word(request.status)
        )));
    }
    if request.cancel_requested_at.is_some() {
        return Err(OrchestratorError::FailedPrecondition(
            "the request is being cancelled".into(),
        ));
    }
    Ok((request, plan))
}

/// Records the one decision a plan revision gets; the unique plan id makes a concurrent second
/// decision fail instead of both succeeding.
async fn decide(
    txn: &DatabaseTransaction,
    plan: &plan::Model,
    decision: ApprovalDecision,
    decided_by: &str,
    comment: &str,
) -> Result<()> {
    approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        plan_id: Set(plan.id),
        request_id: Set(plan.request_id),
        revision: Set(plan.revision),
        content_hash: Set(plan.content_hash.clone()),
        decision: Set(decision),
        decided_by: Set(display_name(decided_by).to_owned()),
        comment: Set(comment.trim().to_owned()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            OrchestratorError::FailedPrecondition(format!(
                "plan revision {} was already decided",
                plan.revision
            ))
        }
        _ => OrchestratorError::Database(error),
    })?;
    Ok(())
}

/// A decision that closes a plan revision without running it.
#[derive(Debug, Clone, Copy)]
enum Closing {
    Reject,
    Revise,
}

/// Records a reject or revise decision: the revision's status, its steps that will never run,
/// and the event that says who decided and why.
async fn close_revision(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    plan: plan::Model,
    closing: Closing,
    decided_by: &str,
    note: &str,
) -> Result<plan::Model> {
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
    decide(txn, &plan, decision, decided_by, note).await?;
    let plan = set_plan_status(txn, plan, status).await?;
    close_steps(txn, fx, request, plan.id, StepStatus::Skipped, why).await?;
    emit(txn, fx, request, NewEvent::new(kind, message)).await?;
    Ok(plan)
}

async fn set_plan_status(
    txn: &DatabaseTransaction,
    plan: plan::Model,
    status: PlanStatus,
) -> Result<plan::Model> {
    let mut active: plan::ActiveModel = plan.into();
    active.status = Set(status);
    Ok(active.update(txn).await?)
}

/// Ends every step of `plan_id` that has not started with `status`, recording why.
async fn close_steps(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    plan_id: Uuid,
    status: StepStatus,
    why: &str,
) -> Result<()> {
    let open = step::Entity::find()
        .filter(step::Column::PlanId.eq(plan_id))
        .filter(step::Column::Status.is_in([StepStatus::Pending, StepStatus::Queued]))
        .order_by_asc(step::Column::Position)
        .all(txn)
        .await?;
    for step in open {
        let (id, position, title) = (step.id, step.position, step.title.clone());
        settle_suggestion(
            txn,
            &step,
            FixOutcome::Failed(format!("the fix never ran: {why}")),
        )
        .await?;
        let mut active: step::ActiveModel = step.into();
        active.status = Set(status);
        active.finished_at = Set(Some(chrono::Utc::now()));
        active.update(txn).await?;
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

async fn finish(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    status: RequestStatus,
    reason: String,
) -> Result<()> {
    request.status = status;
    request.status_reason = reason.clone();
    request.finished_at = Some(chrono::Utc::now());
    *request = save_request(txn, request.clone()).await?;
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
    let message = match reason.as_str() {
        "" => format!("request {}", convert::request_status_word(status)),
        reason => format!("request {}: {reason}", convert::request_status_word(status)),
    };
    emit(txn, fx, request, NewEvent::new(kind, message).ending()).await
}

/// Records a step's outcome.
async fn finish_step(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    step: step::Model,
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
    let mut active: step::ActiveModel = step.into();
    active.status = Set(status);
    active.finished_at = Set(Some(chrono::Utc::now()));
    active.exit_code = Set(Some(result.exit_code));
    active.error = Set(error.clone());
    active.result = Set(Some(result.encode_to_vec()));
    active.update(txn).await?;
    let message = match &error {
        Some(error) => format!("step {position} ({title}) {verb}: {error}"),
        None => format!("step {position} ({title}) {verb}"),
    };
    let mut event = NewEvent::new(kind, message).step(id);
    event.result = Some(result);
    emit(txn, fx, request, event).await
}

/// How the attempt to apply a suggestion's fix ended.
enum FixOutcome<'a> {
    Applied(&'a pb::RepositoryCommit),
    Failed(String),
}

/// Records on its suggestion how an apply-suggestion step ended: applied with the commit, or
/// failed with why (it can be accepted again). Other steps, and suggestions that another
/// request has taken over since, are left alone.
async fn settle_suggestion(
    txn: &DatabaseTransaction,
    step: &step::Model,
    outcome: FixOutcome<'_>,
) -> Result<()> {
    let (StepAction::ApplySuggestion, Some(suggestion_id)) = (step.action, &step.suggestion_id)
    else {
        return Ok(());
    };
    let mut update = suggestion::Entity::update_many()
        .filter(suggestion::Column::SuggestionId.eq(suggestion_id.clone()))
        .filter(suggestion::Column::RequestId.eq(step.request_id))
        .filter(suggestion::Column::Status.eq(SuggestionStatus::Accepted));
    update = match outcome {
        FixOutcome::Applied(commit) => update
            .col_expr(
                suggestion::Column::Status,
                Expr::value(SuggestionStatus::Applied),
            )
            .col_expr(
                suggestion::Column::Commit,
                Expr::value(convert::commit_json(commit)),
            )
            .col_expr(
                suggestion::Column::Error,
                Expr::value(Option::<String>::None),
            ),
        FixOutcome::Failed(error) => update
            .col_expr(
                suggestion::Column::Status,
                Expr::value(SuggestionStatus::Failed),
            )
            .col_expr(suggestion::Column::Error, Expr::value(Some(error))),
    };
    update.exec(txn).await?;
    Ok(())
}

/// Fails a running step whose agent process is gone.
async fn fail_running_step(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    step: step::Model,
    error: &str,
) -> Result<()> {
    let mut request = lock_request(txn, step.request_id).await?;
    // The step was read before the lock; its result may have been recorded since.
    let Some(current) = step::Entity::find_by_id(step.id).one(txn).await? else {
        return Ok(());
    };
    if current.status != StepStatus::Running || current.instance_id != step.instance_id {
        return Ok(());
    }
    let step = current;
    let now = convert::timestamp(chrono::Utc::now());
    let result = pb::WorkResult {
        work_id: step.work_id.map(|id| id.to_string()).unwrap_or_default(),
        request_id: step.request_id.to_string(),
        step_id: step.id.to_string(),
        agent_id: step.agent_id.clone().unwrap_or_default(),
        status: pb::WorkStatus::Failed as i32,
        exit_code: -1,
        error: error.to_owned(),
        finished_at: Some(now),
        ..pb::WorkResult::default()
    };
    finish_step(txn, fx, &mut request, step, result).await?;
    advance(txn, fx, &mut request).await
}

/// Moves a running request on after a change: queues steps whose dependencies succeeded, skips
/// what can no longer run, and ends the request when nothing is left to wait for.
async fn advance(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
) -> Result<()> {
    if request.finished_at.is_some() {
        return Ok(());
    }
    let plan = current_plan(txn, request).await?;
    if request.status == RequestStatus::AwaitingApproval {
        // Only a cancellation moves an undecided request on.
        if request.cancel_requested_at.is_some() {
            close_steps(
                txn,
                fx,
                request,
                plan.id,
                StepStatus::Skipped,
                "the request was cancelled",
            )
            .await?;
            let reason = request.status_reason.clone();
            finish(txn, fx, request, RequestStatus::Cancelled, reason).await?;
        }
        return Ok(());
    }
    let steps = with_steps(txn, plan).await?.steps;
    let failed = steps.iter().find(|step| step.status == StepStatus::Failed);
    let running = steps.iter().any(|step| step.status == StepStatus::Running);
    if let Some(failed) = failed {
        let why = format!("step {} failed", failed.position);
        let reason = format!(
            "step {} ({}) failed: {}",
            failed.position,
            failed.title,
            failed.error.as_deref().unwrap_or("no error reported")
        );
        close_steps(txn, fx, request, failed.plan_id, StepStatus::Skipped, &why).await?;
        if !running {
            finish(txn, fx, request, RequestStatus::Failed, reason).await?;
        }
        return Ok(());
    }
    if request.cancel_requested_at.is_some() {
        if let Some(first) = steps.first() {
            close_steps(
                txn,
                fx,
                request,
                first.plan_id,
                StepStatus::Cancelled,
                "the request was cancelled",
            )
            .await?;
        }
        for step in steps
            .iter()
            .filter(|step| step.status == StepStatus::Running)
        {
            if let Some(work_id) = step.work_id {
                fx.cancel.push(pb::CancelWork {
                    work_id: work_id.to_string(),
                    request_id: request.id.to_string(),
                    reason: request.status_reason.clone(),
                });
            }
        }
        if !running {
            let reason = request.status_reason.clone();
            finish(txn, fx, request, RequestStatus::Cancelled, reason).await?;
        }
        return Ok(());
    }
    if steps
        .iter()
        .all(|step| step.status == StepStatus::Succeeded)
    {
        let reason = format!("all {} step(s) succeeded", steps.len());
        return finish(txn, fx, request, RequestStatus::Succeeded, reason).await;
    }
    if let Some(cancelled) = steps
        .iter()
        .find(|step| step.status == StepStatus::Cancelled)
    {
        // A step stopped on its agent without anyone cancelling the request (the agent shut
        // down): what depends on it cannot run.
        let why = format!("step {} was cancelled", cancelled.position);
        close_steps(
            txn,
            fx,
            request,
            cancelled.plan_id,
            StepStatus::Skipped,
            &why,
        )
        .await?;
        if !running {
            finish(txn, fx, request, RequestStatus::Cancelled, why).await?;
        }
        return Ok(());
    }
    for step in &steps {
        if step.status != StepStatus::Pending {
            continue;
        }
        let depends_on = convert::depends_on(step)?;
        let ready = depends_on.iter().all(|position| {
            steps
                .iter()
                .any(|other| other.position == *position && other.status == StepStatus::Succeeded)
        });
        if ready {
            queue_step(txn, fx, request, step.clone()).await?;
        }
    }
    Ok(())
}

async fn queue_step(
    txn: &DatabaseTransaction,
    fx: &mut Effects,
    request: &mut request::Model,
    step: step::Model,
) -> Result<()> {
    let (id, position, title, kind) = (step.id, step.position, step.title.clone(), step.agent_kind);
    let attempt = step.attempt + 1;
    let mut active: step::ActiveModel = step.into();
    active.status = Set(StepStatus::Queued);
    active.attempt = Set(attempt);
    active.work_id = Set(Some(Uuid::now_v7()));
    active.queued_at = Set(Some(chrono::Utc::now()));
    active.agent_id = Set(None);
    active.instance_id = Set(None);
    active.update(txn).await?;
    let message = format!(
        "step {position} ({title}) queued for {} agents",
        chiffon_bus::agent_kind_slug(convert::agent_kind(kind))
    );
    emit(
        txn,
        fx,
        request,
        NewEvent::new(Kind::StepQueued, message).step(id),
    )
    .await?;
    fx.dispatch.push(id);
    Ok(())
}

/// One line for a task event, e.g. "changed: Write compose file on kuma.home.arpa".
fn describe_task(task: &pb::TaskEvent) -> String {
    use pb::TaskEventKind as K;
    let outcome = match task.kind() {
        K::PlayStarted => return format!("play started: {}", task.play),
        K::TaskStarted => return format!("task started: {}", task.task),
        K::HostOk => "ok",
        K::HostChanged => "changed",
        K::HostFailed => "failed",
        K::HostSkipped => "skipped",
        K::HostUnreachable => "unreachable",
        K::HostFailedIgnored => "failed (ignored)",
        K::Unspecified => "event",
    };
    match task.message.as_str() {
        "" => format!("{outcome}: {} on {}", task.task, task.host),
        message => format!("{outcome}: {} on {}: {message}", task.task, task.host),
    }
}
