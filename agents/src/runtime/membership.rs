//! Registration, heartbeats and catalog reports: how the orchestrator knows this process is
//! alive, what it can run, and which of its work must stop.

use super::retry::{Backoff, FailureLog, sleep_unless, status_kind};
use super::{Agent, AgentCatalog, RPC_TIMEOUT};
use crate::AgentError;
use chiffon_proto::v1::{HeartbeatRequest, RegisterAgentRequest, ReportCatalogRequest};
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
            let AgentCatalog { playbooks, issues } = self.executor.catalog();
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

    /// Reports every new catalog the executor publishes with `ReportCatalog` until the agent
    /// stops. While the orchestrator is unreachable it retries, and a newer catalog replaces the
    /// one waiting to go out. NOT_FOUND means the orchestrator no longer knows this process: the
    /// heartbeat loop registers again, which sends the current catalog anyway.
    pub(super) async fn catalog_loop(self: Arc<Self>, mut updates: watch::Receiver<AgentCatalog>) {
        loop {
            tokio::select! {
                changed = updates.changed() => {
                    if changed.is_err() {
                        // The executor dropped its sender: the catalog no longer changes.
                        return;
                    }
                }
                () = self.stop.cancelled() => return,
            }
            if !self.report_catalog(&mut updates).await {
                return;
            }
        }
    }

    /// Sends the latest catalog of `updates` until the orchestrator takes it (or refuses it for
    /// good); false when the agent stopped first.
    async fn report_catalog(&self, updates: &mut watch::Receiver<AgentCatalog>) -> bool {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut failures = FailureLog::new("reporting the catalog to the orchestrator");
        loop {
            let AgentCatalog { playbooks, issues } = updates.borrow_and_update().clone();
            let playbook_count = playbooks.len();
            let issue_count = issues.len();
            let request = ReportCatalogRequest {
                agent_id: self.config.agent_id.clone(),
                instance_id: self.instance_id.clone(),
                playbooks,
                catalog_issues: issues,
            };
            match self
                .client
                .clone()
                .report_catalog(with_deadline(request))
                .await
            {
                Ok(_) => {
                    failures.succeeded();
                    tracing::info!(
                        playbook_count,
                        issue_count,
                        "catalog reported to the orchestrator"
                    );
                    return true;
                }
                Err(status) if status.code() == tonic::Code::NotFound => {
                    failures.succeeded();
                    tracing::info!(
                        "the orchestrator does not know this process; registering again with the new catalog"
                    );
                    self.reregister.notify_one();
                    return true;
                }
                Err(status) if FATAL_CODES.contains(&status.code()) => {
                    // A catalog the orchestrator refuses (or an orchestrator without
                    // ReportCatalog) must not stop the agent from running work; the next
                    // registration sends the catalog again.
                    tracing::error!(%status, "the orchestrator refused the catalog");
                    return true;
                }
                Err(status) => failures.failed(status_kind(&status), &status),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => {}
                // A newer catalog goes out at once instead of the stale one after the delay.
                // (Once the executor drops its sender this branch is disabled: the last catalog
                // is retried on the delay.)
                Ok(()) = updates.changed() => {}
                () = self.stop.cancelled() => return false,
            }
        }
    }
}
