//! Agents and their work: registration, heartbeats, catalogs, claims, and the events and results they report.

use super::lifecycle::{advance, emit, fail_running_step, finish_step, lock_work, state};
use super::{Claim, Effects, Orchestrator, placement};
use crate::catalog::CatalogReport;
use crate::convert;
use crate::domain::{Agent, AgentKind, AgentRegistration, AgentStatus};
use crate::domain::{Step, StepAction, StepStatus};
use crate::error::{OrchestratorError, Result};
use crate::events::NewEvent;
use crate::machine::{self, ClaimDecision, ClaimedStep, Claimer};
use crate::store::{self, agents::Registration};
use crate::validate::parse_id;
use chiffon_bus::Envelope;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::RequestEventKind as Kind;
use uuid::Uuid;

impl Orchestrator {
    /// Records an agent process and its catalog. Work an earlier process of the same agent was
    /// running fails: that process is gone.
    pub async fn register_agent(&self, registration: AgentRegistration<'_>) -> Result<Agent> {
        let AgentRegistration {
            agent_id,
            kind,
            hostname,
            version,
            instance_id,
            catalog,
        } = registration;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let registered = Registration {
            agent_id: agent_id.as_str(),
            kind,
            hostname,
            version,
            instance_id,
            inventories: catalog.inventories,
        };
        let agent = store::agents::register(&txn, registered).await?;
        store::catalog::replace(&txn, &agent.id, &catalog).await?;
        let orphaned = store::steps::running_on(&txn, &agent.id, Some(instance_id)).await?;
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
        let agent = store::agents::find_process(self.db(), agent_id, instance_id).await?;
        store::agents::seen(self.db(), &agent).await?;
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
        let txn = store::begin(self.db()).await?;
        let agent = store::agents::find_process(&txn, agent_id, instance_id).await?;
        store::catalog::replace(&txn, agent_id, catalog).await?;
        store::agents::set_inventories(&txn, &agent, catalog.inventories).await?;
        store::commit(txn).await?;
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
        let Some(step) = store::steps::find_by_work(self.db(), work_id).await? else {
            return Ok(false);
        };
        let request = store::requests::find(self.db(), step.request_id).await?;
        Ok(step.status == StepStatus::Running
            && step.instance_id.as_deref() == Some(instance_id)
            && request.cancel_requested_at.is_none())
    }

    /// Known agents with the size of their catalogs.
    pub async fn list_agents(
        &self,
        kind: Option<AgentKind>,
        status: Option<AgentStatus>,
    ) -> Result<Vec<(Agent, usize)>> {
        store::agents::list(self.db(), kind, status).await
    }

    /// Gives a work item to the agent process that asks first (and that placement allows);
    /// every later ask is refused.
    pub async fn claim_work(&self, work: Uuid, agent_id: &str, instance_id: &str) -> Result<Claim> {
        store::agents::find_process(self.db(), agent_id, instance_id).await?;
        let Some(found) = store::steps::find_by_work(self.db(), work).await? else {
            return Ok(Claim::NotRunnable(format!(
                "work {work} is not a current work item"
            )));
        };
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let (mut request, step) = lock_work(&txn, found.request_id, work).await?;
        let placed_on = match step.status {
            StepStatus::Queued => placement::placed_on(&txn, &step).await?,
            _ => None,
        };
        let claimed = ClaimedStep {
            status: step.status,
            agent_id: step.agent_id.as_deref(),
            instance_id: step.instance_id.as_deref(),
        };
        let claimer = Claimer {
            agent_id,
            instance_id,
        };
        let claim = match machine::claim(&state(&request), claimed, claimer, placed_on.as_deref()) {
            ClaimDecision::Start => {
                let step = store::steps::start(&txn, &step, agent_id, instance_id).await?;
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
            ClaimDecision::AlreadyRunning => Claim::Granted,
            ClaimDecision::HeldElsewhere { by } => {
                Claim::HeldElsewhere(format!("work {work} runs on {by}"))
            }
            ClaimDecision::NotRunnable(why) => Claim::NotRunnable(why),
            ClaimDecision::OtherAgent { placed_on: owner } => Claim::OtherAgent(format!(
                "it changes the repository of {owner}, so only {owner} can run it"
            )),
        };
        self.commit(txn, fx).await?;
        Ok(claim)
    }

    /// Marks agents that stopped sending heartbeats offline and fails the work they held.
    pub(crate) async fn reap_silent_agents(&self) -> Result<()> {
        let Some(silent_since) = machine::silent_before(
            chrono::Utc::now(),
            self.inner.started_at,
            self.config().agent_offline_after,
        ) else {
            return Ok(());
        };
        for agent in store::agents::silent(self.db(), silent_since).await? {
            tracing::warn!(agent_id = %agent.id, "agent stopped sending heartbeats; marking it offline");
            let txn = store::begin(self.db()).await?;
            let mut fx = Effects::default();
            let held = store::steps::running_on(&txn, &agent.id, None).await?;
            // Only if no heartbeat arrived since the query above.
            if !store::agents::mark_offline(&txn, &agent.id, silent_since).await? {
                continue;
            }
            for step in held {
                let error = format!(
                    "agent {} stopped sending heartbeats while running this step",
                    agent.id
                );
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
        if store::events::already_recorded(self.db(), &dedupe_key).await? {
            return Ok(());
        }
        let step = store::steps::find_by_work(self.db(), work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let mut request = store::requests::lock(&txn, step.request_id).await?;
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
        let found = store::steps::find_by_work(self.db(), work)
            .await?
            .ok_or_else(|| OrchestratorError::not_found("work item", work.to_string()))?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let (mut request, step) = lock_work(&txn, found.request_id, work).await?;
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
    async fn work_action(&self, step: &Step) -> Result<pb::work_item::Action> {
        use pb::work_item::Action;
        Ok(match step.action {
            StepAction::RunPlaybook => {
                let options = step.run_options.clone();
                Action::PlaybookRun(pb::PlaybookRun {
                    playbook: step.playbook.clone(),
                    extra_vars: Some(convert::json_object_to_struct(&serde_json::Value::Object(
                        step.extra_vars.clone(),
                    ))?),
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
                let row = store::suggestions::find(self.db(), &suggestion_id).await?;
                // The agent names its branch and checks the finding by the id it reported.
                let suggestion = pb::Suggestion {
                    suggestion_id: row.finding.finding_id.clone(),
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
                Action::GenerateTemplate(convert::template_message(template))
            }
        })
    }

    /// The bus message for a queued step, or `None` when the step is not queued any more.
    pub(crate) async fn work_item(
        &self,
        step_id: Uuid,
    ) -> Result<Option<(pb::WorkItem, Envelope)>> {
        let Some(step) = store::steps::find(self.db(), step_id).await? else {
            return Ok(None);
        };
        let (StepStatus::Queued, Some(work_id)) = (step.status, step.work_id) else {
            return Ok(None);
        };
        let plan =
            store::plans::find(self.db(), step.plan_id)
                .await
                .map_err(|error| match error {
                    OrchestratorError::NotFound { .. } => OrchestratorError::corrupt(
                        "step",
                        format!("plan {} is missing", step.plan_id),
                    ),
                    other => other,
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

/// One line for a task event, e.g. "changed: Write compose file on kuma.home.arpa".
pub(crate) fn describe_task(task: &pb::TaskEvent) -> String {
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
