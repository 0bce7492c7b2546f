//! The long-running processes: `dev`, `serve` and `agent infra`. Each builds its parts from its
//! arguments, runs them until Ctrl-C or SIGTERM, then stops every task before exiting.

use anyhow::{Context as _, bail};
use chiffon_agents::ansible::InventorySource;
use chiffon_agents::infra::{InfraAgentConfig, parse_var, run_infra_agent};
use chiffon_bus::memory::MemoryBus;
use chiffon_bus::rabbitmq::RabbitBus;
use chiffon_bus::{Bus, BusSettings};
use chiffon_orchestrator::{Orchestrator, OrchestratorConfig};
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The request `chiffon dev` suggests trying first.
const FIRST_REQUEST: &str =
    "Deploy Uptime Kuma to the homelab and add our existing portals to its config";

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Directory for the SQLite database, the example repository and the files the example
    /// playbooks deploy.
    #[arg(long, default_value = ".chiffon", env = "CHIFFON_DATA_DIR")]
    data_dir: PathBuf,
    /// Address of the gRPC port (use port 0 to pick a free one).
    #[arg(long, default_value = "127.0.0.1:50051", env = "CHIFFON_LISTEN")]
    listen: SocketAddr,
    /// Infrastructure repository the agent runs playbooks from, used as given [default: a git
    /// repository made from the bundled example under the data directory on first start].
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Extra variable for every playbook run, KEY=VALUE; repeatable.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    vars: Vec<String>,
    /// File holding the Ansible Vault password; only its path is handed to ansible-playbook.
    #[arg(long, env = "CHIFFON_VAULT_PASSWORD_FILE", value_name = "FILE")]
    vault_password_file: Option<PathBuf>,
    #[command(flatten)]
    inventories: InventoryArgs,
    /// Confidence (0 to 1) a playbook needs to be used for a task [default: the tuned value].
    #[arg(long, value_parser = parse_threshold, env = "CHIFFON_MATCH_THRESHOLD")]
    match_threshold: Option<f64>,
}

/// The inventories an infrastructure agent offers, for `dev` and `agent infra`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// An inventory requests can choose by name: a file, a directory or a dynamic inventory
    /// script, relative to the repository root or absolute; repeatable, the first is the
    /// default. Without NAME= the name is the file name without extension
    /// (production.ini → production), or the nearest directory when that is generic (hosts,
    /// inventory, inventories, main: inventories/staging/hosts.ini → staging). Without any,
    /// the repository's ansible.cfg decides (the inventory "default").
    #[arg(long = "inventory", value_name = "[NAME=]PATH", value_parser = parse_inventory)]
    inventories: Vec<InventorySource>,
}

/// One `--inventory [NAME=]PATH`.
fn parse_inventory(text: &str) -> Result<InventorySource, String> {
    InventorySource::parse(text).map_err(|error| error.to_string())
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the gRPC port.
    #[arg(long, default_value = "0.0.0.0:50051", env = "CHIFFON_LISTEN")]
    listen: SocketAddr,
    /// PostgreSQL URL, e.g. postgres://chiffon:secret@db:5432/chiffon.
    #[arg(long, env = "CHIFFON_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// RabbitMQ URL, e.g. amqp://chiffon:secret@rabbitmq:5672/%2f.
    #[arg(long, env = "CHIFFON_AMQP_URL", hide_env_values = true)]
    amqp_url: String,
    /// Seconds between agent heartbeats.
    #[arg(long, default_value_t = 5)]
    heartbeat_seconds: u64,
    /// Seconds without a heartbeat after which an agent is offline and its work fails.
    #[arg(long, default_value_t = 30)]
    agent_offline_seconds: u64,
    /// Confidence (0 to 1) a playbook needs to be used for a task [default: the tuned value].
    #[arg(long, value_parser = parse_threshold, env = "CHIFFON_MATCH_THRESHOLD")]
    match_threshold: Option<f64>,
}

/// A confidence threshold: a number from 0 to 1.
fn parse_threshold(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!(
            "{text:?} is not a confidence between 0 and 1 (e.g. 0.45)"
        )),
    }
}

/// The orchestrator settings with an optional threshold override.
fn orchestrator_config(match_threshold: Option<f64>) -> OrchestratorConfig {
    let defaults = OrchestratorConfig::default();
    OrchestratorConfig {
        match_threshold: match_threshold.unwrap_or(defaults.match_threshold),
        ..defaults
    }
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Run playbooks from an infrastructure repository.
    Infra(InfraArgs),
}

#[derive(Debug, Args)]
pub struct InfraArgs {
    /// RabbitMQ URL.
    #[arg(long, env = "CHIFFON_AMQP_URL", hide_env_values = true)]
    amqp_url: String,
    /// The orchestrator's gRPC address.
    #[arg(long, env = "CHIFFON_SERVER", default_value = "http://127.0.0.1:50051")]
    orchestrator: String,
    /// The infrastructure repository (playbooks and inventory).
    #[arg(long, env = "CHIFFON_INFRA_REPO")]
    repo: PathBuf,
    /// Stable id of this agent [default: infra-<hostname>].
    #[arg(long, env = "CHIFFON_AGENT_ID")]
    agent_id: Option<String>,
    /// Extra variable for every playbook run, KEY=VALUE; repeatable.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    vars: Vec<String>,
    /// File holding the Ansible Vault password; only its path is handed to ansible-playbook.
    #[arg(long, env = "CHIFFON_VAULT_PASSWORD_FILE", value_name = "FILE")]
    vault_password_file: Option<PathBuf>,
    #[command(flatten)]
    inventories: InventoryArgs,
    /// Install the Galaxy roles and collections of the repository's requirements files
    /// (requirements.yml, roles/requirements.yml, collections/requirements.yml) into the Galaxy
    /// directory before the first scan; what cannot be installed is logged and shows as
    /// catalog issues.
    #[arg(long)]
    install_requirements: bool,
    /// Private directory for Galaxy roles and collections, searched after Ansible's own
    /// [default: $XDG_CACHE_HOME (or ~/.cache)/chiffon/galaxy/<hash of the repository path>].
    #[arg(long, env = "CHIFFON_GALAXY_DIR", value_name = "DIR")]
    galaxy_dir: Option<PathBuf>,
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
fn stop_on_signal(shutdown: &CancellationToken) {
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; use Ctrl-C");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
            () = shutdown.cancelled() => return,
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
}

async fn bind(listen: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another orchestrator running? pick another port with --listen"))?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

fn default_vars(vars: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut map = serde_json::Map::new();
    for var in vars {
        let (key, value) = parse_var(var)?;
        map.insert(key, value);
    }
    Ok(map)
}

/// The vault password file as an absolute path: ansible-playbook runs in the repository, so a
/// path relative to where Chiffon was started would point elsewhere.
fn absolute_vault_file(file: Option<PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    file.map(std::path::absolute)
        .transpose()
        .context("cannot resolve --vault-password-file")
}

/// `chiffon dev`.
pub async fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = chiffon_observability::init("chiffon-dev")?;
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let data_dir = args.data_dir.canonicalize()?;
    let repo = match args.repo {
        Some(repo) => repo,
        None => crate::example::prepare(&data_dir, &bundled_example()?).await?,
    };
    let repo = repo.canonicalize().with_context(|| {
        format!(
            "the infrastructure repository {} does not exist",
            repo.display()
        )
    })?;
    let mut vars = default_vars(&args.vars)?;
    if !vars.contains_key("homelab_root") {
        let root = data_dir.join("homelab");
        vars.insert("homelab_root".into(), root.display().to_string().into());
    }

    let shutdown = CancellationToken::new();
    stop_on_signal(&shutdown);
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("chiffon.db").display()
    );
    let db = chiffon_orchestrator::store::connect(&database_url)
        .await
        .context("cannot open the SQLite database")?;
    // The bus outlives the orchestrator and agent so they can report their last results.
    let bus_shutdown = CancellationToken::new();
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new(BusSettings::default(), bus_shutdown.clone()));
    let orchestrator = Orchestrator::start(
        db,
        bus.clone(),
        orchestrator_config(args.match_threshold),
        shutdown.clone(),
    )
    .await?;
    let (listener, address) = bind(args.listen).await?;
    let server = tokio::spawn(until_done(
        chiffon_orchestrator::server::serve(orchestrator.clone(), listener, shutdown.clone()),
        shutdown.clone(),
    ));
    let endpoint = format!("http://{address}");
    println!("chiffon dev: orchestrator listening on {endpoint}");
    println!("  data:   {} (SQLite, in-process bus)", data_dir.display());
    println!(
        "  repo:   {} (suggested fixes and templates become branches here)",
        repo.display()
    );

    let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())?.connect_lazy();
    let mut config = InfraAgentConfig::new(repo);
    config.default_vars = vars;
    config.vault_password_file = absolute_vault_file(args.vault_password_file)?;
    config.inventories = args.inventories.inventories;
    // A playground installs what the repository needs, offline-safe: a failure only logs.
    config.install_requirements = true;
    config.galaxy_dir = Some(data_dir.join("galaxy"));
    let agent = tokio::spawn(until_done(
        run_infra_agent(config, bus, channel, shutdown.clone()),
        shutdown.clone(),
    ));

    let ready = tokio::select! {
        ready = wait_for_agent(&orchestrator) => ready,
        () = shutdown.cancelled() => false,
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

    shutdown.cancelled().await;
    let agent_result = agent.await;
    let server_result = server.await;
    orchestrator.stopped().await;
    bus_shutdown.cancel();
    agent_result.context("the agent task panicked")??;
    server_result.context("the server task panicked")??;
    Ok(ExitCode::SUCCESS)
}

/// Runs `part` and stops the whole process when it ends: `chiffon dev` is no use with its
/// server or agent gone.
async fn until_done<T>(
    part: impl std::future::Future<Output = T>,
    shutdown: CancellationToken,
) -> T {
    let outcome = part.await;
    shutdown.cancel();
    outcome
}

/// Waits until the in-process agent has registered.
async fn wait_for_agent(orchestrator: &Orchestrator) -> bool {
    for _ in 0..300 {
        if let Ok(agents) = orchestrator.list_agents(None, None).await
            && !agents.is_empty()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "chiffon dev: the infrastructure agent did not register within 30 s; see the log above"
    );
    false
}

/// The bundled example repository: `examples/homelab-infra` under the working directory, else
/// the one in the source tree this binary was built from.
fn bundled_example() -> anyhow::Result<PathBuf> {
    let relative = Path::new("examples/homelab-infra");
    if relative.is_dir() {
        return Ok(relative.to_path_buf());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if built_from.is_dir() {
        return Ok(built_from);
    }
    bail!(
        "no infrastructure repository given and examples/homelab-infra is not here; pass --repo PATH"
    )
}

/// `chiffon serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = chiffon_observability::init("chiffon-orchestrator")?;
    let shutdown = CancellationToken::new();
    stop_on_signal(&shutdown);
    let db = chiffon_orchestrator::store::connect(&args.database_url)
        .await
        .context("cannot open the database")?;
    let bus_shutdown = CancellationToken::new();
    let bus: Arc<dyn Bus> = Arc::new(
        RabbitBus::connect(&args.amqp_url, BusSettings::default(), bus_shutdown.clone()).await?,
    );
    let config = OrchestratorConfig {
        heartbeat_interval: Duration::from_secs(args.heartbeat_seconds.max(1)),
        agent_offline_after: Duration::from_secs(args.agent_offline_seconds.max(2)),
        ..orchestrator_config(args.match_threshold)
    };
    let orchestrator = Orchestrator::start(db, bus, config, shutdown.clone()).await?;
    let (listener, address) = bind(args.listen).await?;
    println!("chiffon serve: orchestrator listening on http://{address}");
    let served =
        chiffon_orchestrator::server::serve(orchestrator.clone(), listener, shutdown.clone()).await;
    shutdown.cancel();
    orchestrator.stopped().await;
    bus_shutdown.cancel();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// `chiffon agent …`.
pub async fn agent(command: AgentCommand) -> anyhow::Result<ExitCode> {
    let AgentCommand::Infra(args) = command;
    let _telemetry = chiffon_observability::init("chiffon-agent-infra")?;
    let shutdown = CancellationToken::new();
    stop_on_signal(&shutdown);
    let bus_shutdown = CancellationToken::new();
    let bus: Arc<dyn Bus> = Arc::new(
        RabbitBus::connect(&args.amqp_url, BusSettings::default(), bus_shutdown.clone()).await?,
    );
    let channel = tonic::transport::Endpoint::from_shared(args.orchestrator.clone())
        .with_context(|| format!("invalid orchestrator address {}", args.orchestrator))?
        .connect_lazy();
    let mut config = InfraAgentConfig::new(args.repo);
    if let Some(agent_id) = args.agent_id {
        config.agent_id = agent_id;
    }
    config.default_vars = default_vars(&args.vars)?;
    config.vault_password_file = absolute_vault_file(args.vault_password_file)?;
    config.inventories = args.inventories.inventories;
    config.install_requirements = args.install_requirements;
    config.galaxy_dir = args.galaxy_dir;
    let outcome = run_infra_agent(config, bus, channel, shutdown).await;
    bus_shutdown.cancel();
    outcome?;
    Ok(ExitCode::SUCCESS)
}
