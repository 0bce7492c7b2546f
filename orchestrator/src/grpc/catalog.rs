//! `chiffon.v1.CatalogService`.

use crate::catalog::PlaybookFilter;
use crate::convert;
use crate::engine::Orchestrator;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::catalog_service_server::CatalogService;
use tonic::{Request, Response, Status};

/// Serves the catalog API.
pub struct CatalogApi {
    orchestrator: Orchestrator,
}

impl CatalogApi {
    /// The API over `orchestrator`.
    pub fn new(orchestrator: Orchestrator) -> Self {
        Self { orchestrator }
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_playbooks(
        &self,
        request: Request<pb::ListPlaybooksRequest>,
    ) -> Result<Response<pb::ListPlaybooksResponse>, Status> {
        let request = request.into_inner();
        let filter = PlaybookFilter {
            tag: request.tag,
            host: request.host,
            service: request.service,
            agent_id: request.agent_id,
        };
        let playbooks = self.orchestrator.list_playbooks(&filter).await?;
        Ok(Response::new(pb::ListPlaybooksResponse { playbooks }))
    }

    async fn get_playbook(
        &self,
        request: Request<pb::GetPlaybookRequest>,
    ) -> Result<Response<pb::GetPlaybookResponse>, Status> {
        let playbook = self
            .orchestrator
            .get_playbook(&request.into_inner().path)
            .await?;
        Ok(Response::new(pb::GetPlaybookResponse {
            playbook: Some(playbook),
        }))
    }

    async fn match_playbooks(
        &self,
        request: Request<pb::MatchPlaybooksRequest>,
    ) -> Result<Response<pb::MatchPlaybooksResponse>, Status> {
        let request = request.into_inner();
        let outcome = self
            .orchestrator
            .match_playbooks(&request.task, request.limit)
            .await?;
        Ok(Response::new(convert::match_response(outcome)))
    }

    async fn list_catalog_issues(
        &self,
        request: Request<pb::ListCatalogIssuesRequest>,
    ) -> Result<Response<pb::ListCatalogIssuesResponse>, Status> {
        let issues = self
            .orchestrator
            .list_catalog_issues(&request.into_inner().agent_id)
            .await?;
        Ok(Response::new(pb::ListCatalogIssuesResponse { issues }))
    }

    async fn list_inventories(
        &self,
        request: Request<pb::ListInventoriesRequest>,
    ) -> Result<Response<pb::ListInventoriesResponse>, Status> {
        let inventories = self
            .orchestrator
            .list_inventories(&request.into_inner().agent_id)
            .await?;
        Ok(Response::new(pb::ListInventoriesResponse { inventories }))
    }
}
