//! Planning outside the request's lock: a slow planner holds no lock, and a plan made while the
//! request moved on is refused.

mod support;

use chiffon_orchestrator::OrchestratorConfig;
use chiffon_orchestrator::grpc::OrchestratorApi;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorService as _;
use std::sync::Arc;
use support::*;
use tonic::{Code, Request};

/// A planner that plans like the catalog planner, but whose second plan (the revision) waits
/// until the test lets it go, as a language model taking its time would.
struct HeldPlanner {
    calls: std::sync::atomic::AtomicUsize,
    planning: tokio::sync::Notify,
    go_on: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl chiffon_orchestrator::planner::Planner for HeldPlanner {
    fn name(&self) -> &str {
        "held"
    }

    async fn plan(
        &self,
        planning: &chiffon_orchestrator::planner::Planning<'_>,
    ) -> chiffon_orchestrator::Result<chiffon_orchestrator::planner::PlanDraft> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            self.planning.notify_one();
            self.go_on.notified().await;
        }
        Ok(chiffon_orchestrator::planner::plan_request(planning))
    }
}

#[tokio::test]
async fn a_slow_planner_holds_no_lock_and_its_plan_is_refused_if_the_request_moved_on() {
    let planner = Arc::new(HeldPlanner {
        calls: Default::default(),
        planning: tokio::sync::Notify::new(),
        go_on: tokio::sync::Notify::new(),
    });
    let config = OrchestratorConfig {
        planner: planner.clone(),
        ..OrchestratorConfig::default()
    };
    // SQLite has one connection: a transaction open while the planner works would stop every
    // other change to the database.
    let harness = Harness::start_with(config).await;
    let submitted = harness
        .submit("Deploy Uptime Kuma", None)
        .await
        .expect("submit");
    let plan = submitted.plan.expect("a plan");
    assert_eq!(plan.planner, "held");
    let request_id = submitted.request.expect("a request").request_id;

    let requests = OrchestratorApi::new(harness.orchestrator.clone());
    let plan_id = plan.plan_id.clone();
    let revising = tokio::spawn(async move {
        requests
            .revise_plan(Request::new(pb::RevisePlanRequest {
                plan_id,
                feedback: "also back up the NAS".into(),
                approver: "bob".into(),
            }))
            .await
    });
    tokio::time::timeout(PATIENCE, planner.planning.notified())
        .await
        .expect("the revision reaches the planner");

    // While the planner works, the request can still change: someone cancels it.
    let cancelled = tokio::time::timeout(
        PATIENCE,
        harness
            .requests
            .cancel_request(Request::new(pb::CancelRequestRequest {
                request_id: request_id.clone(),
                reason: "not today".into(),
            })),
    )
    .await
    .expect("cancelling does not wait for the planner")
    .expect("cancel");
    assert_eq!(
        cancelled.into_inner().request.expect("a request").status(),
        pb::RequestStatus::Cancelled
    );

    planner.go_on.notify_one();
    let refused = tokio::time::timeout(PATIENCE, revising)
        .await
        .expect("the revision ends")
        .expect("the revision task")
        .expect_err("a plan for a cancelled request is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let request = harness.request(&request_id).await;
    assert_eq!(
        request.current_plan_revision, 1,
        "no revision was recorded for the cancelled request"
    );
    harness.shutdown.cancel();
}
