//! `chiffon.v1.OrchestratorService`.

use super::id;
use crate::convert;
use crate::engine::{Orchestrator, PlanWithSteps};
use crate::validate::validate_run_options;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorService;
use futures::Stream;
use std::pin::Pin;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Serves the orchestrator API.
pub struct OrchestratorApi {
    orchestrator: Orchestrator,
}

impl OrchestratorApi {
    /// The API over `orchestrator`.
    pub fn new(orchestrator: Orchestrator) -> Self {
        Self { orchestrator }
    }
}

fn plan(plan: &PlanWithSteps) -> Result<pb::Plan, Status> {
    Ok(convert::plan(&plan.plan, &plan.steps)?)
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchRequestResponse, Status>> + Send>>;

#[tonic::async_trait]
impl OrchestratorService for OrchestratorApi {
    async fn submit_request(
        &self,
        request: Request<pb::SubmitRequestRequest>,
    ) -> Result<Response<pb::SubmitRequestResponse>, Status> {
        let request = request.into_inner();
        let (request, proposed) = self
            .orchestrator
            .submit(
                &request.text,
                validate_run_options(request.run_options.as_ref())?,
            )
            .await?;
        Ok(Response::new(pb::SubmitRequestResponse {
            request: Some(convert::request(&request)),
            plan: Some(plan(&proposed)?),
        }))
    }

    async fn get_request(
        &self,
        request: Request<pb::GetRequestRequest>,
    ) -> Result<Response<pb::GetRequestResponse>, Status> {
        let found = self
            .orchestrator
            .get_request(id("request_id", &request.into_inner().request_id)?)
            .await?;
        Ok(Response::new(pb::GetRequestResponse {
            request: Some(convert::request(&found)),
        }))
    }

    async fn list_requests(
        &self,
        request: Request<pb::ListRequestsRequest>,
    ) -> Result<Response<pb::ListRequestsResponse>, Status> {
        let request = request.into_inner();
        let status = convert::request_status_filter(request.status());
        let (requests, next_page_token) = self
            .orchestrator
            .list_requests(request.page_size, &request.page_token, status)
            .await?;
        Ok(Response::new(pb::ListRequestsResponse {
            requests: requests.iter().map(convert::request).collect(),
            next_page_token,
        }))
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        let request = request.into_inner();
        let found = self
            .orchestrator
            .get_plan(id("request_id", &request.request_id)?, request.revision)
            .await?;
        Ok(Response::new(pb::GetPlanResponse {
            plan: Some(plan(&found)?),
        }))
    }

    async fn approve_plan(
        &self,
        request: Request<pb::ApprovePlanRequest>,
    ) -> Result<Response<pb::ApprovePlanResponse>, Status> {
        let request = request.into_inner();
        let (updated, approved) = self
            .orchestrator
            .approve(
                id("plan_id", &request.plan_id)?,
                &request.content_hash,
                &request.approver,
                &request.comment,
            )
            .await?;
        Ok(Response::new(pb::ApprovePlanResponse {
            request: Some(convert::request(&updated)),
            plan: Some(plan(&approved)?),
        }))
    }

    async fn reject_plan(
        &self,
        request: Request<pb::RejectPlanRequest>,
    ) -> Result<Response<pb::RejectPlanResponse>, Status> {
        let request = request.into_inner();
        let updated = self
            .orchestrator
            .reject(
                id("plan_id", &request.plan_id)?,
                &request.reason,
                &request.approver,
            )
            .await?;
        Ok(Response::new(pb::RejectPlanResponse {
            request: Some(convert::request(&updated)),
        }))
    }

    async fn revise_plan(
        &self,
        request: Request<pb::RevisePlanRequest>,
    ) -> Result<Response<pb::RevisePlanResponse>, Status> {
        let request = request.into_inner();
        let revised = self
            .orchestrator
            .revise(
                id("plan_id", &request.plan_id)?,
                &request.feedback,
                &request.approver,
            )
            .await?;
        Ok(Response::new(pb::RevisePlanResponse {
            plan: Some(plan(&revised)?),
        }))
    }

    async fn cancel_request(
        &self,
        request: Request<pb::CancelRequestRequest>,
    ) -> Result<Response<pb::CancelRequestResponse>, Status> {
        let request = request.into_inner();
        let updated = self
            .orchestrator
            .cancel(id("request_id", &request.request_id)?, &request.reason)
            .await?;
        Ok(Response::new(pb::CancelRequestResponse {
            request: Some(convert::request(&updated)),
        }))
    }

    async fn rerun_failed_hosts(
        &self,
        request: Request<pb::RerunFailedHostsRequest>,
    ) -> Result<Response<pb::RerunFailedHostsResponse>, Status> {
        let request = request.into_inner();
        let (rerun, approved, hosts) = self
            .orchestrator
            .rerun_failed_hosts(id("request_id", &request.request_id)?, &request.approver)
            .await?;
        Ok(Response::new(pb::RerunFailedHostsResponse {
            request: Some(convert::request(&rerun)),
            plan: Some(plan(&approved)?),
            hosts,
        }))
    }

    type WatchRequestStream = WatchStream;

    async fn watch_request(
        &self,
        request: Request<pb::WatchRequestRequest>,
    ) -> Result<Response<Self::WatchRequestStream>, Status> {
        let request = request.into_inner();
        let events = self
            .orchestrator
            .watch(
                id("request_id", &request.request_id)?,
                request.after_sequence,
            )
            .await?;
        let stream = ReceiverStream::new(events).map(|event| {
            event
                .map(|event| pb::WatchRequestResponse { event: Some(event) })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
