//! `chiffon.v1.AgentService`.

use super::id;
use crate::catalog::CatalogReport;
use crate::convert;
use crate::domain::{AgentRegistration, AgentStatus, Finding};
use crate::engine::{Claim, Orchestrator};
use crate::error::{OrchestratorError, Result as OrchestratorResult};
use crate::validate::validate_agent_id;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_server::AgentService;
use tonic::{Request, Response, Status};

/// Serves the agent API.
pub struct AgentApi {
    orchestrator: Orchestrator,
}

impl AgentApi {
    /// The API over `orchestrator`.
    pub fn new(orchestrator: Orchestrator) -> Self {
        Self { orchestrator }
    }
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn register_agent(
        &self,
        request: Request<pb::RegisterAgentRequest>,
    ) -> Result<Response<pb::RegisterAgentResponse>, Status> {
        let request = request.into_inner();
        let playbooks = request.playbooks.len();
        let agent = self
            .orchestrator
            .register_agent(registration(&request)?)
            .await?;
        let interval = self.orchestrator.config().heartbeat_interval;
        Ok(Response::new(pb::RegisterAgentResponse {
            agent: Some(convert::agent(&agent, playbooks)),
            heartbeat_interval: Some(prost_types::Duration {
                seconds: interval.as_secs() as i64,
                nanos: interval.subsec_nanos() as i32,
            }),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let request = request.into_inner();
        let stop_work_ids = self
            .orchestrator
            .heartbeat(
                &request.agent_id,
                &request.instance_id,
                &request.running_work_ids,
            )
            .await?;
        Ok(Response::new(pb::HeartbeatResponse { stop_work_ids }))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let request = request.into_inner();
        let status = match request.status() {
            pb::AgentStatus::Unspecified => None,
            pb::AgentStatus::Online => Some(AgentStatus::Online),
            pb::AgentStatus::Offline => Some(AgentStatus::Offline),
        };
        let agents = self
            .orchestrator
            .list_agents(convert::agent_kind_filter(request.kind()), status)
            .await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: agents
                .iter()
                .map(|(agent, count)| convert::agent(agent, *count))
                .collect(),
        }))
    }

    async fn claim_work(
        &self,
        request: Request<pb::ClaimWorkRequest>,
    ) -> Result<Response<pb::ClaimWorkResponse>, Status> {
        let request = request.into_inner();
        let claim = self
            .orchestrator
            .claim_work(
                id("work_id", &request.work_id)?,
                &request.agent_id,
                &request.instance_id,
            )
            .await?;
        let (outcome, detail) = match claim {
            Claim::Granted => (pb::ClaimOutcome::Granted, String::new()),
            Claim::HeldElsewhere(detail) => (pb::ClaimOutcome::HeldElsewhere, detail),
            Claim::NotRunnable(detail) => (pb::ClaimOutcome::NotRunnable, detail),
            Claim::OtherAgent(detail) => (pb::ClaimOutcome::OtherAgent, detail),
        };
        Ok(Response::new(pb::ClaimWorkResponse {
            outcome: outcome as i32,
            detail,
        }))
    }

    async fn report_catalog(
        &self,
        request: Request<pb::ReportCatalogRequest>,
    ) -> Result<Response<pb::ReportCatalogResponse>, Status> {
        let request = request.into_inner();
        let count = self
            .orchestrator
            .report_catalog(
                &request.agent_id,
                &request.instance_id,
                &CatalogReport::checked(
                    &request.playbooks,
                    &request.catalog_issues,
                    &request.inventories,
                )?,
            )
            .await?;
        Ok(Response::new(pb::ReportCatalogResponse {
            playbook_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    async fn report_suggestions(
        &self,
        request: Request<pb::ReportSuggestionsRequest>,
    ) -> Result<Response<pb::ReportSuggestionsResponse>, Status> {
        let request = request.into_inner();
        let open = self
            .orchestrator
            .report_suggestions(
                &request.agent_id,
                &request.instance_id,
                &validate_findings(&request.suggestions)?,
            )
            .await?;
        Ok(Response::new(pb::ReportSuggestionsResponse {
            open_count: i32::try_from(open).unwrap_or(i32::MAX),
        }))
    }
}

/// The registration `request` asks for, checked.
fn registration(request: &pb::RegisterAgentRequest) -> Result<AgentRegistration<'_>, Status> {
    let agent_id = validate_agent_id(&request.agent_id)?;
    let kind = convert::agent_kind_filter(request.kind()).ok_or_else(|| {
        Status::invalid_argument("kind is required: AGENT_KIND_INFRA or AGENT_KIND_DESKTOP")
    })?;
    if request.instance_id.trim().is_empty() {
        return Err(Status::invalid_argument(
            "instance_id is required: a fresh UUID for every agent process",
        ));
    }
    Ok(AgentRegistration {
        agent_id,
        kind,
        hostname: &request.hostname,
        version: &request.version,
        instance_id: &request.instance_id,
        catalog: CatalogReport::checked(
            &request.playbooks,
            &request.catalog_issues,
            &request.inventories,
        )?,
    })
}

/// Longest finding id an agent may report.
const MAX_FINDING_ID: usize = 128;

/// Checks every finding of a report. A finding reported twice (ansible-lint can repeat one)
/// counts once.
fn validate_findings(findings: &[pb::Suggestion]) -> OrchestratorResult<Vec<Finding>> {
    let mut checked: Vec<Finding> = Vec::with_capacity(findings.len());
    for (index, message) in findings.iter().enumerate() {
        let which = || match message.suggestion_id.trim() {
            "" => format!("suggestion #{}", index + 1),
            id => format!("suggestion {id}"),
        };
        let finding_id = message.suggestion_id.trim();
        let valid_id = !finding_id.is_empty()
            && finding_id.len() <= MAX_FINDING_ID
            && finding_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_id {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} has an invalid suggestion_id: use 1 to {MAX_FINDING_ID} letters, digits, \
                 '.', '_' or '-', the same for the same finding on every lint",
                which()
            )));
        }
        if message.rule.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} names no rule: set the ansible-lint rule tag, e.g. \"no-changed-when\"",
                which()
            )));
        }
        if message.path.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} names no file: set its path relative to the repository root",
                which()
            )));
        }
        let category = pb::SuggestionCategory::try_from(message.category)
            .ok()
            .and_then(convert::suggestion_category_filter)
            .ok_or_else(|| {
                OrchestratorError::InvalidArgument(format!(
                    "{} has no known category: use one of SUGGESTION_CATEGORY_IDEMPOTENCY, \
                     _ERROR_HANDLING, _PERFORMANCE, _BEST_PRACTICES or _STANDARDS",
                    which()
                ))
            })?;
        let severity = pb::SuggestionSeverity::try_from(message.severity)
            .ok()
            .and_then(convert::suggestion_severity)
            .ok_or_else(|| {
                OrchestratorError::InvalidArgument(format!(
                    "{} has no known severity: use SUGGESTION_SEVERITY_ERROR or _WARNING",
                    which()
                ))
            })?;
        if checked.iter().any(|seen| seen.finding_id == finding_id) {
            continue;
        }
        checked.push(Finding {
            finding_id: finding_id.to_owned(),
            rule: message.rule.trim().to_owned(),
            category,
            title: message.title.clone(),
            reason: message.reason.clone(),
            details: message.details.clone(),
            path: message.path.trim().to_owned(),
            line: i64::from(message.line),
            severity,
            fixable: message.fixable,
            doc_url: message.doc_url.clone(),
        });
    }
    Ok(checked)
}
