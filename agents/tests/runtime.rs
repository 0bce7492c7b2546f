//! The agent runtime against a fake orchestrator (a real gRPC server on an ephemeral port), the
//! in-process bus and a scripted executor (or the real infra agent on a temporary repository):
//! claims, event ordering, results, cancellations, re-registration, catalog reports and
//! shutdown. The real orchestrator is exercised by the end-to-end tests.

mod support;

use chiffon_agents::RunOutcome;
use chiffon_agents::infra::{InfraAgentConfig, run_infra_agent};
use chiffon_agents::runtime::{AgentCatalog, AgentConfig, Executor, run_agent};
use chiffon_bus::memory::MemoryBus;
use chiffon_bus::{Bus, BusMessage, BusSettings, Destination, Envelope, Subscription};
use chiffon_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use chiffon_proto::v1::{
    AgentKind, ApplySuggestion, BusErrorCode, CancelWork, CatalogIssue, ClaimOutcome,
    ClaimWorkRequest, ClaimWorkResponse, GenerateTemplate, HeartbeatRequest, HeartbeatResponse,
    ListAgentsRequest, ListAgentsResponse, Playbook, PlaybookRun, RegisterAgentRequest,
    RegisterAgentResponse, ReportCatalogRequest, ReportCatalogResponse, ReportSuggestionsRequest,
    ReportSuggestionsResponse, TaskEvent, TaskEventKind, WorkItem, WorkResult, WorkStatus,
    work_event, work_item,
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

/// Upper bound for a lint or a fix, which run ansible-lint (slow on a busy machine).
const LINT_PATIENCE: Duration = Duration::from_secs(300);

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
    suggestion_reports: Mutex<Vec<ReportSuggestionsRequest>>,
    /// Answer the next suggestion report with NOT_FOUND.
    forget_on_suggestions: AtomicBool,
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
        request: Request<ReportSuggestionsRequest>,
    ) -> Result<Response<ReportSuggestionsResponse>, Status> {
        let request = request.into_inner();
        let open_count = request.suggestions.len() as i32;
        self.suggestion_reports.lock().unwrap().push(request);
        self.reported.notify_waiters();
        if self.forget_on_suggestions.swap(false, Ordering::SeqCst) {
            return Err(Status::not_found("unknown agent instance"));
        }
        Ok(Response::new(ReportSuggestionsResponse { open_count }))
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
            inventories: Vec::new(),
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
        let action = playbook.map(|p| {
            work_item::Action::PlaybookRun(PlaybookRun {
                playbook: p.into(),
                ..Default::default()
            })
        });
        self.send_action(work_id, &format!("request-{work_id}"), action)
            .await;
    }

    async fn send_action(
        &self,
        work_id: &str,
        request_id: &str,
        action: Option<work_item::Action>,
    ) {
        let item = WorkItem {
            work_id: work_id.into(),
            request_id: request_id.into(),
            plan_id: "plan".into(),
            step_id: "step".into(),
            attempt: 1,
            agent_kind: AgentKind::Infra.into(),
            action,
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
        // Results of fixes and templates wait for ansible-lint.
        let delivery = tokio::time::timeout(LINT_PATIENCE, self.status.next())
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
        self.received(
            &self.orchestrator.reports,
            |all| all.iter().find(|r| done(r)),
            PATIENCE,
        )
        .await
    }

    /// Waits until the fake orchestrator received the `skip + 1`th suggestion report, and
    /// returns it. (ansible-lint takes a while on a busy machine.)
    async fn suggestion_report(&self, skip: usize) -> ReportSuggestionsRequest {
        self.received(
            &self.orchestrator.suggestion_reports,
            |all| all.get(skip),
            LINT_PATIENCE,
        )
        .await
    }

    /// Waits until `pick` finds a report in `reports`, and returns it.
    async fn received<T: Clone>(
        &self,
        reports: &Mutex<Vec<T>>,
        pick: impl Fn(&[T]) -> Option<&T>,
        patience: Duration,
    ) -> T {
        tokio::time::timeout(patience, async {
            loop {
                // Created before looking, so a report arriving in between still wakes us.
                let reported = self.orchestrator.reported.notified();
                if let Some(report) = pick(&reports.lock().unwrap()).cloned() {
                    return report;
                }
                reported.await;
            }
        })
        .await
        .expect("a matching report in time")
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
        inventories: Vec::new(),
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
    // Ansible looks for the roles of playbooks/web.yml in playbooks/roles unless told.
    std::fs::write(root.join("ansible.cfg"), "[defaults]\nroles_path = roles\n").expect("write");
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

/// The infra agent on a git copy of the example repository, started with a harness.
async fn infra_harness(repo: &std::path::Path) -> Harness {
    let mut vars = serde_json::Map::new();
    vars.insert(
        "homelab_root".into(),
        repo.join("root").to_string_lossy().into_owned().into(),
    );
    let config = InfraAgentConfig {
        agent_id: "infra-test".into(),
        rescan_interval: Duration::from_secs(3600),
        default_vars: vars,
        ..InfraAgentConfig::new(repo)
    };
    Harness::start_with(Box::new(move |_, bus, channel, shutdown| {
        tokio::spawn(run_infra_agent(config, bus, channel, shutdown))
    }))
    .await
}

#[tokio::test]
async fn the_infra_agent_reports_lint_findings_and_applies_an_accepted_one() {
    support::require_tools();
    let repo = support::TestRepo::example();
    let mut harness = infra_harness(&repo.path()).await;

    // Linted after registering: the example's one deliberate finding.
    let report = harness.suggestion_report(0).await;
    assert_eq!(report.agent_id, "infra-test");
    let rules: Vec<(&str, &str, u32)> = report
        .suggestions
        .iter()
        .map(|s| (s.rule.as_str(), s.path.as_str(), s.line))
        .collect();
    assert_eq!(
        rules,
        [("fqcn[action-core]", "roles/common/tasks/main.yml", 24)]
    );
    let mut suggestion = report.suggestions[0].clone();
    assert!(suggestion.fixable);
    suggestion.agent_id = "infra-test".into();

    // An orchestrator that forgot the process: the agent registers again and lints again.
    let registrations = harness.orchestrator.registrations.lock().unwrap().len();
    harness
        .orchestrator
        .forget_on_suggestions
        .store(true, Ordering::SeqCst);
    repo.write(&[("playbooks/extra.yml", "- name: Extra\n  hosts: all\n  tasks:\n    - name: Say hi\n      debug:\n        msg: hi\n")]);
    let report = harness.suggestion_report(1).await;
    assert!(report.suggestions.len() >= 2, "{:#?}", report.suggestions);
    let again = harness.suggestion_report(2).await;
    assert_eq!(again.suggestions, report.suggestions);
    assert!(harness.orchestrator.registrations.lock().unwrap().len() > registrations);

    let apply = || {
        Some(work_item::Action::ApplySuggestion(Box::new(
            ApplySuggestion {
                suggestion: Some(suggestion.clone()),
            },
        )))
    };
    harness.send_action("fix-1", "request-fix", apply()).await;
    let result = harness.next_result().await;
    assert_eq!(result.status(), WorkStatus::Succeeded, "{}", result.error);
    let commit = result.commit.clone().expect("the fix commit");
    assert!(
        commit.branch.starts_with("chiffon/fix-fqcn-action-core-"),
        "{}",
        commit.branch
    );
    assert_eq!(commit.files, ["roles/common/tasks/main.yml"]);
    assert_eq!(commit.base_commit, repo.head().1.to_string());
    assert!(
        commit.message.contains("Chiffon-Request: request-fix"),
        "{}",
        commit.message
    );
    assert_eq!(result.event_count, 0);

    // A retry of the same request (its first attempt was interrupted) finds the commit made.
    harness.send_action("fix-2", "request-fix", apply()).await;
    let retried = harness.next_result().await;
    assert_eq!(retried.status(), WorkStatus::Succeeded, "{}", retried.error);
    assert_eq!(retried.commit, Some(commit.clone()));
    // Another request may not take the branch over.
    harness.send_action("fix-3", "request-other", apply()).await;
    let refused = harness.next_result().await;
    assert_eq!(refused.status(), WorkStatus::Failed);
    assert!(
        refused.error.contains("already exists"),
        "{}",
        refused.error
    );
    assert!(refused.commit.is_none());

    // A suggestion about another agent's repository is not applied here.
    let foreign = ApplySuggestion {
        suggestion: Some(chiffon_proto::v1::Suggestion {
            agent_id: "infra-elsewhere".into(),
            ..suggestion.clone()
        }),
    };
    harness
        .send_action(
            "fix-4",
            "request-4",
            Some(work_item::Action::ApplySuggestion(Box::new(foreign))),
        )
        .await;
    let refused = harness.next_result().await;
    assert_eq!(refused.status(), WorkStatus::Failed);
    assert!(
        refused.error.contains("agent infra-elsewhere"),
        "{}",
        refused.error
    );
    assert!(!refused.error.contains('\n'));
    harness.stop().await;
}

#[tokio::test]
async fn the_infra_agent_generates_templates_on_a_branch() {
    support::require_tools();
    let repo = support::TestRepo::example();
    let mut harness = infra_harness(&repo.path()).await;
    let template = |service: &str, port: u32| {
        Some(work_item::Action::GenerateTemplate(GenerateTemplate {
            service: service.into(),
            containerised: true,
            image: String::new(),
            port,
            hosts: String::new(),
        }))
    };

    harness
        .send_action("bad-port", "request-1", template("Grafana", 70_000))
        .await;
    let refused = harness.next_result().await;
    assert_eq!(refused.status(), WorkStatus::Failed);
    assert!(
        refused.error.contains("70000 is not a port"),
        "{}",
        refused.error
    );

    harness
        .send_action("grafana", "request-2", template("Grafana", 3000))
        .await;
    let result = harness.next_result().await;
    assert_eq!(result.status(), WorkStatus::Succeeded, "{}", result.error);
    let commit = result.commit.expect("the template commit");
    assert_eq!(commit.branch, "chiffon/template-grafana");
    assert!(
        commit
            .files
            .contains(&"playbooks/deploy-grafana.yml".to_owned()),
        "{:?}",
        commit.files
    );
    assert!(
        commit.message.contains("Chiffon-Request: request-2"),
        "{}",
        commit.message
    );
    assert!(repo.branches().contains(&commit.branch));
    harness.stop().await;
}

#[tokio::test]
async fn thousands_of_events_arrive_numbered_without_gaps() {
    const ITEMS: usize = 700;
    let repo = tempfile::tempdir().expect("temp dir");
    let root = repo.path();
    std::fs::create_dir_all(root.join("playbooks")).expect("mkdir");
    std::fs::create_dir_all(root.join("inventory")).expect("mkdir");
    // The repository names its inventory, as real ones do; runs pass no -i of their own.
    std::fs::write(
        root.join("ansible.cfg"),
        "[defaults]\ninventory = inventory/hosts.yml\n",
    )
    .expect("write");
    std::fs::write(
        root.join("inventory/hosts.yml"),
        "all:\n  hosts:\n    testhost:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
    )
    .expect("write");
    std::fs::write(
        root.join("playbooks/item.yml"),
        "- name: Item step\n  ansible.builtin.debug:\n    msg: \"item {{ item }}\"\n",
    )
    .expect("write");
    std::fs::write(
        root.join("playbooks/many.yml"),
        format!("- name: Many\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Each item\n      ansible.builtin.include_tasks: item.yml\n      loop: \"{{{{ range({ITEMS}) | list }}}}\"\n"),
    )
    .expect("write");
    let config = InfraAgentConfig {
        agent_id: "infra-test".into(),
        rescan_interval: Duration::from_secs(3600),
        ansible_lint: "/nonexistent/ansible-lint".into(),
        ..InfraAgentConfig::new(root)
    };
    let mut harness = Harness::start_with(Box::new(move |_, bus, channel, shutdown| {
        tokio::spawn(run_infra_agent(config, bus, channel, shutdown))
    }))
    .await;

    harness.send_work("many", Some("playbooks/many.yml")).await;
    let mut events = Vec::new();
    let result = loop {
        match harness.next_status().await.0 {
            BusMessage::WorkEvent(event) => events.push(event),
            BusMessage::WorkResult(result) => break result,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(result.status(), WorkStatus::Succeeded, "{}", result.error);
    assert_eq!(result.event_count as usize, events.len());
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(
        sequences, expected,
        "numbered from 1 without gaps, in order"
    );
    let items: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(work_event::Detail::Task(task))
                if task.task == "Item step" && task.kind() == TaskEventKind::HostOk =>
            {
                Some(task.message.clone())
            }
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..ITEMS).map(|i| format!("item {i}")).collect();
    assert_eq!(items, expected, "every item's event, in order");
    assert!(events.len() > 2 * ITEMS);
    // The agent keeps working without ansible-lint: the lint failure was only logged.
    assert!(
        harness
            .orchestrator
            .suggestion_reports
            .lock()
            .unwrap()
            .is_empty()
    );
    harness.stop().await;
}
