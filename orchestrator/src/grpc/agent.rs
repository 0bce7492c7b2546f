//! `chiffon.v1.AgentService`.

use super::id;
use crate::catalog::CatalogReport;
use crate::convert;
use crate::domain::{AgentRegistration, AgentStatus};
use crate::engine::{Claim, Orchestrator};
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
                &request.suggestions,
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
