//! The agent runtime against a fake orchestrator (a real gRPC server on an ephemeral port), the
//! in-process bus and a scripted executor: claims, event ordering, results, cancellations,
//! re-registration and shutdown. The real orchestrator is exercised by the end-to-end tests.

use chiffon_agents::RunOutcome;
use chiffon_agents::runtime::{AgentConfig, Executor, run_agent};
use chiffon_bus::memory::MemoryBus;
use chiffon_bus::{Bus, BusMessage, BusSettings, Destination, Envelope, Subscription};
use chiffon_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use chiffon_proto::v1::{
    AgentKind, BusErrorCode, CancelWork, ClaimOutcome, ClaimWorkRequest, ClaimWorkResponse,
    HeartbeatRequest, HeartbeatResponse, ListAgentsRequest, ListAgentsResponse, PlaybookRun,
    RegisterAgentRequest, RegisterAgentResponse, TaskEvent, TaskEventKind, WorkItem, WorkResult,
    WorkStatus, work_event, work_item,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// Upper bound for anything a test waits for; only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// What the fake orchestrator saw and how it answers.
#[derive(Default)]
struct Orchestrator {
    registrations: Mutex<Vec<RegisterAgentRequest>>,
    heartbeats: Mutex<Vec<HeartbeatRequest>>,
    claims: Mutex<Vec<String>>,
    /// Claim answers by work id; anything else is granted.
    outcomes: Mutex<HashMap<String, ClaimOutcome>>,
    /// Answer the next heartbeat with NOT_FOUND, as after an orchestrator lost its state.
    forget_agent: AtomicBool,
    /// Work ids whose next claim fails as if the orchestrator were down.
    unavailable_once: Mutex<Vec<String>>,
    /// Work ids the next heartbeats tell the agent to stop.
    stop_ids: Mutex<Vec<String>>,
    registered: Notify,
}

#[tonic::async_trait]
impl AgentService for Orchestrator {
    async fn register_agent(
        &self,
        request: Request<RegisterAgentRequest>,
    ) -> Result<Response<RegisterAgentResponse>, Status> {
        self.registrations
            .lock()
            .unwrap()
            .push(request.into_inner());
        self.registered.notify_waiters();
        Ok(Response::new(RegisterAgentResponse {
            agent: None,
            heartbeat_interval: Some(prost_types::Duration {
                seconds: 0,
                nanos: 50_000_000,
            }),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        self.heartbeats.lock().unwrap().push(request.into_inner());
        if self.forget_agent.swap(false, Ordering::SeqCst) {
            return Err(Status::not_found("unknown agent instance"));
        }
        let stop_work_ids = self.stop_ids.lock().unwrap().clone();
        Ok(Response::new(HeartbeatResponse { stop_work_ids }))
    }

    async fn list_agents(
        &self,
        _request: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        Err(Status::unimplemented("not needed by agents"))
    }

    async fn claim_work(
        &self,
        request: Request<ClaimWorkRequest>,
    ) -> Result<Response<ClaimWorkResponse>, Status> {
        let work_id = request.into_inner().work_id;
        self.claims.lock().unwrap().push(work_id.clone());
        let mut unavailable = self.unavailable_once.lock().unwrap();
        if let Some(position) = unavailable.iter().position(|id| *id == work_id) {
            unavailable.remove(position);
            return Err(Status::unavailable("database restarting"));
        }
        drop(unavailable);
        let outcome = self
            .outcomes
            .lock()
            .unwrap()
            .get(&work_id)
            .copied()
            .unwrap_or(ClaimOutcome::Granted);
        Ok(Response::new(ClaimWorkResponse {
            outcome: outcome.into(),
            detail: "test".into(),
        }))
    }

    async fn report_catalog(
        &self,
        request: Request<chiffon_proto::v1::ReportCatalogRequest>,
    ) -> Result<Response<chiffon_proto::v1::ReportCatalogResponse>, Status> {
        let playbook_count = request.into_inner().playbooks.len() as i32;
        Ok(Response::new(chiffon_proto::v1::ReportCatalogResponse {
            playbook_count,
        }))
    }
}

/// Runs playbook "ok" as three events and a success; playbook "block" until cancelled.
#[derive(Default)]
struct ScriptedExecutor {
    executed: Mutex<Vec<String>>,
    started: Notify,
}

#[async_trait::async_trait]
impl Executor for ScriptedExecutor {
    fn catalog(&self) -> Vec<chiffon_proto::v1::Playbook> {
        vec![chiffon_proto::v1::Playbook {
            path: "playbooks/ok.yml".into(),
            ..Default::default()
        }]
    }

    async fn execute(
        &self,
        item: &WorkItem,
        cancel: CancellationToken,
        events: mpsc::Sender<TaskEvent>,
    ) -> RunOutcome {
        self.executed.lock().unwrap().push(item.work_id.clone());
        let Some(work_item::Action::PlaybookRun(run)) = &item.action else {
            return RunOutcome::ended_early(WorkStatus::Failed, "no action");
        };
        self.started.notify_waiters();
        if run.playbook == "block" {
            cancel.cancelled().await;
            return RunOutcome::ended_early(WorkStatus::Cancelled, "stopped");
        }
        for (kind, task) in [
            (TaskEventKind::PlayStarted, ""),
            (TaskEventKind::TaskStarted, "one"),
            (TaskEventKind::HostChanged, "one"),
        ] {
            let event = TaskEvent {
                kind: kind.into(),
                task: task.into(),
                ..Default::default()
            };
            if events.send(event).await.is_err() {
                break;
            }
        }
        RunOutcome {
            exit_code: 0,
            ..RunOutcome::ended_early(WorkStatus::Succeeded, "")
        }
    }
}

struct Harness {
    orchestrator: Arc<Orchestrator>,
    executor: Arc<ScriptedExecutor>,
    bus: MemoryBus,
    status: Subscription,
    shutdown: CancellationToken,
    agent: tokio::task::JoinHandle<Result<(), chiffon_agents::AgentError>>,
    server_stop: CancellationToken,
}

impl Harness {
    async fn start() -> Self {
        let orchestrator = Arc::new(Orchestrator::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server_stop = CancellationToken::new();
        let server = tonic::transport::Server::builder()
            .add_service(AgentServiceServer::from_arc(Arc::clone(&orchestrator)))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                server_stop.clone().cancelled_owned(),
            );
        tokio::spawn(server);

        let bus = MemoryBus::new(BusSettings::default(), CancellationToken::new());
        let status = bus
            .subscribe(Destination::Status)
            .await
            .expect("status subscription");
        let executor = Arc::new(ScriptedExecutor::default());
        let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect_lazy();
        let shutdown = CancellationToken::new();
        let registered = orchestrator.registered.notified();
        let agent = tokio::spawn(run_agent(
            AgentConfig::new("infra-test", AgentKind::Infra),
            Arc::clone(&executor) as Arc<dyn Executor>,
            Arc::new(bus.clone()),
            channel,
            shutdown.clone(),
        ));
        tokio::time::timeout(PATIENCE, registered)
            .await
            .expect("the agent registered");
        Self {
            orchestrator,
            executor,
            bus,
            status,
            shutdown,
            agent,
            server_stop,
        }
    }

    async fn send_work(&self, work_id: &str, playbook: Option<&str>) {
        let item = WorkItem {
            work_id: work_id.into(),
            request_id: format!("request-{work_id}"),
            plan_id: "plan".into(),
            step_id: "step".into(),
            attempt: 1,
            agent_kind: AgentKind::Infra.into(),
            action: playbook.map(|p| {
                work_item::Action::PlaybookRun(PlaybookRun {
                    playbook: p.into(),
                    ..Default::default()
                })
            }),
            ..Default::default()
        };
        self.bus
            .publish(
                Destination::Work(AgentKind::Infra),
                BusMessage::WorkItem(item),
                Envelope::default(),
            )
            .await
            .expect("publish work");
    }

    /// The next status message, acknowledged, with its envelope.
    async fn next_status(&mut self) -> (BusMessage, Envelope) {
        let delivery = tokio::time::timeout(PATIENCE, self.status.next())
            .await
            .expect("a status message in time")
            .expect("the bus is open");
        let message = (delivery.message.clone(), delivery.envelope.clone());
        delivery.ack().await.expect("ack");
        message
    }

    async fn next_result(&mut self) -> WorkResult {
        loop {
            if let (BusMessage::WorkResult(result), _) = self.next_status().await {
                return result;
            }
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(PATIENCE, self.agent)
            .await
            .expect("the agent stopped");
        result
            .expect("the agent task")
            .expect("the agent ended cleanly");
        self.server_stop.cancel();
    }
}

#[tokio::test]
async fn granted_work_reports_numbered_events_then_its_result_and_runs_once() {
    let mut harness = Harness::start().await;
    let registration = harness.orchestrator.registrations.lock().unwrap()[0].clone();
    assert_eq!(registration.agent_id, "infra-test");
    assert_eq!(registration.playbooks.len(), 1);
    assert!(uuid::Uuid::parse_str(&registration.instance_id).is_ok());

    harness.send_work("w1", Some("ok")).await;
    for sequence in 1..=3 {
        let (message, envelope) = harness.next_status().await;
        let BusMessage::WorkEvent(event) = message else {
            panic!("expected an event")
        };
        assert_eq!((event.work_id.as_str(), event.sequence), ("w1", sequence));
        assert_eq!(event.agent_id, "infra-test");
        assert!(matches!(event.detail, Some(work_event::Detail::Task(_))));
        assert_eq!(envelope.correlation_id, "request-w1");
        assert_eq!(envelope.idempotency_key, format!("event:w1:{sequence}"));
    }
    let (message, envelope) = harness.next_status().await;
    let BusMessage::WorkResult(result) = message else {
        panic!("expected the result")
    };
    assert_eq!(envelope.idempotency_key, "result:w1");
    assert_eq!(result.status(), WorkStatus::Succeeded);
    assert_eq!((result.event_count, result.exit_code), (3, 0));
    assert!(result.started_at.is_some() && result.finished_at.is_some());

    // A second copy of the same item (a redelivery) is granted again by an orchestrator to the
    // process holding the claim; the agent itself must refuse to run it twice.
    harness.send_work("w1", Some("ok")).await;
    harness.send_work("w2", Some("ok")).await;
    let next = harness.next_result().await;
    assert_eq!(next.work_id, "w2");
    assert_eq!(*harness.executor.executed.lock().unwrap(), ["w1", "w2"]);
    harness.stop().await;
}

#[tokio::test]
async fn refused_claims_and_items_without_action_never_run() {
    let mut harness = Harness::start().await;
    let mut dead_letters = harness
        .bus
        .subscribe_dead_letters()
        .await
        .expect("dead letters");
    harness.orchestrator.outcomes.lock().unwrap().extend([
        ("held".to_owned(), ClaimOutcome::HeldElsewhere),
        ("gone".to_owned(), ClaimOutcome::NotRunnable),
    ]);
    harness.send_work("held", Some("ok")).await;
    harness.send_work("gone", Some("ok")).await;
    harness.send_work("empty", None).await;
    harness.send_work("fine", Some("ok")).await;

    assert_eq!(harness.next_result().await.work_id, "fine");
    assert_eq!(*harness.executor.executed.lock().unwrap(), ["fine"]);
    let claims = harness.orchestrator.claims.lock().unwrap().clone();
    assert_eq!(
        claims,
        ["held", "gone", "fine"],
        "an invalid item is not even claimed"
    );
    let dead = tokio::time::timeout(PATIENCE, dead_letters.next())
        .await
        .expect("a dead letter in time")
        .expect("open");
    assert_eq!(dead.code, BusErrorCode::InvalidMessage);
    assert!(dead.reason.contains("no action"), "{}", dead.reason);
    harness.stop().await;
}

#[tokio::test]
async fn a_cancellation_on_the_control_fan_out_stops_running_work() {
    let mut harness = Harness::start().await;
    let started = harness.executor.started.notified();
    harness.send_work("long", Some("block")).await;
    tokio::time::timeout(PATIENCE, started)
        .await
        .expect("started");
    let cancel = CancelWork {
        work_id: "long".into(),
        request_id: "request-long".into(),
        reason: "the user aborted".into(),
    };
    harness
        .bus
        .publish(
            Destination::Control,
            BusMessage::CancelWork(cancel),
            Envelope::default(),
        )
        .await
        .expect("publish cancel");
    let result = harness.next_result().await;
    assert_eq!(result.status(), WorkStatus::Cancelled);
    assert!(
        result.error.contains("the user aborted"),
        "{}",
        result.error
    );
    harness.stop().await;
}

#[tokio::test]
async fn heartbeats_re_register_when_forgotten_and_stop_named_work() {
    let mut harness = Harness::start().await;
    let registered_again = harness.orchestrator.registered.notified();
    harness
        .orchestrator
        .forget_agent
        .store(true, Ordering::SeqCst);
    tokio::time::timeout(PATIENCE, registered_again)
        .await
        .expect("registered again");
    assert_eq!(harness.orchestrator.registrations.lock().unwrap().len(), 2);

    let started = harness.executor.started.notified();
    harness.send_work("doomed", Some("block")).await;
    tokio::time::timeout(PATIENCE, started)
        .await
        .expect("started");
    harness
        .orchestrator
        .stop_ids
        .lock()
        .unwrap()
        .push("doomed".into());
    let result = harness.next_result().await;
    assert_eq!(result.status(), WorkStatus::Cancelled);
    assert!(
        result.error.contains("the orchestrator asked to stop it"),
        "{}",
        result.error
    );
    assert!(
        harness
            .orchestrator
            .heartbeats
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.running_work_ids == ["doomed"]),
        "heartbeats list the running work"
    );
    harness.stop().await;
}

#[tokio::test]
async fn shutdown_cancels_running_work_and_still_reports_it() {
    let mut harness = Harness::start().await;
    let started = harness.executor.started.notified();
    harness.send_work("busy", Some("block")).await;
    tokio::time::timeout(PATIENCE, started)
        .await
        .expect("started");
    harness.shutdown.cancel();
    let result = harness.next_result().await;
    assert_eq!(result.status(), WorkStatus::Cancelled);
    assert!(result.error.contains("shutting down"), "{}", result.error);
    harness.stop().await;
}

#[tokio::test]
async fn work_whose_claim_failed_comes_back_and_runs_once() {
    let mut harness = Harness::start().await;
    harness
        .orchestrator
        .unavailable_once
        .lock()
        .unwrap()
        .push("retry-me".into());
    harness.send_work("retry-me", Some("ok")).await;
    let result = harness.next_result().await;
    assert_eq!(
        (result.work_id.as_str(), result.status()),
        ("retry-me", WorkStatus::Succeeded)
    );
    assert_eq!(
        *harness.orchestrator.claims.lock().unwrap(),
        ["retry-me", "retry-me"]
    );
    assert_eq!(*harness.executor.executed.lock().unwrap(), ["retry-me"]);
    harness.stop().await;
}
