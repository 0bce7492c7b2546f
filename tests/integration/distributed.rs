//! The distributed deployment: `chiffon serve` on PostgreSQL and RabbitMQ, and `chiffon agent
//! infra` as a separate process, exactly as compose.yaml runs them.

use crate::support::*;
use chiffon_proto::v1 as pb;

/// A running orchestrator and infrastructure agent with their own database and vhost.
pub struct Deployment {
    pub orchestrator: ChiffonProcess,
    pub agent: ChiffonProcess,
    pub workspace: Workspace,
    pub vhost: RabbitVhost,
    pub database: TempDatabase,
}

impl Deployment {
    pub async fn start() -> Self {
        Self::start_on(Workspace::new()).await
    }

    /// Like [`Deployment::start`], with the repository copy made a git repository first (one
    /// commit on `main`), as fixes and templates need; returns the commit too.
    pub async fn start_on_git() -> (Self, git2::Oid) {
        let workspace = Workspace::new();
        let base = workspace.commit_repo();
        (Self::start_on(workspace).await, base)
    }

    /// Starts the orchestrator and the agent on `workspace`'s repository copy, with a fresh
    /// database and vhost, and waits until the agent registered its catalog.
    async fn start_on(workspace: Workspace) -> Self {
        let database = TempDatabase::create();
        let vhost = RabbitVhost::create();
        let orchestrator =
            orchestrator_process(&workspace, &database, &vhost, "127.0.0.1:0", "orchestrator");
        let agent = agent_process(&workspace, &vhost, &orchestrator.endpoint, "agent");
        wait_for_infra_agent(&orchestrator.endpoint).await;
        Self {
            orchestrator,
            agent,
            workspace,
            vhost,
            database,
        }
    }

    /// Stops the orchestrator and, after `downtime`, starts a new one on the same port,
    /// database and vhost.
    pub fn restart_orchestrator(&mut self, downtime: std::time::Duration) {
        assert!(
            self.orchestrator.stop(),
            "the orchestrator shuts down cleanly"
        );
        std::thread::sleep(downtime);
        let listen = self
            .orchestrator
            .endpoint
            .trim_start_matches("http://")
            .to_owned();
        self.orchestrator = orchestrator_process(
            &self.workspace,
            &self.database,
            &self.vhost,
            &listen,
            "orchestrator-2",
        );
    }

    /// Adds a playbook to the repository and restarts the agent, which scans its catalog at
    /// start, until the orchestrator knows the new playbook.
    pub async fn add_playbook(&mut self, name: &str, content: &str) {
        let catalog_before = catalog_size(&self.orchestrator.endpoint).await;
        self.workspace.add_playbook(name, content);
        self.agent.stop();
        self.agent = agent_process(
            &self.workspace,
            &self.vhost,
            &self.orchestrator.endpoint,
            "agent-2",
        );
        wait_for_catalog_size(&self.orchestrator.endpoint, catalog_before + 1).await;
    }
}

/// `chiffon serve` on the deployment's database and vhost; agents are offline after 5 s of
/// silence so that tests about lost agents stay short.
fn orchestrator_process(
    workspace: &Workspace,
    database: &TempDatabase,
    vhost: &RabbitVhost,
    listen: &str,
    log_name: &str,
) -> ChiffonProcess {
    ChiffonProcess::start(
        &[
            "serve",
            "--listen",
            listen,
            "--database-url",
            &database.url(),
            "--amqp-url",
            &vhost.amqp_url(),
            "--heartbeat-seconds",
            "1",
            "--agent-offline-seconds",
            "5",
        ],
        workspace.path(),
        log_name,
        true,
    )
}

/// `chiffon agent infra` (id `infra-test`) on the workspace's repository copy.
fn agent_process(
    workspace: &Workspace,
    vhost: &RabbitVhost,
    endpoint: &str,
    log_name: &str,
) -> ChiffonProcess {
    let var = format!("homelab_root={}", workspace.homelab_root().display());
    let repo = workspace.repo();
    let amqp = vhost.amqp_url();
    ChiffonProcess::start(
        &[
            "agent",
            "infra",
            "--amqp-url",
            &amqp,
            "--orchestrator",
            endpoint,
            "--repo",
            repo.to_str().expect("utf-8 path"),
            "--agent-id",
            "infra-test",
            "--var",
            &var,
        ],
        workspace.path(),
        log_name,
        false,
    )
}
#[tokio::test(flavor = "multi_thread")]
async fn a_request_runs_to_success_on_postgres_and_rabbitmq() {
    let _broker = BrokerLock::shared();
    let deployment = Deployment::start().await;
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;

    let (request, plan) = submit_and_approve(&mut client, UPTIME_KUMA_REQUEST).await;
    assert_eq!(request.status(), pb::RequestStatus::Running);
    assert_eq!(plan.status(), pb::PlanStatus::Approved);
    let events = watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestSucceeded,
    )
    .await;

    let kuma = deployment.workspace.homelab_root().join("kuma.home.arpa");
    let compose = crate::embedded::find_file(&kuma, "docker-compose.yml");
    assert!(
        std::fs::read_to_string(compose)
            .expect("read compose")
            .contains("uptime-kuma")
    );

    // Step results carry Ansible's own tallies.
    let finished = client
        .get_plan(pb::GetPlanRequest {
            request_id: request.request_id.clone(),
            revision: 0,
        })
        .await
        .expect("get plan")
        .into_inner()
        .plan
        .expect("plan");
    for step in &finished.steps {
        assert_eq!(step.status(), pb::StepStatus::Succeeded);
        assert_eq!(step.agent_id, "infra-test");
        let result = step.result.as_ref().expect("a result");
        assert_eq!(result.exit_code, 0);
        assert!(
            result
                .host_stats
                .iter()
                .any(|stats| stats.host == "kuma.home.arpa" && stats.ok > 0)
        );
        assert!(result.event_count > 0);
    }
    let progress = events
        .iter()
        .filter(|event| event.kind() == pb::RequestEventKind::StepProgress)
        .count();
    let reported: i64 = finished
        .steps
        .iter()
        .map(|step| step.result.as_ref().map_or(0, |r| r.event_count))
        .sum();
    assert_eq!(
        progress as i64, reported,
        "every task event the agent sent was recorded once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn work_continues_across_a_broker_restart() {
    let _broker = BrokerLock::exclusive();
    let mut deployment = Deployment::start().await;
    deployment
        .add_playbook("slow-maintenance.yml", &slow_maintenance_playbook(6))
        .await;
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;

    let (request, _) = submit_and_approve(&mut client, "Run the slow maintenance").await;
    // Restart the broker while the playbook runs.
    wait_for_event(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::StepStarted,
    )
    .await;
    restart_broker().await;
    watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestSucceeded,
    )
    .await;
    assert!(
        deployment
            .workspace
            .homelab_root()
            .join("maintenance-done")
            .exists()
    );
}

/// Waits until the agent's registered catalog has `count` playbooks.
async fn wait_for_catalog_size(endpoint: &str, count: i32) {
    let mut client = agents(endpoint).await;
    for _ in 0..1200 {
        let listed = client
            .list_agents(pb::ListAgentsRequest::default())
            .await
            .expect("list agents")
            .into_inner();
        if listed
            .agents
            .iter()
            .any(|agent| agent.playbook_count == count && agent.status() == pb::AgentStatus::Online)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the agent never registered a catalog of {count} playbooks");
}

async fn catalog_size(endpoint: &str) -> i32 {
    let listed = agents(endpoint)
        .await
        .list_agents(pb::ListAgentsRequest::default())
        .await
        .expect("list agents")
        .into_inner();
    listed
        .agents
        .iter()
        .map(|agent| agent.playbook_count)
        .max()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn work_of_an_agent_that_dies_fails_instead_of_hanging() {
    let _broker = BrokerLock::shared();
    let mut deployment = Deployment::start().await;
    deployment
        .add_playbook("slow-maintenance.yml", &slow_maintenance_playbook(300))
        .await;

    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;
    let (request, _) = submit_and_approve(&mut client, "Run the slow maintenance").await;
    wait_for_event(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::StepStarted,
    )
    .await;
    deployment.agent.kill();

    let events = watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestFailed,
    )
    .await;
    assert!(
        events
            .last()
            .expect("events")
            .message
            .contains("stopped sending heartbeats")
    );
    let listed = agents(&deployment.orchestrator.endpoint)
        .await
        .list_agents(pb::ListAgentsRequest::default())
        .await
        .expect("agents")
        .into_inner();
    assert!(
        listed
            .agents
            .iter()
            .all(|agent| agent.status() == pb::AgentStatus::Offline)
    );
    // The killed agent's ansible-playbook is an orphan now; end it with the test.
    let _ = std::process::Command::new("pkill")
        .args(["-f", &deployment.workspace.repo().display().to_string()])
        .status();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_finishes_across_an_orchestrator_restart() {
    let _broker = BrokerLock::shared();
    let mut deployment = Deployment::start().await;
    deployment
        .add_playbook("slow-maintenance.yml", &slow_maintenance_playbook(8))
        .await;
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;
    let (request, _) = submit_and_approve(&mut client, "Run the slow maintenance").await;
    wait_for_event(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::StepStarted,
    )
    .await;

    // The agent keeps running and reports to the status queue while no orchestrator listens;
    // the outage outlasts the agent offline timeout (5 s), which must not count against it.
    deployment.restart_orchestrator(std::time::Duration::from_secs(7));
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;
    watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestSucceeded,
    )
    .await;
    assert!(
        deployment
            .workspace
            .homelab_root()
            .join("maintenance-done")
            .exists()
    );
}

/// The example's one fixable lint finding: `copy` by its short name in the common role.
const FIXABLE_RULE: &str = "fqcn[action-core]";
const FIXABLE_FILE: &str = "roles/common/tasks/main.yml";

#[tokio::test(flavor = "multi_thread")]
async fn suggestions_and_templates_are_committed_on_postgres_and_rabbitmq() {
    let _broker = BrokerLock::shared();
    let (deployment, base) = Deployment::start_on_git().await;
    let endpoint = deployment.orchestrator.endpoint.clone();
    let mut client = orchestrator(&endpoint).await;
    let mut suggestion_client = suggestions(&endpoint).await;

    // The agent's background lint reaches the orchestrator through AgentService.
    let finding = wait_for_suggestion(&endpoint, FIXABLE_RULE, FIXABLE_FILE).await;
    assert!(finding.fixable, "{finding:?}");
    assert_eq!(finding.status(), pb::SuggestionStatus::Open);
    assert_eq!(finding.agent_id, "infra-test");
    let listed = suggestion_client
        .list_suggestions(pb::ListSuggestionsRequest::default())
        .await
        .expect("list suggestions")
        .into_inner()
        .suggestions;
    let fixable: Vec<(&str, &str)> = listed
        .iter()
        .filter(|suggestion| suggestion.fixable)
        .map(|suggestion| (suggestion.rule.as_str(), suggestion.path.as_str()))
        .collect();
    assert_eq!(fixable, [(FIXABLE_RULE, FIXABLE_FILE)], "{listed:#?}");

    // Accepting it approves a fix request, which the agent runs and commits on a new branch.
    let accepted = suggestion_client
        .accept_suggestion(pb::AcceptSuggestionRequest {
            suggestion_id: finding.suggestion_id.clone(),
            approver: "alice".into(),
        })
        .await
        .expect("accept the suggestion")
        .into_inner();
    let request = accepted.request.expect("the fix request");
    watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestSucceeded,
    )
    .await;

    let listed = suggestion_client
        .list_suggestions(pb::ListSuggestionsRequest::default())
        .await
        .expect("list suggestions after the fix")
        .into_inner()
        .suggestions;
    let applied = listed
        .iter()
        .find(|suggestion| suggestion.suggestion_id == finding.suggestion_id)
        .unwrap_or_else(|| panic!("the accepted suggestion is listed: {listed:#?}"));
    assert_eq!(
        applied.status(),
        pb::SuggestionStatus::Applied,
        "{applied:?}"
    );
    assert_eq!(applied.request_id, request.request_id);
    let commit = applied.commit.as_ref().expect("the fix commit");
    let git = git2::Repository::open(deployment.workspace.repo()).expect("open the repository");
    let tip = branch_tip(&git, &commit.branch);
    assert_eq!(tip.id().to_string(), commit.commit_id);
    assert_eq!(tip.parent_ids().collect::<Vec<_>>(), [base]);
    assert_eq!(commit.files, [FIXABLE_FILE]);

    // A template request, approved, is committed on its own branch.
    let (request, plan) =
        submit_and_approve(&mut client, "generate a template for deploying Grafana").await;
    let [step] = plan.steps.as_slice() else {
        panic!("one step expected: {plan:?}");
    };
    assert_eq!(step.action(), pb::StepAction::GenerateTemplate);
    watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestSucceeded,
    )
    .await;
    let tip = branch_tip(&git, "chiffon/template-grafana");
    assert_eq!(tip.parent_ids().collect::<Vec<_>>(), [base]);
    assert!(
        tip.tree()
            .expect("tree")
            .get_path(std::path::Path::new("playbooks/deploy-grafana.yml"))
            .is_ok(),
        "the playbook is on the branch"
    );

    // Neither commit touched the user's branch.
    assert_eq!(git.head().expect("HEAD").target(), Some(base));
}
