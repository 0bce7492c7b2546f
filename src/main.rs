//! `chiffon`: the one binary of Chiffon.
//!
//! - `chiffon dev` runs the orchestrator and an infrastructure agent in one process, on SQLite
//!   and the in-process bus, against the example infrastructure repository;
//! - `chiffon serve` and `chiffon agent infra` are the distributed processes (PostgreSQL and
//!   RabbitMQ);
//! - every other subcommand is a gRPC client of a running orchestrator.
//!
//! Exit codes: 0 success (and `--help`, `--version`); 64 a usage error (an unknown flag, a bad
//! value: EX_USAGE of sysexits.h), reported before anything starts; 1 a failure while running.

mod app;
mod client;
mod example;
mod processes;

use app::settings::InvalidSetting;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use std::error::Error as _;
use std::process::ExitCode;
use std::time::Duration;

/// EX_USAGE: the command was used incorrectly.
const EX_USAGE: u8 = 64;

/// How long tasks left behind after a shutdown grace may hold up the exit.
const LEFT_BEHIND: Duration = Duration::from_secs(1);

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

impl Command {
    /// The checks that span several settings; each setting alone was checked when parsed.
    fn validate(&self) -> Result<(), InvalidSetting> {
        match self {
            Command::Dev(args) => args.orchestrator().validate(),
            Command::Serve(args) => args.orchestrator().validate(),
            Command::Agent(_) | Command::Client(_) => Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    if let Err(invalid) = cli.command.validate() {
        return refuse(&invalid);
    }
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
    // What a shutdown grace gave up on must not hold the exit up (dropping the runtime would
    // wait for blocking tasks without end).
    runtime.shutdown_timeout(LEFT_BEHIND);
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("chiffon: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what clap found and exits 0 for `--help` and `--version`, 64 for a usage error. A
/// refused setting is reported in its own words: clap would quote the value, which may be a
/// secret.
fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        // Help or version on stdout; nothing to do if stdout is closed.
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if error.kind() == ErrorKind::ValueValidation
        && let Some(invalid) = error
            .source()
            .and_then(|source| source.downcast_ref::<InvalidSetting>())
    {
        return refuse(invalid);
    }
    let _ = error.print();
    ExitCode::from(EX_USAGE)
}

fn refuse(invalid: &InvalidSetting) -> ExitCode {
    eprintln!("chiffon: error: {invalid}\n\nFor more information, try '--help'.");
    ExitCode::from(EX_USAGE)
}
