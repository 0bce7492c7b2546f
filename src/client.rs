//! The client subcommands: each is one or two gRPC calls to a running orchestrator and prints
//! the answer for people. Exit codes: 0 for success, 1 when the orchestrator refused or the
//! watched request did not succeed.

use anyhow::{Context as _, bail};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_client::AgentServiceClient;
use chiffon_proto::v1::orchestrator_service_client::OrchestratorServiceClient;
use clap::{Args, Subcommand};
use std::process::ExitCode;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Intercept = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;
type Orchestrator = OrchestratorServiceClient<InterceptedService<Channel, Intercept>>;

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

async fn orchestrator(server: &Server) -> anyhow::Result<Orchestrator> {
    let inject: Intercept = chiffon_observability::propagation::inject_grpc;
    Ok(OrchestratorServiceClient::with_interceptor(
        channel(server).await?,
        inject,
    ))
}

/// Turns a refusal into an error that shows the orchestrator's own words.
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{} ({:?})", status.message(), status.code())
}

pub async fn run(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Request { text, server } => {
            let text = text.join(" ");
            let response = orchestrator(&server)
                .await?
                .submit_request(pb::SubmitRequestRequest {
                    text,
                    run_options: None,
                })
                .await
                .map_err(refused)?
                .into_inner();
            let request = response
                .request
                .context("the orchestrator returned no request")?;
            println!("request {} submitted", request.request_id);
            if let Some(plan) = &response.plan {
                print_plan(plan);
            }
            println!();
            println!("Approve it:  chiffon approve {}", request.request_id);
            println!("Follow it:   chiffon watch {}", request.request_id);
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
        ClientCommand::Watch {
            request_id,
            after,
            server,
        } => {
            return watch(&mut orchestrator(&server).await?, request_id, after).await;
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
            let inject: Intercept = chiffon_observability::propagation::inject_grpc;
            let agents = AgentServiceClient::with_interceptor(channel(&server).await?, inject)
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

async fn watch(
    client: &mut Orchestrator,
    request_id: String,
    after: i64,
) -> anyhow::Result<ExitCode> {
    let mut events = client
        .watch_request(pb::WatchRequestRequest {
            request_id,
            after_sequence: after,
        })
        .await
        .map_err(refused)?
        .into_inner();
    while let Some(response) = events.message().await.map_err(refused)? {
        let Some(event) = response.event else {
            continue;
        };
        let time = event
            .occurred_at
            .and_then(|at| chrono::DateTime::from_timestamp(at.seconds, at.nanos as u32))
            .map(|at| {
                at.with_timezone(&chrono::Local)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        println!("[{:>4}] {time}  {}", event.sequence, event.message);
        if event.ends_request {
            let succeeded = event.kind() == pb::RequestEventKind::RequestSucceeded;
            return Ok(if succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    bail!(
        "the event stream ended before the request did (the orchestrator stopped?); run watch again to resume"
    )
}

fn print_plan(plan: &pb::Plan) {
    println!(
        "plan revision {} ({}, hash {}):",
        plan.revision,
        plan_status_word(plan.status()),
        short_hash(&plan.content_hash)
    );
    println!("  {}", plan.summary);
    for step in &plan.steps {
        let playbook = if step.custom_playbook_needed {
            "needs a custom playbook".to_owned()
        } else {
            step.playbook.clone()
        };
        let after = match step.depends_on.as_slice() {
            [] => String::new(),
            positions => format!(
                ", after {}",
                positions
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        println!(
            "  {}. {} — {} [{} risk{after}] {}",
            step.position,
            step.title,
            playbook,
            risk_word(step.risk()),
            step_status_word(step.status())
        );
    }
}

fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn status_word(status: pb::RequestStatus) -> &'static str {
    match status {
        pb::RequestStatus::Unspecified => "unknown",
        pb::RequestStatus::AwaitingApproval => "awaiting approval",
        pb::RequestStatus::Running => "running",
        pb::RequestStatus::Succeeded => "succeeded",
        pb::RequestStatus::Failed => "failed",
        pb::RequestStatus::Cancelled => "cancelled",
        pb::RequestStatus::Rejected => "rejected",
    }
}

fn plan_status_word(status: pb::PlanStatus) -> &'static str {
    match status {
        pb::PlanStatus::Unspecified => "unknown",
        pb::PlanStatus::Proposed => "proposed",
        pb::PlanStatus::Approved => "approved",
        pb::PlanStatus::Rejected => "rejected",
        pb::PlanStatus::Superseded => "superseded",
        pb::PlanStatus::Cancelled => "cancelled",
    }
}

fn step_status_word(status: pb::StepStatus) -> &'static str {
    match status {
        pb::StepStatus::Unspecified | pb::StepStatus::Pending => "",
        pb::StepStatus::Queued => "(queued)",
        pb::StepStatus::Running => "(running)",
        pb::StepStatus::Succeeded => "(succeeded)",
        pb::StepStatus::Failed => "(failed)",
        pb::StepStatus::Cancelled => "(cancelled)",
        pb::StepStatus::Skipped => "(skipped)",
    }
}

fn risk_word(risk: pb::RiskLevel) -> &'static str {
    match risk {
        pb::RiskLevel::Unspecified => "unknown",
        pb::RiskLevel::Low => "low",
        pb::RiskLevel::Medium => "medium",
        pb::RiskLevel::High => "high",
    }
}
