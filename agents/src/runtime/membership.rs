//! Registration, heartbeats, and catalog and suggestion reports: how the orchestrator knows this
//! process is alive, what it can run, and which of its work must stop.

use super::retry::{Backoff, FailureLog, sleep_unless, status_kind};
use super::{Agent, AgentCatalog, RPC_TIMEOUT};
use crate::AgentError;
use chiffon_proto::v1::{
    HeartbeatRequest, RegisterAgentRequest, ReportCatalogRequest, ReportSuggestionsRequest,
    Suggestion,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Codes that retrying cannot fix: the orchestrator understood the request and refuses it.
const FATAL_CODES: &[tonic::Code] = &[
    tonic::Code::InvalidArgument,
    tonic::Code::PermissionDenied,
    tonic::Code::Unauthenticated,
    tonic::Code::Unimplemented,
];

/// `request` with the agent's standard deadline.
pub(super) fn with_deadline<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(RPC_TIMEOUT);
    request
}

impl Agent {
    /// Registers this process with its catalog, retrying while the orchestrator is unreachable.
    /// Returns the heartbeat interval to use, or `None` when stopped first.
    pub(super) async fn register(&self) -> Result<Option<Duration>, AgentError> {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut failures = FailureLog::new("registering with the orchestrator");
        loop {
            // Read on every attempt: the catalog may have changed while the orchestrator was
            // unreachable.
            let AgentCatalog {
                playbooks,
                issues,
                inventories,
            } = self.executor.catalog();
            let playbook_count = playbooks.len();
            let issue_count = issues.len();
            let request = RegisterAgentRequest {
                agent_id: self.config.agent_id.clone(),
                kind: self.config.kind.into(),
                hostname: self.config.hostname.clone(),
                version: self.config.version.clone(),
                instance_id: self.instance_id.clone(),
                playbooks,
                catalog_issues: issues,
                inventories,
            };
            match self
                .client
                .clone()
                .register_agent(with_deadline(request))
                .await
            {
                Ok(response) => {
                    failures.succeeded();
                    let interval = response
                        .into_inner()
                        .heartbeat_interval
                        .and_then(|d| Duration::try_from(d).ok())
                        .filter(|d| !d.is_zero())
                        .unwrap_or(self.config.heartbeat_interval);
                    tracing::info!(
                        playbook_count,
                        issue_count,
                        heartbeat = ?interval,
                        "registered with the orchestrator"
                    );
                    self.executor.registered();
                    return Ok(Some(interval));
                }
                Err(status) if FATAL_CODES.contains(&status.code()) => {
                    return Err(AgentError::Rejected {
                        agent_id: self.config.agent_id.clone(),
                        code: status.code(),
                        message: status.message().to_owned(),
                    });
                }
                Err(status) => failures.failed(status_kind(&status), &status),
            }
            if !sleep_unless(backoff.next_delay(), &self.stop).await {
                return Ok(None);
            }
        }
    }

    /// Heartbeats every `interval` until the agent stops. Registers again when the orchestrator
    /// no longer knows this process (a heartbeat or another call answered NOT_FOUND, see
    /// `reregister`), and stops the work it names.
    pub(super) async fn heartbeat_loop(self: Arc<Self>, mut interval: Duration) {
        let mut failures = FailureLog::new("sending a heartbeat");
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = self.reregister.notified() => {
                    match self.register().await {
                        Ok(Some(new_interval)) => interval = new_interval,
                        Ok(None) => return,
                        Err(error) => return self.fail(error),
                    }
                    continue;
                }
                () = self.stop.cancelled() => return,
            }
            let request = HeartbeatRequest {
                agent_id: self.config.agent_id.clone(),
                instance_id: self.instance_id.clone(),
                running_work_ids: self.running_work_ids(),
            };
            match self.client.clone().heartbeat(with_deadline(request)).await {
                Ok(response) => {
                    failures.succeeded();
                    for work_id in response.into_inner().stop_work_ids {
                        self.stop_work(&work_id, "the orchestrator asked to stop it");
                    }
                }
                Err(status) if status.code() == tonic::Code::NotFound => {
                    failures.succeeded();
                    tracing::info!(
                        "the orchestrator does not know this process; registering again"
                    );
                    match self.register().await {
                        Ok(Some(new_interval)) => interval = new_interval,
                        Ok(None) => return,
                        Err(error) => return self.fail(error),
                    }
                }
                Err(status) => failures.failed(status_kind(&status), &status),
            }
        }
    }

    /// Reports every new value of `updates` with `R` until the agent stops. While the
    /// orchestrator is unreachable it retries, and a newer value replaces the one waiting to go
    /// out. NOT_FOUND means the orchestrator no longer knows this process: the heartbeat loop
    /// registers again, and the registration brings the state up to date (it carries the
    /// catalog, and starts a new lint whose suggestions are reported in turn).
    pub(super) async fn report_loop<R: Report>(
        self: Arc<Self>,
        mut updates: watch::Receiver<R::Value>,
    ) {
        loop {
            tokio::select! {
                changed = updates.changed() => {
                    if changed.is_err() {
                        // The executor dropped its sender: nothing changes any more.
                        return;
                    }
                }
                () = self.stop.cancelled() => return,
            }
            if !self.report::<R>(&mut updates).await {
                return;
            }
        }
    }

    /// Sends the latest value of `updates` until the orchestrator takes it (or refuses it for
    /// good); false when the agent stopped first.
    async fn report<R: Report>(&self, updates: &mut watch::Receiver<R::Value>) -> bool {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut failures = FailureLog::new(R::WHAT);
        loop {
            let value = updates.borrow_and_update().clone();
            match R::send(self, value).await {
                Ok(()) => {
                    failures.succeeded();
                    return true;
                }
                Err(status) if status.code() == tonic::Code::NotFound => {
                    failures.succeeded();
                    tracing::info!(
                        "the orchestrator does not know this process; registering again"
                    );
                    self.reregister.notify_one();
                    return true;
                }
                Err(status) if FATAL_CODES.contains(&status.code()) => {
                    // A report the orchestrator refuses (or an orchestrator without the call)
                    // must not stop the agent from running work; the next change or
                    // registration sends it again.
                    tracing::error!(%status, "the orchestrator refused {}", R::WHAT);
                    return true;
                }
                Err(status) => failures.failed(status_kind(&status), &status),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => {}
                // A newer value goes out at once instead of the stale one after the delay.
                // (Once the executor drops its sender this branch is disabled: the last value
                // is retried on the delay.)
                Ok(()) = updates.changed() => {}
                () = self.stop.cancelled() => return false,
            }
        }
    }
}

/// Something the agent keeps the orchestrator informed of while it runs.
#[async_trait::async_trait]
pub(super) trait Report: Send + Sync + 'static {
    /// What is reported.
    type Value: Clone + Send + Sync + 'static;
    /// What reporting it is called in logs, e.g. "reporting the catalog to the orchestrator".
    const WHAT: &'static str;
    /// Sends one value.
    async fn send(agent: &Agent, value: Self::Value) -> Result<(), tonic::Status>;
}

/// The catalog, with `ReportCatalog`.
pub(super) struct CatalogReport;

#[async_trait::async_trait]
impl Report for CatalogReport {
    type Value = AgentCatalog;
    const WHAT: &'static str = "reporting the catalog to the orchestrator";

    async fn send(agent: &Agent, catalog: AgentCatalog) -> Result<(), tonic::Status> {
        let AgentCatalog {
            playbooks,
            issues,
            inventories,
        } = catalog;
        let (playbook_count, issue_count) = (playbooks.len(), issues.len());
        let request = ReportCatalogRequest {
            agent_id: agent.config.agent_id.clone(),
            instance_id: agent.instance_id.clone(),
            playbooks,
            catalog_issues: issues,
            inventories,
        };
        agent
            .client
            .clone()
            .report_catalog(with_deadline(request))
            .await?;
        tracing::info!(
            playbook_count,
            issue_count,
            "catalog reported to the orchestrator"
        );
        Ok(())
    }
}

/// ansible-lint's findings, with `ReportSuggestions`.
pub(super) struct SuggestionReport;

#[async_trait::async_trait]
impl Report for SuggestionReport {
    type Value = Vec<Suggestion>;
    const WHAT: &'static str = "reporting suggestions to the orchestrator";

    async fn send(agent: &Agent, suggestions: Vec<Suggestion>) -> Result<(), tonic::Status> {
        let finding_count = suggestions.len();
        let request = ReportSuggestionsRequest {
            agent_id: agent.config.agent_id.clone(),
            instance_id: agent.instance_id.clone(),
            suggestions,
        };
        let response = agent
            .client
            .clone()
            .report_suggestions(with_deadline(request))
            .await?
            .into_inner();
        tracing::info!(
            finding_count,
            open = response.open_count,
            "suggestions reported to the orchestrator"
        );
        Ok(())
    }
}
