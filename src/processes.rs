//! The long-running processes: `dev`, `serve` and `agent infra`, each its settings and what it
//! adds to the shared parts: `serve` is the plain [`App`]; `dev` is the App on SQLite and the
//! in-process bus with an infrastructure agent beside it; `agent infra` is that agent alone,
//! on RabbitMQ.

use crate::app::BusChoice;
use crate::app::settings::{
    AGENT_ID, AMQP_URL, AnsibleArgs, AppArgs, DATA_DIR, DATABASE_URL, GALAXY_DIR, INFRA_REPO,
    LISTEN, ORCHESTRATOR, OrchestratorArgs, ShutdownArgs, TelemetryArgs,
};
use crate::app::shutdown::Supervisor;
use anyhow::Context as _;
use chiffon_agents::infra::run_infra_agent;
use chiffon_bus::rabbitmq::RabbitBus;
use chiffon_bus::{Bus, BusSettings};
use chiffon_orchestrator::Orchestrator;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The request `chiffon dev` suggests trying first.
const FIRST_REQUEST: &str =
    "Deploy Uptime Kuma to the homelab and add our existing portals to its config";

/// How long `chiffon dev` waits for its agent before saying something is wrong.
const AGENT_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Directory for the SQLite database, the example repository and the files the example
    /// playbooks deploy.
    #[arg(long = DATA_DIR.long, env = DATA_DIR.env, default_value = ".chiffon", value_parser = DATA_DIR.path())]
    data_dir: PathBuf,
    /// Address of the gRPC port (use port 0 to pick a free one).
    #[arg(long = LISTEN.long, env = LISTEN.env, default_value = "127.0.0.1:50051", value_parser = LISTEN.address())]
    listen: SocketAddr,
    /// Infrastructure repository the agent runs playbooks from, used as given [default: a git
    /// repository made from the bundled example under the data directory on first start].
    #[arg(long)]
    repo: Option<PathBuf>,
    #[command(flatten)]
    ansible: AnsibleArgs,
    #[command(flatten)]
    app: AppArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the gRPC port.
    #[arg(long = LISTEN.long, env = LISTEN.env, default_value = "0.0.0.0:50051", value_parser = LISTEN.address())]
    listen: SocketAddr,
    /// PostgreSQL URL, e.g. postgres://chiffon:secret@db:5432/chiffon.
    #[arg(long = DATABASE_URL.long, env = DATABASE_URL.env, hide_env_values = true, value_parser = DATABASE_URL.secret_url(&["postgres", "postgresql", "sqlite"]))]
    database_url: String,
    /// RabbitMQ URL, e.g. amqp://chiffon:secret@rabbitmq:5672/%2f.
    #[arg(long = AMQP_URL.long, env = AMQP_URL.env, hide_env_values = true, value_parser = AMQP_URL.secret_url(&["amqp", "amqps"]))]
    amqp_url: String,
    #[command(flatten)]
    app: AppArgs,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Run playbooks from an infrastructure repository.
    Infra(InfraArgs),
}

#[derive(Debug, Args)]
pub struct InfraArgs {
    /// RabbitMQ URL.
    #[arg(long = AMQP_URL.long, env = AMQP_URL.env, hide_env_values = true, value_parser = AMQP_URL.secret_url(&["amqp", "amqps"]))]
    amqp_url: String,
    /// The orchestrator's gRPC address.
    #[arg(long = ORCHESTRATOR.long, env = ORCHESTRATOR.env, default_value = "http://127.0.0.1:50051", value_parser = ORCHESTRATOR.endpoint(false))]
    orchestrator: String,
    /// The infrastructure repository (playbooks and inventory).
    #[arg(long = INFRA_REPO.long, env = INFRA_REPO.env, value_parser = INFRA_REPO.path())]
    repo: PathBuf,
    /// Stable id of this agent [default: infra-<hostname>].
    #[arg(long = AGENT_ID.long, env = AGENT_ID.env, value_parser = AGENT_ID.agent_id())]
    agent_id: Option<String>,
    #[command(flatten)]
    ansible: AnsibleArgs,
    /// Install the Galaxy roles and collections of the repository's requirements files
    /// (requirements.yml, roles/requirements.yml, collections/requirements.yml) into the Galaxy
    /// directory before the first scan; what cannot be installed is logged and shows as
    /// catalog issues.
    #[arg(long)]
    install_requirements: bool,
    /// Private directory for Galaxy roles and collections, searched after Ansible's own
    /// [default: $XDG_CACHE_HOME (or ~/.cache)/chiffon/galaxy/<hash of the repository path>].
    #[arg(long = GALAXY_DIR.long, env = GALAXY_DIR.env, value_name = "DIR", value_parser = GALAXY_DIR.path())]
    galaxy_dir: Option<PathBuf>,
    #[command(flatten)]
    shutdown: ShutdownArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

impl DevArgs {
    pub fn orchestrator(&self) -> &OrchestratorArgs {
        &self.app.orchestrator
    }
}

impl ServeArgs {
    pub fn orchestrator(&self) -> &OrchestratorArgs {
        &self.app.orchestrator
    }
}

/// `chiffon dev`.
pub async fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = chiffon_observability::init("chiffon-dev", &args.app.telemetry.config())?;
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let data_dir = args.data_dir.canonicalize()?;
    let repo = crate::example::repository(&data_dir, args.repo).await?;
    let mut agent = args.ansible.agent_config(repo.clone())?;
    let homelab_root = data_dir.join("homelab").display().to_string();
    agent
        .default_vars
        .entry("homelab_root")
        .or_insert_with(|| homelab_root.into());
    // A playground installs what the repository needs, offline-safe: a failure only logs.
    agent.install_requirements = true;
    agent.galaxy_dir = Some(data_dir.join("galaxy"));

    let database_url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("chiffon.db").display()
    );
    let app = args
        .app
        .app(database_url, BusChoice::InProcess, args.listen);
    let Some(mut running) = app.start().await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let endpoint = format!("http://{}", running.address);
    println!("chiffon dev: orchestrator listening on {endpoint}");
    println!("  data:   {} (SQLite, in-process bus)", data_dir.display());
    println!(
        "  repo:   {} (suggested fixes and templates become branches here)",
        repo.display()
    );

    let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())?.connect_lazy();
    let agent_run = run_infra_agent(
        agent,
        running.bus.clone(),
        channel,
        running.draining().clone(),
    );
    running.add("infrastructure agent", async move { Ok(agent_run.await?) });

    let ready = tokio::select! {
        ready = wait_for_agent(&running.orchestrator) => ready,
        () = running.draining().cancelled() => false,
    };
    if ready {
        let me = std::env::current_exe()
            .map(|path| path.display().to_string())
            .unwrap_or_else(|_| "chiffon".into());
        println!("  agent:  infrastructure agent online");
        println!();
        println!("Next, in another terminal:");
        println!("  export CHIFFON_SERVER={endpoint}");
        println!("  {me} request \"{FIRST_REQUEST}\"");
        println!("Stop with Ctrl-C.");
    }
    running.run().await
}

/// Waits until the in-process agent has registered.
async fn wait_for_agent(orchestrator: &Orchestrator) -> bool {
    let deadline = tokio::time::Instant::now() + AGENT_PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if let Ok(agents) = orchestrator.list_agents(None, None).await
            && !agents.is_empty()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "chiffon dev: the infrastructure agent did not register within {} s; see the log above",
        AGENT_PATIENCE.as_secs()
    );
    false
}

/// `chiffon serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _telemetry =
        chiffon_observability::init("chiffon-orchestrator", &args.app.telemetry.config())?;
    let bus = BusChoice::RabbitMq(args.amqp_url);
    let app = args.app.app(args.database_url, bus, args.listen);
    let Some(running) = app.start().await? else {
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "chiffon serve: orchestrator listening on http://{}",
        running.address
    );
    running.run().await
}

/// `chiffon agent …`.
pub async fn agent(command: AgentCommand) -> anyhow::Result<ExitCode> {
    let AgentCommand::Infra(args) = command;
    let _telemetry = chiffon_observability::init("chiffon-agent-infra", &args.telemetry.config())?;
    let supervisor = Supervisor::on_signals(args.shutdown.grace());
    let mut config = args.ansible.agent_config(args.repo)?;
    if let Some(agent_id) = args.agent_id {
        config.agent_id = agent_id;
    }
    config.install_requirements = args.install_requirements;
    config.galaxy_dir = args.galaxy_dir;
    let bus_stop = CancellationToken::new();
    let connecting = RabbitBus::connect(&args.amqp_url, BusSettings::default(), bus_stop.clone());
    let Some(bus) = supervisor.unless_draining(connecting).await else {
        bus_stop.cancel();
        return Ok(ExitCode::SUCCESS);
    };
    let bus: Arc<dyn Bus> = Arc::new(bus?);
    let channel = tonic::transport::Endpoint::from_shared(args.orchestrator)?.connect_lazy();
    let agent_run = run_infra_agent(config, bus, channel, supervisor.draining().clone());
    let agent = supervisor.spawn("infrastructure agent", async move { Ok(agent_run.await?) });
    let mut deadline = supervisor.drained().await;
    deadline.join(agent).await;
    bus_stop.cancel();
    deadline.finish()
}
