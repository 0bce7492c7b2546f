//! The orchestrator as a process, shared by `chiffon dev` and `chiffon serve`: an [`App`] opens
//! (and migrates) the database, connects the bus, starts the orchestrator, serves gRPC and owns
//! the shutdown. `dev` adds its in-process agent as another [`Part`](shutdown::Part).
//!
//! Shutdown, once a signal came (or a part ended on its own): health reports NOT_SERVING and
//! the listener closes at once; the added parts stop (the dev agent cancels what runs and
//! reports it, while the orchestrator still records results); then the orchestrator's own tasks
//! stop, which also ends the `WatchRequest` streams the server still waits for; the bus closes
//! last. All of that shares one deadline, the shutdown grace.

pub mod settings;
pub mod shutdown;

use anyhow::Context as _;
use chiffon_bus::memory::MemoryBus;
use chiffon_bus::rabbitmq::RabbitBus;
use chiffon_bus::{Bus, BusSettings};
use chiffon_orchestrator::{Orchestrator, OrchestratorConfig};
use shutdown::{Part, Supervisor};
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Which bus the orchestrator and its agents talk over.
pub enum BusChoice {
    /// In this process only (`chiffon dev`).
    InProcess,
    /// RabbitMQ at this URL.
    RabbitMq(String),
}

/// What an orchestrator process is made of.
pub struct App {
    /// The database URL; it may hold a password, so it is never logged.
    pub database_url: String,
    pub bus: BusChoice,
    pub orchestrator: OrchestratorConfig,
    pub listen: SocketAddr,
    /// How long a stopping process waits for what is in flight.
    pub grace: Duration,
}

/// A started [`App`]: serving, until [`Running::run`] has seen it shut down.
pub struct Running {
    pub orchestrator: Orchestrator,
    pub bus: Arc<dyn Bus>,
    /// The address the server listens on (the real port when asked for port 0).
    pub address: SocketAddr,
    supervisor: Supervisor,
    /// Stops the orchestrator's tasks, after the added parts.
    stop: CancellationToken,
    /// Closes the bus, last: the others report their last results through it.
    bus_stop: CancellationToken,
    server: Part,
    parts: Vec<Part>,
}

impl App {
    /// Listens, opens the database, connects the bus and starts the orchestrator and its gRPC
    /// server. `None` when a signal came first.
    pub async fn start(self) -> anyhow::Result<Option<Running>> {
        let supervisor = Supervisor::on_signals(self.grace);
        // Listening first: a port in use is the commonest mistake, and needs no database.
        let listener = TcpListener::bind(self.listen).await.with_context(|| {
            format!(
                "cannot listen on {}; is another orchestrator running? pick another port with --listen",
                self.listen
            )
        })?;
        let address = listener.local_addr()?;
        let Some(db) = supervisor
            .unless_draining(chiffon_orchestrator::store::connect(&self.database_url))
            .await
        else {
            return Ok(None);
        };
        let db = db.context("cannot open the database")?;
        let bus_stop = CancellationToken::new();
        let bus: Arc<dyn Bus> = match self.bus {
            BusChoice::InProcess => {
                Arc::new(MemoryBus::new(BusSettings::default(), bus_stop.clone()))
            }
            BusChoice::RabbitMq(url) => {
                let connecting = RabbitBus::connect(&url, BusSettings::default(), bus_stop.clone());
                let Some(bus) = supervisor.unless_draining(connecting).await else {
                    bus_stop.cancel();
                    return Ok(None);
                };
                Arc::new(bus?)
            }
        };
        let stop = CancellationToken::new();
        let orchestrator =
            match Orchestrator::start(db, bus.clone(), self.orchestrator, stop.clone()).await {
                Ok(orchestrator) => orchestrator,
                Err(error) => {
                    stop.cancel();
                    bus_stop.cancel();
                    return Err(error.into());
                }
            };
        let server = supervisor.spawn(
            "gRPC server",
            serve(
                orchestrator.clone(),
                listener,
                supervisor.draining().clone(),
            ),
        );
        Ok(Some(Running {
            orchestrator,
            bus,
            address,
            supervisor,
            stop,
            bus_stop,
            server,
            parts: Vec::new(),
        }))
    }
}

async fn serve(
    orchestrator: Orchestrator,
    listener: TcpListener,
    draining: CancellationToken,
) -> anyhow::Result<()> {
    chiffon_orchestrator::server::serve(orchestrator, listener, draining).await?;
    Ok(())
}

impl Running {
    /// Cancelled when the process starts to drain: what an added part stops on.
    pub fn draining(&self) -> &CancellationToken {
        self.supervisor.draining()
    }

    /// Runs `part` next to the orchestrator; it must stop when [`draining`](Self::draining)
    /// fires, and the process drains when it ends on its own.
    pub fn add(
        &mut self,
        name: &'static str,
        part: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let part = self.supervisor.spawn(name, part);
        self.parts.push(part);
    }

    /// Serves until a signal (or a part ending), then stops everything in order within the
    /// shutdown grace.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let mut deadline = self.supervisor.drained().await;
        for part in self.parts {
            deadline.join(part).await;
        }
        self.stop.cancel();
        deadline.join(self.server).await;
        deadline
            .wait("orchestrator tasks", self.orchestrator.stopped())
            .await;
        self.bus_stop.cancel();
        deadline.finish()
    }
}
