//! `chiffon request`, `show`, `plan`, `approve`, `reject`, `modify`, `cancel`, `rerun-failed`,
//! `watch` and `list`: requests and their plans (`OrchestratorService`).

use super::format::{
    local_time, print_plan, print_result, run_options_flags, short_hash, timestamp_words,
};
use super::{Common, Reply as _, Reviewer, orchestrator, refused, returned};
use anyhow::{Context as _, bail};
use chiffon_proto::v1 as pb;
use clap::Args;
use std::collections::HashMap;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// What you want done, e.g. "Deploy Uptime Kuma".
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
    #[command(flatten)]
    run: RunOptionsArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request id.
    request_id: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The request id.
    request_id: String,
    /// Plan revision to show [default: the latest].
    #[arg(long, default_value_t = 0)]
    revision: i32,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request id.
    request_id: String,
    /// The revision you reviewed [default: the latest].
    #[arg(long, default_value_t = 0)]
    revision: i32,
    /// The content hash you reviewed; refuses to approve if the plan differs.
    #[arg(long)]
    hash: Option<String>,
    /// Note kept with the approval.
    #[arg(long, default_value = "")]
    comment: String,
    #[command(flatten)]
    who: Reviewer,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The request id.
    request_id: String,
    /// Why.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    who: Reviewer,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ModifyArgs {
    /// The request id.
    request_id: String,
    /// What to change.
    #[arg(long)]
    feedback: String,
    #[command(flatten)]
    who: Reviewer,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The request id.
    request_id: String,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct RerunFailedArgs {
    /// The failed request's id.
    request_id: String,
    #[command(flatten)]
    who: Reviewer,
    /// Follow the new request until it ends (with --output json: the re-run's line, then one
    /// per event).
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The request id.
    request_id: String,
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: i64,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// How many.
    #[arg(long, default_value_t = 20)]
    limit: i32,
    #[command(flatten)]
    common: Common,
}

/// How a request's playbooks run: the ansible-playbook options a person can set.
#[derive(Debug, Args)]
pub struct RunOptionsArgs {
    /// Only these hosts (an Ansible host pattern, e.g. "monitoring:!nas").
    #[arg(long, value_name = "PATTERN")]
    limit: Option<String>,
    /// Only tasks with these tags, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "TAG,…")]
    tags: Vec<String>,
    /// Dry run: report what would change and change nothing.
    #[arg(long)]
    check: bool,
    /// Show the differences in changed files and templates.
    #[arg(long)]
    diff: bool,
    /// Run against this inventory of the agents (see `chiffon catalog inventories`) instead of
    /// their default, e.g. "staging".
    #[arg(long, value_name = "NAME")]
    inventory: Option<String>,
}

impl RunOptionsArgs {
    /// The options for `SubmitRequest`; `None` when none is set, so the request runs as planned.
    fn to_proto(&self) -> Option<pb::RunOptions> {
        let options = pb::RunOptions {
            limit: self.limit.clone().unwrap_or_default(),
            tags: self
                .tags
                .iter()
                .map(|tag| tag.trim().to_owned())
                .filter(|tag| !tag.is_empty())
                .collect(),
            check_mode: self.check,
            diff: self.diff,
            inventory: self.inventory.clone().unwrap_or_default(),
        };
        (options != pb::RunOptions::default()).then_some(options)
    }
}

/// `chiffon request`.
pub async fn request(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let response = orchestrator(&args.common.server)
        .await?
        .submit_request(pb::SubmitRequestRequest {
            text: args.text.join(" "),
            run_options: args.run.to_proto(),
        })
        .reply()
        .await?;
    let request = returned(response.request.as_ref(), "request")?;
    args.common
        .output
        .answer(&response, |response| print_submitted(request, response))
}

/// The new request, its plan and what to do next: approve, or add what the plan lacks.
fn print_submitted(request: &pb::Request, response: &pb::SubmitRequestResponse) {
    println!("request {} submitted", request.request_id);
    if let Some(flags) = request.run_options.as_ref().and_then(run_options_flags) {
        println!("run options: {flags}");
    }
    if let Some(plan) = &response.plan {
        print_plan(plan);
    }
    println!();
    let approvable = response
        .plan
        .as_ref()
        .is_some_and(|plan| !plan.steps.iter().any(|step| step.custom_playbook_needed));
    if approvable {
        println!("Approve it:  chiffon approve {}", request.request_id);
        println!("Follow it:   chiffon watch {}", request.request_id);
    } else {
        println!(
            "This plan cannot be approved: some work has no playbook yet (each such step \
             says what to write). Add the playbook and revise the plan with \
             `chiffon modify {} --feedback ...`, or reject it.",
            request.request_id
        );
    }
}

/// `chiffon show`: with `--output json`, GetRequest's and GetPlan's fields in one object.
pub async fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let mut client = orchestrator(&args.common.server).await?;
    let response = client
        .get_request(pb::GetRequestRequest {
            request_id: args.request_id.clone(),
        })
        .reply()
        .await?;
    let request = returned(response.request.as_ref(), "request")?;
    let plan = plan_response(fetch_plan(&mut client, &args.request_id, 0).await?);
    args.common.output.answer_both(&response, &plan, |_, plan| {
        print_request(request);
        print_plan_response(plan);
    })
}

/// `chiffon plan`.
pub async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let mut client = orchestrator(&args.common.server).await?;
    let plan = fetch_plan(&mut client, &args.request_id, args.revision).await?;
    args.common
        .output
        .answer(&plan_response(plan), print_plan_response)
}

/// `chiffon approve`: approves the revision and hash reviewed, by default the latest as it is.
pub async fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let mut client = orchestrator(&args.common.server).await?;
    let plan = fetch_plan(&mut client, &args.request_id, args.revision).await?;
    let response = client
        .approve_plan(pb::ApprovePlanRequest {
            plan_id: plan.plan_id.clone(),
            content_hash: args.hash.unwrap_or(plan.content_hash.clone()),
            approver: args.who.name,
            comment: args.comment,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, |response| {
        let status = response
            .request
            .as_ref()
            .map(|request| request.status())
            .unwrap_or_default();
        println!(
            "plan revision {} ({}) approved; request is {}",
            plan.revision,
            short_hash(&plan.content_hash),
            status.word()
        );
    })
}

/// `chiffon reject`: rejects the latest revision.
pub async fn reject(args: RejectArgs) -> anyhow::Result<ExitCode> {
    let mut client = orchestrator(&args.common.server).await?;
    let plan = fetch_plan(&mut client, &args.request_id, 0).await?;
    let response = client
        .reject_plan(pb::RejectPlanRequest {
            plan_id: plan.plan_id,
            reason: args.reason,
            approver: args.who.name,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, |_| {
        println!(
            "plan revision {} rejected; request {} ended",
            plan.revision, args.request_id
        );
    })
}

/// `chiffon modify`: asks for a new revision of the latest.
pub async fn modify(args: ModifyArgs) -> anyhow::Result<ExitCode> {
    let mut client = orchestrator(&args.common.server).await?;
    let plan = fetch_plan(&mut client, &args.request_id, 0).await?;
    let response = client
        .revise_plan(pb::RevisePlanRequest {
            plan_id: plan.plan_id,
            feedback: args.feedback,
            approver: args.who.name,
        })
        .reply()
        .await?;
    let revised = returned(response.plan.as_ref(), "plan")?;
    args.common
        .output
        .answer(&response, |_| print_plan(revised))
}

/// `chiffon cancel`.
pub async fn cancel(args: CancelArgs) -> anyhow::Result<ExitCode> {
    let response = orchestrator(&args.common.server)
        .await?
        .cancel_request(pb::CancelRequestRequest {
            request_id: args.request_id,
            reason: args.reason,
        })
        .reply()
        .await?;
    let request = returned(response.request.as_ref(), "request")?;
    args.common.output.answer(&response, |_| {
        println!(
            "request {} is {}",
            request.request_id,
            request.status().word()
        );
    })
}

/// `chiffon rerun-failed`: starts the re-run and, with `--watch`, follows it.
pub async fn rerun_failed(args: RerunFailedArgs) -> anyhow::Result<ExitCode> {
    let response = orchestrator(&args.common.server)
        .await?
        .rerun_failed_hosts(pb::RerunFailedHostsRequest {
            request_id: args.request_id.clone(),
            approver: args.who.name,
        })
        .reply()
        .await?;
    let rerun = returned(response.request.as_ref(), "request")?;
    args.common.output.print(&response, |response| {
        println!(
            "request {} re-runs {} on {}",
            rerun.request_id,
            args.request_id,
            response.hosts.join(", ")
        );
        if let Some(plan) = &response.plan {
            print_plan(plan);
        }
        if !args.watch {
            println!("Follow it:   chiffon watch {}", rerun.request_id);
        }
    })?;
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(follow(&args.common, &rerun.request_id, 0)
        .await?
        .exit_code())
}

/// `chiffon watch`: exits 0 only when the request succeeded.
pub async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    Ok(follow(&args.common, &args.request_id, args.after)
        .await?
        .exit_code())
}

/// `chiffon list`.
pub async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = orchestrator(&args.common.server)
        .await?
        .list_requests(pb::ListRequestsRequest {
            page_size: args.limit,
            ..Default::default()
        })
        .reply()
        .await?;
    args.common.output.answer(&response, print_requests)
}

fn print_requests(response: &pb::ListRequestsResponse) {
    if response.requests.is_empty() {
        println!("no requests yet; submit one with: chiffon request \"…\"");
    }
    for request in &response.requests {
        println!(
            "{}  {:<17}  {}",
            request.request_id,
            request.status().word(),
            request.text
        );
    }
}

async fn fetch_plan(
    client: &mut super::Orchestrator,
    request_id: &str,
    revision: i32,
) -> anyhow::Result<pb::Plan> {
    client
        .get_plan(pb::GetPlanRequest {
            request_id: request_id.to_owned(),
            revision,
        })
        .reply()
        .await?
        .plan
        .context("the orchestrator returned no plan")
}

/// GetPlan's answer, with the plan [`fetch_plan`] made sure it has.
fn plan_response(plan: pb::Plan) -> pb::GetPlanResponse {
    pb::GetPlanResponse { plan: Some(plan) }
}

/// The plan of a [`plan_response`].
fn print_plan_response(response: &pb::GetPlanResponse) {
    response.plan.iter().for_each(print_plan);
}

/// The request's own fields, before its plan.
fn print_request(request: &pb::Request) {
    println!(
        "request {} ({})",
        request.request_id,
        request.status().word()
    );
    println!("  text:      {}", request.text);
    if !request.status_reason.is_empty() {
        println!("  reason:    {}", request.status_reason);
    }
    if let Some(flags) = request.run_options.as_ref().and_then(run_options_flags) {
        println!("  options:   {flags}");
    }
    if !request.rerun_of_request_id.is_empty() {
        println!(
            "  re-runs:   {} on its failed hosts",
            request.rerun_of_request_id
        );
    }
    if !request.suggestion_id.is_empty() {
        println!("  applies:   suggestion {}", request.suggestion_id);
    }
    println!(
        "  submitted: {}",
        timestamp_words(request.created_at.as_ref())
    );
    if request.finished_at.is_some() {
        println!(
            "  finished:  {}",
            timestamp_words(request.finished_at.as_ref())
        );
    }
}

/// What following a request to its end saw.
pub struct Followed {
    /// The request ended succeeded.
    pub succeeded: bool,
    /// Commits the request's steps made, in the order they were reported.
    pub commits: Vec<pb::RepositoryCommit>,
}

impl Followed {
    /// 0 when the request succeeded, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.succeeded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Prints a request's events from `after` on, as they happen, until the request ends. A step
/// that starts is shown with what it runs; a step that ends with its outcome.
pub async fn follow(common: &Common, request_id: &str, after: i64) -> anyhow::Result<Followed> {
    let mut client = orchestrator(&common.server).await?;
    let mut events = client
        .watch_request(pb::WatchRequestRequest {
            request_id: request_id.to_owned(),
            after_sequence: after,
        })
        .reply()
        .await?;
    // The plan names what each step does; the events only name the step.
    let steps: HashMap<String, pb::Step> = fetch_plan(&mut client, request_id, 0)
        .await
        .map(|plan| {
            plan.steps
                .into_iter()
                .map(|step| (step.step_id.clone(), step))
                .collect()
        })
        .unwrap_or_default();
    let mut commits = Vec::new();
    while let Some(response) = events.message().await.map_err(refused)? {
        let Some(event) = &response.event else {
            continue;
        };
        common
            .output
            .print(&response, |_| print_event(event, &steps))?;
        if let Some(result) = &event.result {
            commits.extend(result.commit.clone());
        }
        if event.ends_request {
            return Ok(Followed {
                succeeded: event.kind() == pb::RequestEventKind::RequestSucceeded,
                commits,
            });
        }
    }
    bail!(
        "the event stream ended before the request did (the orchestrator stopped?); run watch again to resume"
    )
}

/// One event: its sequence, time and message, then what a starting step runs and what an
/// ending step achieved.
fn print_event(event: &pb::RequestEvent, steps: &HashMap<String, pb::Step>) {
    let time = local_time(event.occurred_at.as_ref(), "%H:%M:%S");
    println!("[{:>4}] {time}  {}", event.sequence, event.message);
    if event.kind() == pb::RequestEventKind::StepStarted
        && let Some(step) = steps.get(&event.step_id)
    {
        print_step_start(step);
    }
    if let Some(result) = &event.result {
        print_result(result, "         ");
    }
}

/// What a starting step does, under its STEP_STARTED event.
fn print_step_start(step: &pb::Step) {
    println!("         {}", super::format::step_action(step));
    if let Some(flags) = step.run_options.as_ref().and_then(run_options_flags) {
        println!("         options: {flags}");
    }
}
