//! `chiffon.v1.SuggestionService`.

use crate::convert;
use crate::engine::Orchestrator;
use crate::suggestions::SuggestionFilter;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::suggestion_service_server::SuggestionService;
use tonic::{Request, Response, Status};

/// Serves the suggestion API.
pub struct SuggestionApi {
    orchestrator: Orchestrator,
}

impl SuggestionApi {
    /// The API over `orchestrator`.
    pub fn new(orchestrator: Orchestrator) -> Self {
        Self { orchestrator }
    }
}

#[tonic::async_trait]
impl SuggestionService for SuggestionApi {
    async fn list_suggestions(
        &self,
        request: Request<pb::ListSuggestionsRequest>,
    ) -> Result<Response<pb::ListSuggestionsResponse>, Status> {
        let request = request.into_inner();
        let filter = SuggestionFilter {
            status: convert::suggestion_status_filter(request.status()),
            category: convert::suggestion_category_filter(request.category()),
            path: request.path,
            agent_id: request.agent_id,
        };
        let (suggestions, next_page_token) = self
            .orchestrator
            .list_suggestions(&filter, request.page_size, &request.page_token)
            .await?;
        Ok(Response::new(pb::ListSuggestionsResponse {
            suggestions,
            next_page_token,
        }))
    }

    async fn get_suggestion(
        &self,
        request: Request<pb::GetSuggestionRequest>,
    ) -> Result<Response<pb::GetSuggestionResponse>, Status> {
        let suggestion = self
            .orchestrator
            .get_suggestion(&request.into_inner().suggestion_id)
            .await?;
        Ok(Response::new(pb::GetSuggestionResponse {
            suggestion: Some(suggestion),
        }))
    }

    async fn accept_suggestion(
        &self,
        request: Request<pb::AcceptSuggestionRequest>,
    ) -> Result<Response<pb::AcceptSuggestionResponse>, Status> {
        let request = request.into_inner();
        let (suggestion, accepted, _plan) = self
            .orchestrator
            .accept_suggestion(&request.suggestion_id, &request.approver)
            .await?;
        Ok(Response::new(pb::AcceptSuggestionResponse {
            suggestion: Some(convert::suggestion(&suggestion)?),
            request: Some(convert::request(&accepted)),
        }))
    }
}
