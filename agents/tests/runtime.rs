//! The agent runtime against a fake orchestrator (a real gRPC server on an ephemeral port), the
//! in-process bus and a scripted executor (or the real infra agent on a temporary repository):
//! claims, event ordering, results, cancellations, re-registration, catalog reports and
//! shutdown. The real orchestrator is exercised by the end-to-end tests.

use chiffon_agents::RunOutcome;
use chiffon_agents::infra::{InfraAgentConfig, run_infra_agent};
use chiffon_agents::runtime::{AgentCatalog, AgentConfig, Executor, run_agent};
use chiffon_bus::memory::MemoryBus;
use chiffon_bus::{Bus, BusMessage, BusSettings, Destination, Envelope, Subscription};
use chiffon_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use chiffon_proto::v1::{
    AgentKind, BusErrorCode, CancelWork, CatalogIssue, ClaimOutcome, ClaimWorkRequest,
    ClaimWorkResponse, HeartbeatRequest, HeartbeatResponse, ListAgentsRequest, ListAgentsResponse,
    Playbook, PlaybookRun, RegisterAgentRequest, RegisterAgentResponse, ReportCatalogRequest,
    ReportCatalogResponse, TaskEvent, TaskEventKind, WorkItem, WorkResult, WorkStatus, work_event,
    work_item,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
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
    reports: Mutex<Vec<ReportCatalogRequest>>,
    /// Answer the next catalog report with NOT_FOUND.
    forget_on_report: AtomicBool,
    reported: Notify,
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
        request: Request<ReportCatalogRequest>,
    ) -> Result<Response<ReportCatalogResponse>, Status> {
        let request = request.into_inner();
        let playbook_count = request.playbooks.len() as i32;
        self.reports.lock().unwrap().push(request);
        self.reported.notify_waiters();
        if self.forget_on_report.swap(false, Ordering::SeqCst) {
            return Err(Status::not_found("unknown agent instance"));
        }
        Ok(Response::new(ReportCatalogResponse { playbook_count }))
    }

    async fn report_suggestions(
        &self,
        _request: Request<chiffon_proto::v1::ReportSuggestionsRequest>,
    ) -> Result<Response<chiffon_proto::v1::ReportSuggestionsResponse>, Status> {
        Err(Status::unimplemented("this fake keeps no suggestions"))
    }
}

/// Runs playbook "ok" as three events and a success; playbook "block" until cancelled. Its
/// catalog is one playbook and one issue until a test sends another.
struct ScriptedExecutor {
    executed: Mutex<Vec<String>>,
    started: Notify,
    catalog: watch::Sender<AgentCatalog>,
}

impl Default for ScriptedExecutor {
    fn default() -> Self {
        let catalog = AgentCatalog {
            playbooks: vec![Playbook {
                path: "playbooks/ok.yml".into(),
                ..Default::default()
            }],
            issues: vec![CatalogIssue {
                path: "playbooks/broken.yml".into(),
                line: 3,
                message: "invalid YAML".into(),
                agent_id: String::new(),
            }],
        };
        Self {
            executed: Mutex::default(),
            started: Notify::new(),
            catalog: watch::Sender::new(catalog),
        }
    }
}

#[async_trait::async_trait]
impl Executor for ScriptedExecutor {
    fn catalog(&self) -> AgentCatalog {
        self.catalog.borrow().clone()
    }

    fn catalog_updates(&self) -> Option<watch::Receiver<AgentCatalog>> {
        Some(self.catalog.subscribe())
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

/// Starts an agent on the harness's bus, talking to the fake orchestrator at the channel.
type Launch = Box<
    dyn FnOnce(
        Arc<ScriptedExecutor>,
        Arc<dyn Bus>,
        tonic::transport::Channel,
        CancellationToken,
    ) -> tokio::task::JoinHandle<Result<(), chiffon_agents::AgentError>>,
>;

impl Harness {
    /// The runtime with the scripted executor.
    async fn start() -> Self {
        Self::start_with(Box::new(|executor, bus, channel, shutdown| {
            tokio::spawn(run_agent(
                AgentConfig::new("infra-test", AgentKind::Infra),
                executor as Arc<dyn Executor>,
                bus,
                channel,
                shutdown,
            ))
        }))
        .await
    }

    async fn start_with(launch: Launch) -> Self {
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
        let agent = launch(
            Arc::clone(&executor),
            Arc::new(bus.clone()),
            channel,
            shutdown.clone(),
        );
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

    /// Waits until the fake orchestrator received a catalog report satisfying `done`, and
    /// returns it.
    async fn report_matching(
        &self,
        done: impl Fn(&ReportCatalogRequest) -> bool,
    ) -> ReportCatalogRequest {
        tokio::time::timeout(PATIENCE, async {
            loop {
                // Created before looking, so a report arriving in between still wakes us.
                let reported = self.orchestrator.reported.notified();
                if let Some(report) = self
                    .orchestrator
                    .reports
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|r| done(r))
                {
                    return report.clone();
                }
                reported.await;
            }
        })
        .await
        .expect("a matching catalog report in time")
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
    assert_eq!(registration.catalog_issues.len(), 1);
    assert_eq!(registration.catalog_issues[0].line, 3);
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

#[tokio::test]
async fn a_changed_catalog_is_reported_and_an_unknown_agent_registers_again() {
    let harness = Harness::start().await;
    let instance_id = harness.orchestrator.registrations.lock().unwrap()[0]
        .instance_id
        .clone();
    let changed = |path: &str| AgentCatalog {
        playbooks: vec![Playbook {
            path: path.into(),
            ..Default::default()
        }],
        issues: Vec::new(),
    };

    harness
        .executor
        .catalog
        .send_replace(changed("playbooks/new.yml"));
    let report = harness
        .report_matching(|r| r.playbooks.iter().any(|p| p.path == "playbooks/new.yml"))
        .await;
    assert_eq!(
        (report.agent_id.as_str(), report.instance_id.as_str()),
        ("infra-test", instance_id.as_str())
    );
    assert!(report.catalog_issues.is_empty());

    // An orchestrator that lost this process answers NOT_FOUND: the agent registers again, and
    // the registration carries the newest catalog.
    let registered_again = harness.orchestrator.registered.notified();
    harness
        .orchestrator
        .forget_on_report
        .store(true, Ordering::SeqCst);
    harness
        .executor
        .catalog
        .send_replace(changed("playbooks/newer.yml"));
    tokio::time::timeout(PATIENCE, registered_again)
        .await
        .expect("registered again");
    let registrations = harness.orchestrator.registrations.lock().unwrap().clone();
    assert_eq!(registrations.len(), 2);
    assert_eq!(registrations[1].playbooks[0].path, "playbooks/newer.yml");
    harness.stop().await;
}

#[tokio::test]
async fn the_infra_agent_reports_a_playbook_changed_on_disk() {
    let repo = tempfile::tempdir().expect("temp dir");
    let root = repo.path().to_path_buf();
    std::fs::create_dir_all(root.join("playbooks")).expect("mkdir");
    std::fs::create_dir_all(root.join("roles/web/tasks")).expect("mkdir");
    std::fs::write(
        root.join("roles/web/tasks/main.yml"),
        "- name: Serve\n  ansible.builtin.debug:\n    msg: \"{{ web_port }}\"\n",
    )
    .expect("write");
    std::fs::write(
        root.join("playbooks/web.yml"),
        "# Deploys the web server.\n- name: Web\n  hosts: web\n  roles: [web]\n",
    )
    .expect("write");

    let config = InfraAgentConfig {
        agent_id: "infra-test".into(),
        // Only the file watcher can notice the change within the test's patience.
        rescan_interval: Duration::from_secs(3600),
        ..InfraAgentConfig::new(&root)
    };
    let harness = Harness::start_with(Box::new(move |_, bus, channel, shutdown| {
        tokio::spawn(run_infra_agent(config, bus, channel, shutdown))
    }))
    .await;
    let registration = harness.orchestrator.registrations.lock().unwrap()[0].clone();
    assert_eq!(registration.playbooks.len(), 1);
    assert_eq!(registration.playbooks[0].roles, ["web"]);
    assert!(registration.catalog_issues.is_empty());

    std::fs::write(
        root.join("playbooks/web.yml"),
        "# Deploys the web server behind a proxy.\n- name: Web\n  hosts: web\n  tags: [proxy]\n  roles: [web]\n",
    )
    .expect("write");
    let report = harness
        .report_matching(|r| r.playbooks.iter().any(|p| p.tags == ["proxy"]))
        .await;
    let playbook = &report.playbooks[0];
    assert_eq!(
        playbook.description,
        "Deploys the web server behind a proxy."
    );
    assert_eq!(playbook.variables[0].name, "web_port");

    // A file that stops parsing is reported as an issue, with its line.
    std::fs::write(
        root.join("playbooks/broken.yml"),
        "- hosts: web\n  roles: [\n",
    )
    .expect("write");
    let report = harness
        .report_matching(|r| !r.catalog_issues.is_empty())
        .await;
    assert_eq!(report.catalog_issues[0].path, "playbooks/broken.yml");
    assert!(report.catalog_issues[0].line > 0);
    assert_eq!(report.playbooks.len(), 1);
    harness.stop().await;
}
