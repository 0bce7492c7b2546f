//! The client subcommands: each is one or two gRPC calls to a running orchestrator and prints
//! the answer for people, or with `--output json` as the responses' proto3 JSON. Exit codes: 0
//! for success, 1 when the orchestrator refused or the watched request did not succeed.

mod catalog;
mod format;
mod output;
mod requests;
mod suggestions;

use anyhow::Context as _;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::agent_service_client::AgentServiceClient;
use chiffon_proto::v1::orchestrator_service_client::OrchestratorServiceClient;
use clap::{Args, Subcommand};
use output::Output;
use std::process::ExitCode;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

type Intercept = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;
/// A channel to the orchestrator that carries the caller's trace context on every call.
type Traced = InterceptedService<Channel, Intercept>;
type Orchestrator = OrchestratorServiceClient<Traced>;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Submit a request in plain language and show its plan.
    Request(requests::RequestArgs),
    /// Show a request: its status, run options and plan with each step's outcome.
    Show(requests::ShowArgs),
    /// Show the plan of a request.
    Plan(requests::PlanArgs),
    /// Approve a request's plan; it starts running.
    Approve(requests::ApproveArgs),
    /// Reject a request's latest plan; the request ends.
    Reject(requests::RejectArgs),
    /// Ask for changes to a request's latest plan; it is planned again.
    Modify(requests::ModifyArgs),
    /// Cancel a request.
    Cancel(requests::CancelArgs),
    /// Run a failed request again, only on the hosts that failed; it starts at once.
    RerunFailed(requests::RerunFailedArgs),
    /// Follow a request's events live until it ends; exits 0 only if it succeeded.
    Watch(requests::WatchArgs),
    /// List requests, newest first.
    List(requests::ListArgs),
    /// List agents.
    Agents(Common),
    /// The playbooks the infrastructure agents found, and which fit a task.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// ansible-lint's suggestions for the infrastructure repositories; accept one to get its fix
    /// on a branch.
    #[command(subcommand)]
    Suggestions(suggestions::SuggestionsCommand),
    /// Check that the orchestrator is serving (gRPC health); for container health checks.
    Health(Common),
}

pub async fn run(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Request(args) => requests::request(args).await,
        ClientCommand::Show(args) => requests::show(args).await,
        ClientCommand::Plan(args) => requests::plan(args).await,
        ClientCommand::Approve(args) => requests::approve(args).await,
        ClientCommand::Reject(args) => requests::reject(args).await,
        ClientCommand::Modify(args) => requests::modify(args).await,
        ClientCommand::Cancel(args) => requests::cancel(args).await,
        ClientCommand::RerunFailed(args) => requests::rerun_failed(args).await,
        ClientCommand::Watch(args) => requests::watch(args).await,
        ClientCommand::List(args) => requests::list(args).await,
        ClientCommand::Agents(common) => agents(common).await,
        ClientCommand::Catalog(command) => catalog::run(command).await,
        ClientCommand::Suggestions(command) => suggestions::run(command).await,
        ClientCommand::Health(common) => health(common).await,
    }
}

/// The options of every client subcommand: where the orchestrator is and how to print.
#[derive(Debug, Args)]
pub struct Common {
    #[command(flatten)]
    server: Server,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
pub struct Server {
    /// The orchestrator's gRPC address.
    #[arg(long, env = "CHIFFON_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
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

/// A field the orchestrator's answer must have; an answer without it is the orchestrator's fault.
fn returned<'a, T>(field: Option<&'a T>, what: &str) -> anyhow::Result<&'a T> {
    field.with_context(|| format!("the orchestrator returned no {what}"))
}

/// What a call answered, or the orchestrator's refusal as an error in its own words.
trait Reply<T> {
    async fn reply(self) -> anyhow::Result<T>;
}

impl<T, F> Reply<T> for F
where
    F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    async fn reply(self) -> anyhow::Result<T> {
        Ok(self.await.map_err(refused)?.into_inner())
    }
}

/// `chiffon agents`.
async fn agents(common: Common) -> anyhow::Result<ExitCode> {
    let response = AgentServiceClient::new(connect(&common.server).await?)
        .list_agents(pb::ListAgentsRequest::default())
        .reply()
        .await?;
    common.output.answer(&response, print_agents)
}

fn print_agents(response: &pb::ListAgentsResponse) {
    if response.agents.is_empty() {
        println!("no agents registered");
    }
    for agent in &response.agents {
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

/// `chiffon health`: exits 1 unless the orchestrator is serving.
async fn health(common: Common) -> anyhow::Result<ExitCode> {
    let response =
        tonic_health::pb::health_client::HealthClient::new(channel(&common.server).await?)
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .reply()
            .await?;
    common
        .output
        .print(&response, |response| println!("{:?}", response.status()))?;
    Ok(if response.status() == ServingStatus::Serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
