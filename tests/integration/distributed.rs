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
    _database: TempDatabase,
}

impl Deployment {
    pub async fn start() -> Self {
        let workspace = Workspace::new();
        let database = TempDatabase::create();
        let vhost = RabbitVhost::create();
        let amqp = vhost.amqp_url();
        let orchestrator = ChiffonProcess::start(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &database.url(),
                "--amqp-url",
                &amqp,
                "--heartbeat-seconds",
                "1",
            ],
            workspace.path(),
            "orchestrator",
            true,
        );
        let var = format!("homelab_root={}", workspace.homelab_root().display());
        let repo = workspace.repo();
        let agent = ChiffonProcess::start(
            &[
                "agent",
                "infra",
                "--amqp-url",
                &amqp,
                "--orchestrator",
                &orchestrator.endpoint,
                "--repo",
                repo.to_str().expect("utf-8 path"),
                "--agent-id",
                "infra-test",
                "--var",
                &var,
            ],
            workspace.path(),
            "agent",
            false,
        );
        wait_for_infra_agent(&orchestrator.endpoint).await;
        Self {
            orchestrator,
            agent,
            workspace,
            vhost,
            _database: database,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_runs_to_success_on_postgres_and_rabbitmq() {
    let _broker = BrokerLock::shared();
    let deployment = Deployment::start().await;
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;

    let (request, plan) = submit_and_approve(&mut client, UPTIME_KUMA_REQUEST).await;
    assert_eq!(request.status(), pb::RequestStatus::Running);
    assert_eq!(plan.status(), pb::PlanStatus::Approved);
    let events = watch_to_end(&mut client, &request.request_id).await;
    let kinds = assert_well_ordered(&events);
    assert_eq!(
        kinds.last(),
        Some(&pb::RequestEventKind::RequestSucceeded),
        "{events:#?}"
    );

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
    let progress = kinds
        .iter()
        .filter(|kind| **kind == pb::RequestEventKind::StepProgress)
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
    let deployment = Deployment::start().await;
    deployment.workspace.add_playbook(
        "slow-maintenance.yml",
        "# Slow maintenance window: waits, then records that maintenance ran.\n\
         - name: Slow maintenance\n  hosts: nas\n  gather_facts: false\n  tags: [maintenance]\n  tasks:\n\
         \x20   - name: Wait for the maintenance window\n      ansible.builtin.pause:\n        seconds: 6\n\
         \x20   - name: Create the homelab root\n      ansible.builtin.file:\n        path: \"{{ homelab_root }}\"\n        state: directory\n        mode: \"0755\"\n\
         \x20   - name: Record maintenance\n      ansible.builtin.copy:\n        dest: \"{{ homelab_root }}/maintenance-done\"\n        content: \"done\\n\"\n        mode: \"0644\"\n",
    );
    // The agent scanned its catalog at start; restart it so it reports the new playbook.
    let mut deployment = deployment;
    let catalog_before = catalog_size(&deployment.orchestrator.endpoint).await;
    deployment.agent.stop();
    let var = format!(
        "homelab_root={}",
        deployment.workspace.homelab_root().display()
    );
    let repo = deployment.workspace.repo();
    let amqp = deployment.vhost.amqp_url();
    deployment.agent = ChiffonProcess::start(
        &[
            "agent",
            "infra",
            "--amqp-url",
            &amqp,
            "--orchestrator",
            &deployment.orchestrator.endpoint,
            "--repo",
            repo.to_str().expect("utf-8"),
            "--agent-id",
            "infra-test",
            "--var",
            &var,
        ],
        deployment.workspace.path(),
        "agent-2",
        false,
    );
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;
    wait_for_catalog_size(&deployment.orchestrator.endpoint, catalog_before + 1).await;

    let (request, _) = submit_and_approve(&mut client, "Run the slow maintenance").await;
    let mut stream = client
        .watch_request(pb::WatchRequestRequest {
            request_id: request.request_id.clone(),
            after_sequence: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    // Restart the broker while the playbook runs.
    loop {
        let event = stream
            .message()
            .await
            .expect("stream")
            .expect("not ended")
            .event
            .expect("event");
        if event.kind() == pb::RequestEventKind::StepStarted {
            break;
        }
    }
    restart_broker().await;
    let events = watch_to_end(&mut client, &request.request_id).await;
    let kinds = assert_well_ordered(&events);
    assert_eq!(
        kinds.last(),
        Some(&pb::RequestEventKind::RequestSucceeded),
        "{events:#?}"
    );
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
