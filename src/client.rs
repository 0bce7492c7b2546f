//! The client subcommands: each is one or two gRPC calls to a running orchestrator and prints
//! the answer for people. Exit codes: 0 for success, 1 when the orchestrator refused or the
//! watched request did not succeed.

mod catalog;
mod format;
mod suggestions;

use anyhow::{Context as _, bail};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_client::AgentServiceClient;
use chiffon_proto::v1::orchestrator_service_client::OrchestratorServiceClient;
use clap::{Args, Subcommand};
use format::{
    local_time, print_plan, print_result, run_options_flags, short_hash, status_word,
    timestamp_words,
};
use std::collections::HashMap;
use std::process::ExitCode;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Intercept = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;
/// A channel to the orchestrator that carries the caller's trace context on every call.
type Traced = InterceptedService<Channel, Intercept>;
type Orchestrator = OrchestratorServiceClient<Traced>;

#[derive(Debug, Args)]
pub struct Server {
    /// The orchestrator's gRPC address.
    #[arg(long, env = "CHIFFON_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Submit a request in plain language and show its plan.
    Request {
        /// What you want done, e.g. "Deploy Uptime Kuma".
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        #[command(flatten)]
        run: RunOptionsArgs,
        #[command(flatten)]
        server: Server,
    },
    /// Show a request: its status, run options and plan with each step's outcome.
    Show {
        /// The request id.
        request_id: String,
        #[command(flatten)]
        server: Server,
    },
    /// Show the plan of a request.
    Plan {
        /// The request id.
        request_id: String,
        /// Plan revision to show [default: the latest].
        #[arg(long, default_value_t = 0)]
        revision: i32,
        #[command(flatten)]
        server: Server,
    },
    /// Approve a request's plan; it starts running.
    Approve {
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
        server: Server,
    },
    /// Reject a request's latest plan; the request ends.
    Reject {
        /// The request id.
        request_id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Reviewer,
        #[command(flatten)]
        server: Server,
    },
    /// Ask for changes to a request's latest plan; it is planned again.
    Modify {
        /// The request id.
        request_id: String,
        /// What to change.
        #[arg(long)]
        feedback: String,
        #[command(flatten)]
        who: Reviewer,
        #[command(flatten)]
        server: Server,
    },
    /// Cancel a request.
    Cancel {
        /// The request id.
        request_id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        server: Server,
    },
    /// Run a failed request again, only on the hosts that failed; it starts at once.
    RerunFailed {
        /// The failed request's id.
        request_id: String,
        #[command(flatten)]
        who: Reviewer,
        /// Follow the new request until it ends.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        server: Server,
    },
    /// Follow a request's events live until it ends; exits 0 only if it succeeded.
    Watch {
        /// The request id.
        request_id: String,
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[command(flatten)]
        server: Server,
    },
    /// List requests, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i32,
        #[command(flatten)]
        server: Server,
    },
    /// List agents.
    Agents {
        #[command(flatten)]
        server: Server,
    },
    /// The playbooks the infrastructure agents found, and which fit a task.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// ansible-lint's suggestions for the infrastructure repositories; accept one to get its fix
    /// on a branch.
    #[command(subcommand)]
    Suggestions(suggestions::SuggestionsCommand),
    /// Check that the orchestrator is serving (gRPC health); for container health checks.
    Health {
        #[command(flatten)]
        server: Server,
    },
}

#[derive(Debug, Args)]
pub struct Reviewer {
    /// Your name, for the record [default: $USER].
    #[arg(long = "as", env = "USER", default_value = "unknown")]
    name: String,
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

async fn channel(server: &Server) -> anyhow::Result<Channel> {
    tonic::transport::Endpoint::from_shared(server.server.clone())
        .with_context(|| format!("invalid server address {}", server.server))?
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot reach the orchestrator at {}; is `chiffon dev` or `chiffon serve` running? (set CHIFFON_SERVER or --server)",
                server.server
            )
        })
}

/// Connects to the orchestrator; every call made on the channel carries the trace context.
async fn connect(server: &Server) -> anyhow::Result<Traced> {
    let inject: Intercept = chiffon_observability::propagation::inject_grpc;
    Ok(InterceptedService::new(channel(server).await?, inject))
}

async fn orchestrator(server: &Server) -> anyhow::Result<Orchestrator> {
    Ok(OrchestratorServiceClient::new(connect(server).await?))
}

/// Turns a refusal into an error that shows the orchestrator's own words, or says what the
/// status code means when the orchestrator gave none.
fn refused(status: tonic::Status) -> anyhow::Error {
    let code = status.code();
    let words = match (status.message(), code) {
        (message, _) if !message.trim().is_empty() => message.to_owned(),
        (_, tonic::Code::Unimplemented) => {
            "the orchestrator does not offer this call; is it an older version than this client?"
                .to_owned()
        }
        (_, tonic::Code::Unavailable) => "the orchestrator is not available".to_owned(),
        (_, code) => code.description().to_owned(),
    };
    anyhow::anyhow!("{words} ({code:?})")
}

pub async fn run(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Request { text, run, server } => {
            let text = text.join(" ");
            let response = orchestrator(&server)
                .await?
                .submit_request(pb::SubmitRequestRequest {
                    text,
                    run_options: run.to_proto(),
                })
                .await
                .map_err(refused)?
                .into_inner();
            let request = response
                .request
                .context("the orchestrator returned no request")?;
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
        ClientCommand::Show { request_id, server } => {
            let mut client = orchestrator(&server).await?;
            let request = client
                .get_request(pb::GetRequestRequest {
                    request_id: request_id.clone(),
                })
                .await
                .map_err(refused)?
                .into_inner()
                .request
                .context("the orchestrator returned no request")?;
            print_request(&request);
            print_plan(&fetch_plan(&mut client, &request_id, 0).await?);
        }
        ClientCommand::Plan {
            request_id,
            revision,
            server,
        } => {
            print_plan(
                &fetch_plan(&mut orchestrator(&server).await?, &request_id, revision).await?,
            );
        }
        ClientCommand::Approve {
            request_id,
            revision,
            hash,
            comment,
            who,
            server,
        } => {
            let mut client = orchestrator(&server).await?;
            let plan = fetch_plan(&mut client, &request_id, revision).await?;
            let response = client
                .approve_plan(pb::ApprovePlanRequest {
                    plan_id: plan.plan_id.clone(),
                    content_hash: hash.unwrap_or(plan.content_hash.clone()),
                    approver: who.name,
                    comment,
                })
                .await
                .map_err(refused)?
                .into_inner();
            let status = response
                .request
                .map(|request| request.status())
                .unwrap_or_default();
            println!(
                "plan revision {} ({}) approved; request is {}",
                plan.revision,
                short_hash(&plan.content_hash),
                status_word(status)
            );
        }
        ClientCommand::Reject {
            request_id,
            reason,
            who,
            server,
        } => {
            let mut client = orchestrator(&server).await?;
            let plan = fetch_plan(&mut client, &request_id, 0).await?;
            client
                .reject_plan(pb::RejectPlanRequest {
                    plan_id: plan.plan_id,
                    reason,
                    approver: who.name,
                })
                .await
                .map_err(refused)?;
            println!(
                "plan revision {} rejected; request {request_id} ended",
                plan.revision
            );
        }
        ClientCommand::Modify {
            request_id,
            feedback,
            who,
            server,
        } => {
            let mut client = orchestrator(&server).await?;
            let plan = fetch_plan(&mut client, &request_id, 0).await?;
            let revised = client
                .revise_plan(pb::RevisePlanRequest {
                    plan_id: plan.plan_id,
                    feedback,
                    approver: who.name,
                })
                .await
                .map_err(refused)?
                .into_inner()
                .plan
                .context("the orchestrator returned no plan")?;
            print_plan(&revised);
        }
        ClientCommand::Cancel {
            request_id,
            reason,
            server,
        } => {
            let request = orchestrator(&server)
                .await?
                .cancel_request(pb::CancelRequestRequest { request_id, reason })
                .await
                .map_err(refused)?
                .into_inner()
                .request
                .context("the orchestrator returned no request")?;
            println!(
                "request {} is {}",
                request.request_id,
                status_word(request.status())
            );
        }
        ClientCommand::RerunFailed {
            request_id,
            who,
            watch,
            server,
        } => {
            let rerun = orchestrator(&server)
                .await?
                .rerun_failed_hosts(pb::RerunFailedHostsRequest {
                    request_id: request_id.clone(),
                    approver: who.name,
                })
                .await
                .map_err(refused)?
                .into_inner();
            let request = rerun
                .request
                .context("the orchestrator returned no request")?;
            println!(
                "request {} re-runs {request_id} on {}",
                request.request_id,
                rerun.hosts.join(", ")
            );
            if let Some(plan) = &rerun.plan {
                print_plan(plan);
            }
            if watch {
                return Ok(follow(&server, &request.request_id, 0).await?.exit_code());
            }
            println!("Follow it:   chiffon watch {}", request.request_id);
        }
        ClientCommand::Watch {
            request_id,
            after,
            server,
        } => {
            return Ok(follow(&server, &request_id, after).await?.exit_code());
        }
        ClientCommand::List { limit, server } => {
            let requests = orchestrator(&server)
                .await?
                .list_requests(pb::ListRequestsRequest {
                    page_size: limit,
                    ..Default::default()
                })
                .await
                .map_err(refused)?
                .into_inner()
                .requests;
            if requests.is_empty() {
                println!("no requests yet; submit one with: chiffon request \"…\"");
            }
            for request in requests {
                println!(
                    "{}  {:<17}  {}",
                    request.request_id,
                    status_word(request.status()),
                    request.text
                );
            }
        }
        ClientCommand::Agents { server } => {
            let agents = AgentServiceClient::new(connect(&server).await?)
                .list_agents(pb::ListAgentsRequest::default())
                .await
                .map_err(refused)?
                .into_inner()
                .agents;
            if agents.is_empty() {
                println!("no agents registered");
            }
            for agent in agents {
                println!(
                    "{}  {:?}  {:?}  {} playbook(s)  on {}",
                    agent.agent_id,
                    agent.kind(),
                    agent.status(),
                    agent.playbook_count,
                    agent.hostname
                );
            }
        }
        ClientCommand::Catalog(command) => catalog::run(command).await?,
        ClientCommand::Suggestions(command) => return suggestions::run(command).await,
        ClientCommand::Health { server } => {
            use tonic_health::pb::health_check_response::ServingStatus;
            let status =
                tonic_health::pb::health_client::HealthClient::new(channel(&server).await?)
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .map_err(refused)?
                    .into_inner()
                    .status();
            println!("{status:?}");
            if status != ServingStatus::Serving {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fetch_plan(
    client: &mut Orchestrator,
    request_id: &str,
    revision: i32,
) -> anyhow::Result<pb::Plan> {
    client
        .get_plan(pb::GetPlanRequest {
            request_id: request_id.to_owned(),
            revision,
        })
        .await
        .map_err(refused)?
        .into_inner()
        .plan
        .context("the orchestrator returned no plan")
}

/// The request's own fields, before its plan.
fn print_request(request: &pb::Request) {
    println!(
        "request {} ({})",
        request.request_id,
        status_word(request.status())
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
struct Followed {
    /// The request ended succeeded.
    succeeded: bool,
    /// Commits the request's steps made, in the order they were reported.
    commits: Vec<pb::RepositoryCommit>,
}

impl Followed {
    /// 0 when the request succeeded, 1 otherwise.
    fn exit_code(&self) -> ExitCode {
        if self.succeeded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Prints a request's events from `after` on, as they happen, until the request ends. A step
/// that starts is shown with what it runs; a step that ends with its outcome.
async fn follow(server: &Server, request_id: &str, after: i64) -> anyhow::Result<Followed> {
    let mut client = orchestrator(server).await?;
    let mut events = client
        .watch_request(pb::WatchRequestRequest {
            request_id: request_id.to_owned(),
            after_sequence: after,
        })
        .await
        .map_err(refused)?
        .into_inner();
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
        let Some(event) = response.event else {
            continue;
        };
        let time = local_time(event.occurred_at.as_ref(), "%H:%M:%S");
        println!("[{:>4}] {time}  {}", event.sequence, event.message);
        if event.kind() == pb::RequestEventKind::StepStarted
            && let Some(step) = steps.get(&event.step_id)
        {
            print_step_start(step);
        }
        if let Some(result) = &event.result {
            print_result(result, "         ");
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

/// What a starting step does, under its STEP_STARTED event.
fn print_step_start(step: &pb::Step) {
    println!("         {}", format::step_action(step));
    if let Some(flags) = step.run_options.as_ref().and_then(run_options_flags) {
        println!("         options: {flags}");
    }
}
