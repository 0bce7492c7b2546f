//! Bad input gets a clear answer and loses nothing: invalid requests, unknown ids, decisions on
//! the wrong revision, malformed bus messages and playbooks that fail.

use crate::distributed::Deployment;
use crate::support::*;
use chiffon_bus::{Bus as _, BusSettings, Destination, RawMessage, headers};
use chiffon_proto::v1 as pb;
use std::collections::HashMap;
use tonic::Code;

const UNKNOWN_ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

fn assert_status<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, needle: &str) {
    let status = result.expect_err("the call must be refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "\"{}\" should mention \"{needle}\"",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_requests_and_unknown_ids_are_refused_clearly() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;

    assert_status(
        client
            .submit_request(pb::SubmitRequestRequest {
                text: "   ".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "empty",
    );
    assert_status(
        client
            .submit_request(pb::SubmitRequestRequest {
                text: "x".repeat(5000),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "limit is 4000",
    );
    assert_status(
        client
            .get_request(pb::GetRequestRequest {
                request_id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
        UNKNOWN_ID,
    );
    assert_status(
        client
            .get_request(pb::GetRequestRequest {
                request_id: "not-an-id".into(),
            })
            .await,
        Code::InvalidArgument,
        "not a valid id",
    );
    assert_status(
        client
            .get_plan(pb::GetPlanRequest {
                request_id: UNKNOWN_ID.into(),
                revision: 0,
            })
            .await,
        Code::NotFound,
        "request",
    );
    assert_status(
        client
            .approve_plan(pb::ApprovePlanRequest {
                plan_id: UNKNOWN_ID.into(),
                content_hash: "abc".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "plan",
    );
    assert_status(
        client
            .reject_plan(pb::RejectPlanRequest {
                plan_id: UNKNOWN_ID.into(),
                reason: "no".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "plan",
    );
    assert_status(
        client
            .cancel_request(pb::CancelRequestRequest {
                request_id: UNKNOWN_ID.into(),
                reason: String::new(),
            })
            .await,
        Code::NotFound,
        "request",
    );
    assert_status(
        client
            .watch_request(pb::WatchRequestRequest {
                request_id: UNKNOWN_ID.into(),
                after_sequence: 0,
            })
            .await,
        Code::NotFound,
        "request",
    );
    assert_status(
        client
            .list_requests(pb::ListRequestsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "page_token",
    );
    let mut agents = agents(&dev.endpoint).await;
    assert_status(
        agents
            .heartbeat(pb::HeartbeatRequest {
                agent_id: "ghost".into(),
                instance_id: "x".into(),
                running_work_ids: vec![],
            })
            .await,
        Code::NotFound,
        "register again",
    );
    assert_status(
        agents
            .register_agent(pb::RegisterAgentRequest {
                agent_id: "bad id!".into(),
                kind: pb::AgentKind::Infra as i32,
                instance_id: "i".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "agent_id",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_runs_only_after_an_approval_of_that_exact_revision() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;

    let first = client
        .submit_request(pb::SubmitRequestRequest {
            text: "Deploy Uptime Kuma".into(),
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner()
        .plan
        .expect("plan");
    let approve = |plan: &pb::Plan, hash: &str| pb::ApprovePlanRequest {
        plan_id: plan.plan_id.clone(),
        content_hash: hash.to_owned(),
        approver: "bob".into(),
        comment: String::new(),
    };
    assert_status(
        client.approve_plan(approve(&first, "")).await,
        Code::InvalidArgument,
        "content_hash is required",
    );
    assert_status(
        client.approve_plan(approve(&first, "0000")).await,
        Code::FailedPrecondition,
        "review the plan again",
    );

    // Asking for changes makes revision 2; revision 1 can no longer be approved.
    let second = client
        .revise_plan(pb::RevisePlanRequest {
            plan_id: first.plan_id.clone(),
            feedback: "also back up the NAS".into(),
            approver: "bob".into(),
        })
        .await
        .expect("revise")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(second.revision, 2);
    assert_ne!(second.content_hash, first.content_hash);
    assert!(
        second
            .steps
            .iter()
            .any(|step| step.playbook.contains("backup")),
        "{second:#?}"
    );
    assert_status(
        client
            .approve_plan(approve(&first, &first.content_hash))
            .await,
        Code::FailedPrecondition,
        "stale",
    );

    client
        .approve_plan(approve(&second, &second.content_hash))
        .await
        .expect("approve the latest revision");
    assert_status(
        client
            .approve_plan(approve(&second, &second.content_hash))
            .await,
        Code::FailedPrecondition,
        "already decided",
    );
    assert_status(
        client
            .reject_plan(pb::RejectPlanRequest {
                plan_id: second.plan_id.clone(),
                reason: "late".into(),
                approver: "eve".into(),
            })
            .await,
        Code::FailedPrecondition,
        "already decided",
    );
    let events = watch_to_end(&mut client, &second.request_id).await;
    assert_eq!(
        events.last().map(|event| event.kind()),
        Some(pb::RequestEventKind::RequestSucceeded)
    );
    let revision_one = client
        .get_plan(pb::GetPlanRequest {
            request_id: first.request_id.clone(),
            revision: 1,
        })
        .await
        .expect("get revision 1")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(revision_one.status(), pb::PlanStatus::Superseded);
    assert!(
        revision_one.steps.iter().all(|step| step.result.is_none()),
        "nothing of revision 1 ran"
    );

    // Work without a catalog playbook cannot be approved; rejecting ends the request.
    let custom = client
        .submit_request(pb::SubmitRequestRequest {
            text: "Install a Minecraft server".into(),
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner()
        .plan
        .expect("plan");
    assert!(custom.steps.iter().all(|step| step.custom_playbook_needed));
    // It says what to ask for instead.
    assert!(
        custom.steps[0]
            .rationale
            .ends_with("generate a template for deploying a Minecraft server"),
        "{}",
        custom.steps[0].rationale
    );
    assert_status(
        client
            .approve_plan(approve(&custom, &custom.content_hash))
            .await,
        Code::FailedPrecondition,
        "no playbook",
    );
    assert_status(
        client
            .reject_plan(pb::RejectPlanRequest {
                plan_id: custom.plan_id.clone(),
                reason: "  ".into(),
                approver: "bob".into(),
            })
            .await,
        Code::InvalidArgument,
        "reason is required",
    );
    let rejected = client
        .reject_plan(pb::RejectPlanRequest {
            plan_id: custom.plan_id.clone(),
            reason: "not now".into(),
            approver: "bob".into(),
        })
        .await
        .expect("reject")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(rejected.status(), pb::RequestStatus::Rejected);
    assert_status(
        client
            .cancel_request(pb::CancelRequestRequest {
                request_id: custom.request_id.clone(),
                reason: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "already ended",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_playbook_fails_the_request_with_its_error() {
    let workspace = Workspace::new();
    workspace.add_playbook(
        "rotate-certificates.yml",
        "# Rotates TLS certificates (fails here: the CA is unreachable).\n\
         - name: Rotate certificates\n  hosts: web\n  gather_facts: false\n  tags: [certificates]\n  tasks:\n\
         \x20   - name: Contact the certificate authority\n      ansible.builtin.fail:\n        msg: certificate authority unreachable\n",
    );
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let mut client = orchestrator(&dev.endpoint).await;
    let (request, _) = submit_and_approve(
        &mut client,
        "Rotate the certificates and then deploy uptime kuma",
    )
    .await;
    let events = watch_to_outcome(
        &mut client,
        &request.request_id,
        pb::RequestEventKind::RequestFailed,
    )
    .await;
    let last = events.last().expect("events");
    assert!(
        last.message.contains("certificate authority unreachable"),
        "{}",
        last.message
    );
    let failed = events
        .iter()
        .find(|event| event.kind() == pb::RequestEventKind::StepFailed)
        .expect("a failed step");
    let result = failed
        .result
        .as_ref()
        .expect("the failure carries the result");
    assert_eq!(result.status(), pb::WorkStatus::Failed);
    assert_ne!(result.exit_code, 0);
    assert!(
        result
            .failed_tasks
            .iter()
            .any(|task| task.task == "Contact the certificate authority")
    );
    // The step after the failure never ran.
    let request = client
        .get_request(pb::GetRequestRequest {
            request_id: request.request_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(request.status(), pb::RequestStatus::Failed);
    assert!(
        request
            .status_reason
            .contains("certificate authority unreachable")
    );
    assert!(!workspace.homelab_root().join("kuma.home.arpa").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bus_messages_are_dead_lettered_and_work_goes_on() {
    let _broker = BrokerLock::shared();
    let deployment = Deployment::start().await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let bus = chiffon_bus::rabbitmq::RabbitBus::connect(
        &deployment.vhost.amqp_url(),
        BusSettings::default(),
        shutdown.clone(),
    )
    .await
    .expect("connect to RabbitMQ");
    let mut dead_letters = bus
        .subscribe_dead_letters()
        .await
        .expect("read dead letters");
    let valid_headers = |message_type: &str| {
        HashMap::from([
            (
                headers::PROTOCOL_VERSION.to_owned(),
                chiffon_bus::PROTOCOL_VERSION.to_owned(),
            ),
            (headers::MESSAGE_TYPE.to_owned(), message_type.to_owned()),
        ])
    };
    // Garbage where the orchestrator reads results, and where the agent reads work.
    bus.publish_raw(
        Destination::Status,
        RawMessage {
            body: vec![0xff, 0x01, 0x02],
            headers: valid_headers("chiffon.v1.WorkResult"),
        },
    )
    .await
    .expect("publish garbage");
    bus.publish_raw(
        Destination::Work(pb::AgentKind::Infra),
        RawMessage {
            body: b"hello".to_vec(),
            headers: valid_headers("chiffon.v1.Nonsense"),
        },
    )
    .await
    .expect("publish unknown type");

    let mut codes = Vec::new();
    for _ in 0..2 {
        let letter = tokio::time::timeout(PATIENCE, dead_letters.next())
            .await
            .expect("dead-lettered in time")
            .expect("a dead letter");
        assert!(!letter.reason.is_empty());
        codes.push((letter.original_queue.clone(), letter.code));
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            (
                "chiffon.status".to_owned(),
                pb::BusErrorCode::MalformedPayload
            ),
            (
                "chiffon.work.infra".to_owned(),
                pb::BusErrorCode::UnknownMessageType
            ),
        ]
    );

    // Both consumers kept going.
    let mut client = orchestrator(&deployment.orchestrator.endpoint).await;
    let (request, _) = submit_and_approve(&mut client, "Deploy Uptime Kuma").await;
    let events = watch_to_end(&mut client, &request.request_id).await;
    assert_eq!(
        events.last().map(|event| event.kind()),
        Some(pb::RequestEventKind::RequestSucceeded)
    );

    // A redelivered work item does not run twice: the claim is already held.
    let plan = client
        .get_plan(pb::GetPlanRequest {
            request_id: request.request_id.clone(),
            revision: 0,
        })
        .await
        .expect("plan")
        .into_inner()
        .plan
        .expect("plan");
    let mut agent_api = agents(&deployment.orchestrator.endpoint).await;
    let listed = agent_api
        .list_agents(pb::ListAgentsRequest::default())
        .await
        .expect("agents")
        .into_inner();
    assert_eq!(listed.agents.len(), 1);
    let claimed_again = agent_api
        .register_agent(pb::RegisterAgentRequest {
            agent_id: "infra-second".into(),
            kind: pb::AgentKind::Infra as i32,
            instance_id: "second-process".into(),
            ..Default::default()
        })
        .await
        .map(|_| ());
    claimed_again.expect("a second agent registers");
    let step = &plan.steps[0];
    let outcome = agent_api
        .claim_work(pb::ClaimWorkRequest {
            work_id: step_work_id(&events, &step.step_id),
            agent_id: "infra-second".into(),
            instance_id: "second-process".into(),
        })
        .await
        .expect("claim")
        .into_inner();
    assert_eq!(
        outcome.outcome(),
        pb::ClaimOutcome::NotRunnable,
        "{}",
        outcome.detail
    );
    shutdown.cancel();
}

/// The work id of a step, from its result.
fn step_work_id(events: &[pb::RequestEvent], step_id: &str) -> String {
    events
        .iter()
        .filter(|event| event.step_id == step_id)
        .find_map(|event| event.result.as_ref().map(|result| result.work_id.clone()))
        .expect("the step has a result")
}
