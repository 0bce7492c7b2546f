//! The harness of the orchestrator's end-to-end tests: a real SQLite database and the in-process
//! bus, with the test playing the infrastructure agent exactly as docs/protocol.md says
//! (registering, reporting suggestions, consuming WorkItems, claiming them, publishing
//! WorkResults).

#![allow(dead_code, reason = "each test binary uses only part of the harness")]

use chiffon_bus::memory::MemoryBus;
use chiffon_bus::{Bus, BusMessage, BusSettings, Destination, Envelope, Subscription};
use chiffon_orchestrator::grpc::{AgentApi, OrchestratorApi, SuggestionApi};
use chiffon_orchestrator::{Orchestrator, OrchestratorConfig};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_server::AgentService as _;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorService as _;
use chiffon_proto::v1::suggestion_service_server::SuggestionService as _;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::Request;

pub const AGENT: &str = "infra-test";
pub const INSTANCE: &str = "11111111-1111-4111-8111-111111111111";
/// A second infrastructure agent on the same queue.
pub const OTHER_AGENT: &str = "infra-other";
pub const OTHER_INSTANCE: &str = "22222222-2222-4222-8222-222222222222";
/// Guards every wait so a broken flow fails instead of hanging; never an assertion on time.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Harness {
    pub orchestrator: Orchestrator,
    pub agents: AgentApi,
    pub requests: OrchestratorApi,
    pub suggestions: SuggestionApi,
    pub bus: MemoryBus,
    pub work: Subscription,
    pub shutdown: CancellationToken,
    pub _dir: tempfile::TempDir,
}

pub fn playbook(path: &str, name: &str, tags: &[&str]) -> pb::Playbook {
    pb::Playbook {
        path: path.into(),
        name: name.into(),
        hosts: vec!["all".into()],
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        services: tags.iter().take(1).map(|tag| (*tag).to_owned()).collect(),
        ..pb::Playbook::default()
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(OrchestratorConfig::default()).await
    }

    pub async fn start_with(config: OrchestratorConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("chiffon.db").display()
        );
        let db = chiffon_orchestrator::store::connect(&url)
            .await
            .expect("database");
        let shutdown = CancellationToken::new();
        let bus = MemoryBus::new(BusSettings::default(), shutdown.clone());
        let orchestrator = Orchestrator::start(db, Arc::new(bus.clone()), config, shutdown.clone())
            .await
            .expect("orchestrator");
        let work = bus
            .subscribe(Destination::Work(pb::AgentKind::Infra))
            .await
            .expect("work queue");
        let harness = Self {
            agents: AgentApi::new(orchestrator.clone()),
            requests: OrchestratorApi::new(orchestrator.clone()),
            suggestions: SuggestionApi::new(orchestrator.clone()),
            orchestrator,
            bus,
            work,
            shutdown,
            _dir: dir,
        };
        harness.register(AGENT, INSTANCE).await;
        harness
    }

    pub async fn register(&self, agent_id: &str, instance_id: &str) {
        self.agents
            .register_agent(Request::new(pb::RegisterAgentRequest {
                agent_id: agent_id.into(),
                kind: pb::AgentKind::Infra as i32,
                hostname: "localhost".into(),
                version: "test".into(),
                instance_id: instance_id.into(),
                playbooks: vec![
                    playbook(
                        "playbooks/deploy-uptime-kuma.yml",
                        "Deploy Uptime Kuma",
                        &["uptime-kuma", "monitoring"],
                    ),
                    pb::Playbook {
                        description: "Adds every portal defined for the web hosts to Uptime \
                                      Kuma as a monitor."
                            .into(),
                        ..playbook(
                            "playbooks/configure-uptime-kuma-monitors.yml",
                            "Configure Uptime Kuma monitors",
                            &["uptime-kuma", "monitors"],
                        )
                    },
                    playbook(
                        "playbooks/backup-nas.yml",
                        "Back up the NAS",
                        &["backup", "nas"],
                    ),
                ],
                catalog_issues: Vec::new(),
                inventories: Vec::new(),
            }))
            .await
            .expect("register");
    }

    pub async fn report(
        &self,
        agent_id: &str,
        findings: Vec<pb::Suggestion>,
    ) -> Result<i32, tonic::Status> {
        let instance = if agent_id == AGENT {
            INSTANCE
        } else {
            "22222222-2222-4222-8222-222222222222"
        };
        Ok(self
            .agents
            .report_suggestions(Request::new(pb::ReportSuggestionsRequest {
                agent_id: agent_id.into(),
                instance_id: instance.into(),
                suggestions: findings,
            }))
            .await?
            .into_inner()
            .open_count)
    }

    pub async fn list(&self, request: pb::ListSuggestionsRequest) -> pb::ListSuggestionsResponse {
        self.suggestions
            .list_suggestions(Request::new(request))
            .await
            .expect("list suggestions")
            .into_inner()
    }

    pub async fn get(&self, suggestion_id: &str) -> pb::Suggestion {
        self.suggestions
            .get_suggestion(Request::new(pb::GetSuggestionRequest {
                suggestion_id: suggestion_id.into(),
            }))
            .await
            .expect("get suggestion")
            .into_inner()
            .suggestion
            .expect("a suggestion")
    }

    pub async fn accept(
        &self,
        suggestion_id: &str,
    ) -> Result<pb::AcceptSuggestionResponse, tonic::Status> {
        Ok(self
            .suggestions
            .accept_suggestion(Request::new(pb::AcceptSuggestionRequest {
                suggestion_id: suggestion_id.into(),
                approver: "alice".into(),
            }))
            .await?
            .into_inner())
    }

    pub async fn submit(
        &self,
        text: &str,
        run_options: Option<pb::RunOptions>,
    ) -> Result<pb::SubmitRequestResponse, tonic::Status> {
        Ok(self
            .requests
            .submit_request(Request::new(pb::SubmitRequestRequest {
                text: text.into(),
                run_options,
            }))
            .await?
            .into_inner())
    }

    pub async fn approve(&self, plan: &pb::Plan) {
        self.requests
            .approve_plan(Request::new(pb::ApprovePlanRequest {
                plan_id: plan.plan_id.clone(),
                content_hash: plan.content_hash.clone(),
                approver: "alice".into(),
                comment: String::new(),
            }))
            .await
            .expect("approve");
    }

    /// The next WorkItem on the infra queue, claimed as the agent does before running it.
    pub async fn next_work(&mut self) -> pb::WorkItem {
        let delivery = tokio::time::timeout(PATIENCE, self.work.next())
            .await
            .expect("a work item in time")
            .expect("the work queue is open");
        let BusMessage::WorkItem(item) = delivery.message.clone() else {
            panic!("not a work item: {:?}", delivery.message);
        };
        delivery.ack().await.expect("ack");
        let claim = self.claim(&item, AGENT, INSTANCE).await;
        assert_eq!(
            claim.outcome(),
            pb::ClaimOutcome::Granted,
            "{}",
            claim.detail
        );
        item
    }

    /// Marks `agent_id` offline in the database, as the reaper does when its heartbeats stop.
    pub async fn mark_offline(&self, agent_id: &str) {
        use chiffon_entity::agent;
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};
        let url = format!(
            "sqlite://{}?mode=rw",
            self._dir.path().join("chiffon.db").display()
        );
        let db = sea_orm::Database::connect(&url).await.expect("database");
        agent::Entity::update_many()
            .col_expr(
                agent::Column::Status,
                Expr::value(agent::AgentStatus::Offline),
            )
            .filter(agent::Column::Id.eq(agent_id))
            .exec(&db)
            .await
            .expect("mark offline");
    }

    /// What the orchestrator answers `agent_id` claiming `item`.
    pub async fn claim(
        &self,
        item: &pb::WorkItem,
        agent_id: &str,
        instance_id: &str,
    ) -> pb::ClaimWorkResponse {
        self.agents
            .claim_work(Request::new(pb::ClaimWorkRequest {
                work_id: item.work_id.clone(),
                agent_id: agent_id.into(),
                instance_id: instance_id.into(),
            }))
            .await
            .expect("claim")
            .into_inner()
    }

    /// Publishes the outcome of `item` and waits until the orchestrator recorded it.
    pub async fn finish(&self, item: &pb::WorkItem, result: pb::WorkResult) {
        let result = pb::WorkResult {
            work_id: item.work_id.clone(),
            request_id: item.request_id.clone(),
            step_id: item.step_id.clone(),
            agent_id: AGENT.into(),
            ..result
        };
        let mut events = self
            .orchestrator
            .watch(item.request_id.parse().expect("a request id"), 0)
            .await
            .expect("watch");
        self.bus
            .publish(
                Destination::Status,
                BusMessage::WorkResult(result),
                Envelope::default(),
            )
            .await
            .expect("publish the result");
        tokio::time::timeout(PATIENCE, async {
            while let Some(event) = events.recv().await {
                let event = event.expect("event");
                if event.step_id == item.step_id
                    && matches!(
                        event.kind(),
                        pb::RequestEventKind::StepSucceeded | pb::RequestEventKind::StepFailed
                    )
                {
                    return;
                }
            }
            panic!("the watch ended before the result was recorded");
        })
        .await
        .expect("the result recorded in time");
    }

    pub async fn request(&self, request_id: &str) -> pb::Request {
        self.requests
            .get_request(Request::new(pb::GetRequestRequest {
                request_id: request_id.into(),
            }))
            .await
            .expect("get request")
            .into_inner()
            .request
            .expect("a request")
    }

    pub async fn plan(&self, request_id: &str) -> pb::Plan {
        self.requests
            .get_plan(Request::new(pb::GetPlanRequest {
                request_id: request_id.into(),
                revision: 0,
            }))
            .await
            .expect("get plan")
            .into_inner()
            .plan
            .expect("a plan")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.orchestrator.stopped().await;
    }
}
