//! `chiffon`: the one binary of Chiffon.
//!
//! - `chiffon dev` runs the orchestrator and an infrastructure agent in one process, on SQLite
//!   and the in-process bus, against the example infrastructure repository;
//! - `chiffon serve` and `chiffon agent infra` are the distributed processes (PostgreSQL and
//!   RabbitMQ);
//! - every other subcommand is a gRPC client of a running orchestrator.

mod client;
mod example;
mod processes;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Chiffon: plain-language requests become approved plans that agents run with Ansible.
#[derive(Debug, Parser)]
#[command(name = "chiffon", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the orchestrator and an infrastructure agent in one process (SQLite, in-process bus).
    Dev(processes::DevArgs),
    /// Run the orchestrator against PostgreSQL and RabbitMQ.
    Serve(processes::ServeArgs),
    /// Run an agent.
    #[command(subcommand)]
    Agent(processes::AgentCommand),
    /// Talk to a running orchestrator.
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chiffon: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Dev(args) => processes::dev(args).await,
            Command::Serve(args) => processes::serve(args).await,
            Command::Agent(command) => processes::agent(command).await,
            Command::Client(command) => client::run(command).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("chiffon: {error:#}");
            ExitCode::FAILURE
        }
    }
}
