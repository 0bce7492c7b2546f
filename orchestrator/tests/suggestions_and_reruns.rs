//! The orchestrator end to end with a real SQLite database and the in-process bus: suggestions
//! reported, listed and accepted, template and run-option requests, and re-runs of failed hosts.

mod support;

use chiffon_bus::BusMessage;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_server::AgentService as _;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorService as _;
use chiffon_proto::v1::suggestion_service_server::SuggestionService as _;
use pb::work_item::Action;
use support::*;
use tonic::{Code, Request};

fn finding(
    id: &str,
    rule: &str,
    path: &str,
    category: pb::SuggestionCategory,
    fixable: bool,
) -> pb::Suggestion {
    pb::Suggestion {
        suggestion_id: id.into(),
        rule: rule.into(),
        category: category as i32,
        title: format!("{rule} finding"),
        reason: "It matters.".into(),
        path: path.into(),
        line: 6,
        severity: pb::SuggestionSeverity::Warning as i32,
        fixable,
        ..pb::Suggestion::default()
    }
}

fn three_findings() -> Vec<pb::Suggestion> {
    vec![
        finding(
            "aaaa000000000001",
            "no-changed-when",
            "playbooks/flawed.yml",
            pb::SuggestionCategory::Idempotency,
            false,
        ),
        finding(
            "aaaa000000000002",
            "fqcn[action-core]",
            "playbooks/flawed.yml",
            pb::SuggestionCategory::Standards,
            true,
        ),
        finding(
            "aaaa000000000003",
            "yaml[truthy]",
            "playbooks/backup-nas.yml",
            pb::SuggestionCategory::Standards,
            true,
        ),
    ]
}

fn id_of(finding_id: &str) -> String {
    format!("{AGENT}:{finding_id}")
}

fn ids(response: &pb::ListSuggestionsResponse) -> Vec<&str> {
    response
        .suggestions
        .iter()
        .map(|suggestion| suggestion.suggestion_id.as_str())
        .collect()
}

fn succeeded_with_commit() -> pb::WorkResult {
    pb::WorkResult {
        status: pb::WorkStatus::Succeeded as i32,
        commit: Some(pb::RepositoryCommit {
            branch: "chiffon/fix-fqcn-1a2b3c4d".into(),
            commit_id: "0123456789abcdef0123456789abcdef01234567".into(),
            base_commit: "89abcdef0123456789abcdef0123456789abcdef".into(),
            files: vec!["playbooks/flawed.yml".into()],
            message: "Fix fqcn[action-core]".into(),
        }),
        ..pb::WorkResult::default()
    }
}

#[tokio::test]
async fn reported_suggestions_are_listed_filtered_paginated_and_resolved() {
    let harness = Harness::start().await;
    assert_eq!(
        harness
            .report(AGENT, three_findings())
            .await
            .expect("report"),
        3
    );

    let all = harness.list(pb::ListSuggestionsRequest::default()).await;
    // Newest findings first; all three came in one report, in order.
    assert_eq!(
        ids(&all),
        [
            id_of("aaaa000000000003"),
            id_of("aaaa000000000002"),
            id_of("aaaa000000000001")
        ]
    );
    assert!(all.next_page_token.is_empty());
    assert!(
        all.suggestions
            .iter()
            .all(|s| s.status() == pb::SuggestionStatus::Open && s.agent_id == AGENT)
    );

    let idempotency = harness
        .list(pb::ListSuggestionsRequest {
            category: pb::SuggestionCategory::Idempotency as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&idempotency), [id_of("aaaa000000000001")]);
    let backup = harness
        .list(pb::ListSuggestionsRequest {
            path: "playbooks/backup-nas.yml".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&backup), [id_of("aaaa000000000003")]);
    let other_agent = harness
        .list(pb::ListSuggestionsRequest {
            agent_id: "someone-else".into(),
            ..Default::default()
        })
        .await;
    assert!(other_agent.suggestions.is_empty());

    let first = harness
        .list(pb::ListSuggestionsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(first.suggestions.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = harness
        .list(pb::ListSuggestionsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&second), [id_of("aaaa000000000001")]);
    assert!(second.next_page_token.is_empty());
    let bad_token = harness
        .suggestions
        .list_suggestions(Request::new(pb::ListSuggestionsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        }))
        .await
        .expect_err("a token the server never issued");
    assert_eq!(bad_token.code(), Code::InvalidArgument);

    // The next lint no longer finds the first one: it is resolved, the others keep their history.
    let before = harness.get(&id_of("aaaa000000000002")).await;
    let mut latest = three_findings();
    latest.remove(0);
    latest[0].line = 7;
    assert_eq!(harness.report(AGENT, latest).await.expect("report"), 2);
    let resolved = harness.get(&id_of("aaaa000000000001")).await;
    assert_eq!(resolved.status(), pb::SuggestionStatus::Resolved);
    let after = harness.get(&id_of("aaaa000000000002")).await;
    assert_eq!(after.first_seen_at, before.first_seen_at);
    assert_eq!(after.line, 7);
    assert_eq!(after.status(), pb::SuggestionStatus::Open);
    assert_eq!(
        ids(&harness.list(pb::ListSuggestionsRequest::default()).await),
        [id_of("aaaa000000000003"), id_of("aaaa000000000002")]
    );
    let listed_resolved = harness
        .list(pb::ListSuggestionsRequest {
            status: pb::SuggestionStatus::Resolved as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&listed_resolved), [id_of("aaaa000000000001")]);

    // A finding lint reports again opens again.
    assert_eq!(
        harness
            .report(AGENT, three_findings())
            .await
            .expect("report"),
        3
    );
    assert_eq!(
        harness.get(&id_of("aaaa000000000001")).await.status(),
        pb::SuggestionStatus::Open
    );
    harness.stop().await;
}

#[tokio::test]
async fn bad_reports_are_refused_and_agents_do_not_share_ids() {
    let harness = Harness::start().await;
    let unknown = harness
        .agents
        .report_suggestions(Request::new(pb::ReportSuggestionsRequest {
            agent_id: AGENT.into(),
            instance_id: "not-the-registered-process".into(),
            suggestions: three_findings(),
        }))
        .await
        .expect_err("an unknown process");
    assert_eq!(unknown.code(), Code::NotFound);

    let mut no_rule = three_findings();
    no_rule[1].rule = String::new();
    let refused = harness
        .report(AGENT, no_rule)
        .await
        .expect_err("a finding without a rule");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("aaaa000000000002"),
        "{}",
        refused.message()
    );
    let mut no_category = three_findings();
    no_category[0].category = 0;
    let refused = harness
        .report(AGENT, no_category)
        .await
        .expect_err("no category");
    assert_eq!(refused.code(), Code::InvalidArgument);
    // Nothing of a refused report was stored.
    assert!(
        harness
            .list(pb::ListSuggestionsRequest::default())
            .await
            .suggestions
            .is_empty()
    );

    harness
        .register("infra-twin", "22222222-2222-4222-8222-222222222222")
        .await;
    harness
        .report(AGENT, three_findings())
        .await
        .expect("report");
    harness
        .report("infra-twin", three_findings())
        .await
        .expect("report of the same repository");
    let all = harness.list(pb::ListSuggestionsRequest::default()).await;
    assert_eq!(all.suggestions.len(), 6);
    let twin = harness
        .list(pb::ListSuggestionsRequest {
            agent_id: "infra-twin".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(twin.suggestions.len(), 3);
    assert!(ids(&twin).iter().all(|id| id.starts_with("infra-twin:")));
    harness.stop().await;
}

#[tokio::test]
async fn accepting_a_suggestion_applies_its_fix_through_a_request() {
    let mut harness = Harness::start().await;
    harness
        .report(AGENT, three_findings())
        .await
        .expect("report");
    let target = id_of("aaaa000000000002");

    let accepted = harness.accept(&target).await.expect("accept");
    let suggestion = accepted.suggestion.expect("suggestion");
    assert_eq!(suggestion.status(), pb::SuggestionStatus::Accepted);
    let request = accepted.request.expect("request");
    assert_eq!(suggestion.request_id, request.request_id);
    assert_eq!(request.suggestion_id, target);
    assert_eq!(
        request.text,
        "Apply the ansible-lint fix for fqcn[action-core] in playbooks/flawed.yml"
    );
    assert_eq!(request.status(), pb::RequestStatus::Running);

    let plan = harness.plan(&request.request_id).await;
    assert_eq!(plan.status(), pb::PlanStatus::Approved);
    assert_eq!(plan.steps.len(), 1);
    let step = &plan.steps[0];
    assert_eq!(step.action(), pb::StepAction::ApplySuggestion);
    assert_eq!(step.suggestion_id, target);
    assert_eq!(step.risk(), pb::RiskLevel::Low);
    assert!(!step.custom_playbook_needed);

    // The same history a request approved by a person has.
    let mut events = harness
        .orchestrator
        .watch(request.request_id.parse().expect("a request id"), 0)
        .await
        .expect("watch");
    let mut kinds = Vec::new();
    for _ in 0..4 {
        let event = events.recv().await.expect("event").expect("event");
        if event.kind() == pb::RequestEventKind::PlanApproved {
            assert!(event.message.contains("alice"), "{}", event.message);
        }
        kinds.push(event.kind());
    }
    assert_eq!(
        kinds,
        [
            pb::RequestEventKind::RequestSubmitted,
            pb::RequestEventKind::PlanProposed,
            pb::RequestEventKind::PlanApproved,
            pb::RequestEventKind::StepQueued
        ]
    );

    // Another infrastructure agent may take the message off the shared queue: it must give it
    // back, since the fix belongs to the repository AGENT linted.
    harness.register(OTHER_AGENT, OTHER_INSTANCE).await;
    let delivery = tokio::time::timeout(PATIENCE, harness.work.next())
        .await
        .expect("a work item in time")
        .expect("the work queue is open");
    let BusMessage::WorkItem(item) = delivery.message.clone() else {
        panic!("not a work item: {:?}", delivery.message);
    };
    let refused = harness.claim(&item, OTHER_AGENT, OTHER_INSTANCE).await;
    assert_eq!(refused.outcome(), pb::ClaimOutcome::OtherAgent);
    assert!(refused.detail.contains(AGENT), "{}", refused.detail);
    delivery.retry().await.expect("give the message back");

    let item = harness.next_work().await;
    assert_eq!(item.request_id, request.request_id);
    let Some(Action::ApplySuggestion(apply)) = &item.action else {
        panic!("not an ApplySuggestion: {:?}", item.action);
    };
    let sent = apply.suggestion.as_ref().expect("the suggestion");
    assert_eq!(
        (sent.suggestion_id.as_str(), sent.rule.as_str()),
        ("aaaa000000000002", "fqcn[action-core]")
    );
    assert_eq!(sent.path, "playbooks/flawed.yml");

    let again = harness
        .accept(&target)
        .await
        .expect_err("already being applied");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(
        again.message().contains(&request.request_id),
        "{}",
        again.message()
    );
    // A lint that runs meanwhile does not resolve the fix being applied.
    harness.report(AGENT, Vec::new()).await.expect("report");
    assert_eq!(
        harness.get(&target).await.status(),
        pb::SuggestionStatus::Accepted
    );

    let result = succeeded_with_commit();
    harness.finish(&item, result.clone()).await;
    let applied = harness.get(&target).await;
    assert_eq!(applied.status(), pb::SuggestionStatus::Applied);
    assert_eq!(applied.commit, result.commit);
    assert_eq!(
        harness.request(&request.request_id).await.status(),
        pb::RequestStatus::Succeeded
    );
    let plan = harness.plan(&request.request_id).await;
    assert_eq!(
        plan.steps[0].result.as_ref().and_then(|r| r.commit.clone()),
        result.commit
    );

    let applied_again = harness.accept(&target).await.expect_err("already applied");
    assert_eq!(applied_again.code(), Code::FailedPrecondition);
    assert!(
        applied_again.message().contains("merge"),
        "{}",
        applied_again.message()
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_failed_fix_can_be_accepted_again_and_unfit_suggestions_cannot_be_accepted() {
    let mut harness = Harness::start().await;
    harness
        .report(AGENT, three_findings())
        .await
        .expect("report");

    let not_fixable = harness
        .accept(&id_of("aaaa000000000001"))
        .await
        .expect_err("not fixable");
    assert_eq!(not_fixable.code(), Code::FailedPrecondition);
    assert!(
        not_fixable.message().contains("by hand"),
        "{}",
        not_fixable.message()
    );
    let missing = harness
        .accept("infra-test:nothing")
        .await
        .expect_err("no such suggestion");
    assert_eq!(missing.code(), Code::NotFound);

    let target = id_of("aaaa000000000003");
    harness.accept(&target).await.expect("accept");
    let item = harness.next_work().await;
    harness
        .finish(
            &item,
            pb::WorkResult {
                status: pb::WorkStatus::Failed as i32,
                exit_code: 2,
                error: "ansible-lint --fix changed nothing".into(),
                ..pb::WorkResult::default()
            },
        )
        .await;
    let failed = harness.get(&target).await;
    assert_eq!(failed.status(), pb::SuggestionStatus::Failed);
    assert_eq!(failed.error, "ansible-lint --fix changed nothing");
    // A lint that finds it again refreshes the finding and keeps how the fix went.
    harness
        .report(AGENT, three_findings())
        .await
        .expect("report");
    let relinted = harness.get(&target).await;
    assert_eq!(relinted.status(), pb::SuggestionStatus::Failed);
    assert_eq!(relinted.error, failed.error);
    assert_eq!(relinted.request_id, failed.request_id);

    let retried = harness
        .accept(&target)
        .await
        .expect("a failed fix can be accepted again");
    assert_eq!(retried.suggestion.expect("suggestion").error, "");

    // Once the lint stops finding a suggestion it cannot be accepted.
    harness
        .report(AGENT, three_findings()[..1].to_vec())
        .await
        .expect("report");
    let resolved = harness
        .accept(&id_of("aaaa000000000002"))
        .await
        .expect_err("resolved");
    assert_eq!(resolved.code(), Code::FailedPrecondition);
    assert!(
        resolved.message().contains("resolved"),
        "{}",
        resolved.message()
    );
    // Only the agent that linted the repository can fix it: not while it is offline.
    harness
        .report(AGENT, three_findings())
        .await
        .expect("report");
    let open = id_of("aaaa000000000002");
    assert_eq!(
        harness.get(&open).await.status(),
        pb::SuggestionStatus::Open
    );
    harness.mark_offline(AGENT).await;
    let offline = harness
        .accept(&open)
        .await
        .expect_err("its agent is offline");
    assert_eq!(offline.code(), Code::FailedPrecondition);
    assert!(
        offline.message().contains("offline"),
        "{}",
        offline.message()
    );
    assert_eq!(
        harness.get(&open).await.status(),
        pb::SuggestionStatus::Open
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_template_request_plans_and_dispatches_a_template_step() {
    let mut harness = Harness::start().await;
    let submitted = harness
        .submit(
            "generate a template for deploying Grafana on port 3000",
            None,
        )
        .await
        .expect("submit");
    let plan = submitted.plan.expect("plan");
    assert_eq!(plan.steps.len(), 1);
    let step = &plan.steps[0];
    assert_eq!(step.action(), pb::StepAction::GenerateTemplate);
    assert!(!step.custom_playbook_needed);
    assert_eq!(step.risk(), pb::RiskLevel::Low);
    let template = step.template.clone().expect("template");
    assert_eq!(
        (
            template.service.as_str(),
            template.port,
            template.containerised
        ),
        ("Grafana", 3000, true)
    );
    harness.approve(&plan).await;
    let item = harness.next_work().await;
    assert_eq!(item.action, Some(Action::GenerateTemplate(template)));
    harness.stop().await;
}

#[tokio::test]
async fn run_options_are_validated_stored_and_sent_with_the_playbook() {
    let mut harness = Harness::start().await;
    for (options, complaint) in [
        (
            pb::RunOptions {
                limit: "web; rm -rf /".into(),
                ..Default::default()
            },
            "run_options.limit",
        ),
        (
            pb::RunOptions {
                limit: "web nas".into(),
                ..Default::default()
            },
            "without spaces",
        ),
        (
            pb::RunOptions {
                limit: "a".repeat(1001),
                ..Default::default()
            },
            "limit is 1000",
        ),
        (
            pb::RunOptions {
                tags: vec!["ok".into(), "no way".into()],
                ..Default::default()
            },
            "\"no way\"",
        ),
        (
            pb::RunOptions {
                tags: (0..51).map(|n| format!("t{n}")).collect(),
                ..Default::default()
            },
            "51 tags",
        ),
    ] {
        let refused = harness
            .submit("Back up the NAS", Some(options))
            .await
            .expect_err("bad options");
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(
            refused.message().contains(complaint),
            "{}",
            refused.message()
        );
    }
    assert!(
        harness
            .requests
            .list_requests(Request::new(pb::ListRequestsRequest::default()))
            .await
            .expect("list")
            .into_inner()
            .requests
            .is_empty()
    );

    let options = pb::RunOptions {
        limit: "nas:!nas-backup,web*".into(),
        tags: vec!["backup".into(), "config.v2".into()],
        check_mode: true,
        diff: true,
        inventory: String::new(),
    };
    let submitted = harness
        .submit("Back up the NAS", Some(options.clone()))
        .await
        .expect("submit");
    let request = submitted.request.expect("request");
    assert_eq!(request.run_options.as_ref(), Some(&options));
    let plan = submitted.plan.expect("plan");
    assert_eq!(plan.steps[0].run_options.as_ref(), Some(&options));

    // Revising keeps the options.
    let revised = harness
        .requests
        .revise_plan(Request::new(pb::RevisePlanRequest {
            plan_id: plan.plan_id.clone(),
            feedback: "also deploy uptime kuma".into(),
            approver: "alice".into(),
        }))
        .await
        .expect("revise")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(revised.steps.len(), 2);
    assert!(
        revised
            .steps
            .iter()
            .all(|step| step.run_options.as_ref() == Some(&options))
    );

    harness.approve(&revised).await;
    let item = harness.next_work().await;
    let Some(Action::PlaybookRun(run)) = &item.action else {
        panic!("not a playbook run: {:?}", item.action);
    };
    assert_eq!(run.playbook, "playbooks/backup-nas.yml");
    assert_eq!(
        (
            run.limit.as_str(),
            run.tags.clone(),
            run.check_mode,
            run.diff
        ),
        (options.limit.as_str(), options.tags.clone(), true, true)
    );
    harness.stop().await;
}

fn stats(host: &str, ok: i32, failed: i32, unreachable: i32) -> pb::HostStats {
    pb::HostStats {
        host: host.into(),
        ok,
        failed,
        unreachable,
        ..pb::HostStats::default()
    }
}

#[tokio::test]
async fn failed_hosts_are_re_run_with_the_steps_that_never_ran() {
    let mut harness = Harness::start().await;
    let options = pb::RunOptions {
        tags: vec!["deploy".into()],
        diff: true,
        ..Default::default()
    };
    let submitted = harness
        .submit(
            "Deploy Uptime Kuma to the homelab and add our existing portals to its config",
            Some(options.clone()),
        )
        .await
        .expect("submit");
    let original = submitted.request.expect("request");
    let plan = submitted.plan.expect("plan");
    assert_eq!(plan.steps.len(), 2, "{:?}", plan.steps);

    let running = harness
        .requests
        .rerun_failed_hosts(Request::new(pb::RerunFailedHostsRequest {
            request_id: original.request_id.clone(),
            approver: "alice".into(),
        }))
        .await
        .expect_err("not failed");
    assert_eq!(running.code(), Code::FailedPrecondition);

    harness.approve(&plan).await;
    let item = harness.next_work().await;
    harness
        .finish(
            &item,
            pb::WorkResult {
                status: pb::WorkStatus::Failed as i32,
                exit_code: 4,
                error: "2 hosts failed".into(),
                host_stats: vec![
                    stats("kuma", 3, 1, 0),
                    stats("nas", 5, 0, 0),
                    stats("web", 0, 0, 1),
                ],
                failed_tasks: vec![pb::FailedTask {
                    host: "kuma".into(),
                    task: "Start the stack".into(),
                    message: "port in use".into(),
                }],
                ..pb::WorkResult::default()
            },
        )
        .await;
    assert_eq!(
        harness.request(&original.request_id).await.status(),
        pb::RequestStatus::Failed
    );

    let rerun = harness
        .requests
        .rerun_failed_hosts(Request::new(pb::RerunFailedHostsRequest {
            request_id: original.request_id.clone(),
            approver: "bob".into(),
        }))
        .await
        .expect("re-run")
        .into_inner();
    assert_eq!(rerun.hosts, ["kuma", "web"]);
    let request = rerun.request.expect("request");
    assert_eq!(request.rerun_of_request_id, original.request_id);
    assert_eq!(request.status(), pb::RequestStatus::Running);
    assert_eq!(
        request.text,
        "Re-run on the failed hosts: Deploy Uptime Kuma to the homelab and add our existing portals to its config"
    );
    let limited = pb::RunOptions {
        limit: "kuma,web".into(),
        ..options
    };
    assert_eq!(request.run_options.as_ref(), Some(&limited));
    let new_plan = rerun.plan.expect("plan");
    assert_eq!(new_plan.status(), pb::PlanStatus::Approved);
    let playbooks: Vec<&str> = new_plan
        .steps
        .iter()
        .map(|step| step.playbook.as_str())
        .collect();
    assert_eq!(
        playbooks,
        [
            plan.steps[0].playbook.as_str(),
            plan.steps[1].playbook.as_str()
        ]
    );
    assert_eq!(new_plan.steps[1].depends_on, [1]);
    assert!(
        new_plan
            .steps
            .iter()
            .all(|step| step.run_options.as_ref() == Some(&limited))
    );

    let item = harness.next_work().await;
    assert_eq!(item.request_id, request.request_id);
    let Some(Action::PlaybookRun(run)) = &item.action else {
        panic!("not a playbook run: {:?}", item.action);
    };
    assert_eq!(
        (run.playbook.as_str(), run.limit.as_str()),
        (plan.steps[0].playbook.as_str(), "kuma,web")
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_request_that_failed_before_any_host_ran_cannot_be_re_run() {
    let mut harness = Harness::start().await;
    let submitted = harness
        .submit("Back up the NAS", None)
        .await
        .expect("submit");
    let plan = submitted.plan.expect("plan");
    harness.approve(&plan).await;
    let item = harness.next_work().await;
    harness
        .finish(
            &item,
            pb::WorkResult {
                status: pb::WorkStatus::Failed as i32,
                exit_code: 1,
                error: "the inventory inventory/hosts.yml does not exist".into(),
                ..pb::WorkResult::default()
            },
        )
        .await;
    let refused = harness
        .requests
        .rerun_failed_hosts(Request::new(pb::RerunFailedHostsRequest {
            request_id: plan.request_id.clone(),
            approver: "alice".into(),
        }))
        .await
        .expect_err("no host failed");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("no host failed"),
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("inventory"),
        "{}",
        refused.message()
    );
    let listed = harness
        .requests
        .list_requests(Request::new(pb::ListRequestsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.requests.len(), 1, "a refused re-run records nothing");
    harness.stop().await;
}
