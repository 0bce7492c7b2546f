//! The settings of the long-running processes (`dev`, `serve`, `agent infra`): each one a flag
//! and, for most, the environment variable that sets it instead. Every value is parsed into its
//! type once, when the command line is read; a bad one is refused with the setting's name and
//! what is allowed (`main` turns that into exit code 64), never clamped into range. This is the
//! only place that names the environment variables; the libraries take plain values.

use super::{App, BusChoice};
use anyhow::Context as _;
use chiffon_agents::AgentError;
use chiffon_agents::ansible::InventorySource;
use chiffon_agents::infra::{InfraAgentConfig, parse_var};
use chiffon_agents::suggest::lint_program_beside;
use chiffon_observability::{LogFilter, LogFormat, TelemetryConfig};
use chiffon_orchestrator::OrchestratorConfig;
use chiffon_orchestrator::mapping::DEFAULT_THRESHOLD;
use clap::Args;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One setting: its flag and the environment variable that can set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The flag without its dashes (`heartbeat-seconds`).
    pub long: &'static str,
    /// The environment variable; empty for a flag only the command line sets.
    pub env: &'static str,
}

pub const LISTEN: Setting = Setting::new("listen", "CHIFFON_LISTEN");
pub const DATA_DIR: Setting = Setting::new("data-dir", "CHIFFON_DATA_DIR");
pub const DATABASE_URL: Setting = Setting::new("database-url", "CHIFFON_DATABASE_URL");
pub const AMQP_URL: Setting = Setting::new("amqp-url", "CHIFFON_AMQP_URL");
pub const MATCH_THRESHOLD: Setting = Setting::new("match-threshold", "CHIFFON_MATCH_THRESHOLD");
pub const HEARTBEAT_SECONDS: Setting =
    Setting::new("heartbeat-seconds", "CHIFFON_HEARTBEAT_SECONDS");
pub const AGENT_OFFLINE_SECONDS: Setting =
    Setting::new("agent-offline-seconds", "CHIFFON_AGENT_OFFLINE_SECONDS");
pub const SHUTDOWN_GRACE_SECONDS: Setting =
    Setting::new("shutdown-grace-seconds", "CHIFFON_SHUTDOWN_GRACE_SECONDS");
pub const LOG_FORMAT: Setting = Setting::new("log-format", "CHIFFON_LOG_FORMAT");
pub const LOG_FILTER: Setting = Setting::new("log-filter", "RUST_LOG");
pub const OTLP_ENDPOINT: Setting = Setting::new("otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT");
pub const ORCHESTRATOR: Setting = Setting::new("orchestrator", "CHIFFON_SERVER");
pub const INFRA_REPO: Setting = Setting::new("repo", "CHIFFON_INFRA_REPO");
pub const AGENT_ID: Setting = Setting::new("agent-id", "CHIFFON_AGENT_ID");
pub const GALAXY_DIR: Setting = Setting::new("galaxy-dir", "CHIFFON_GALAXY_DIR");
pub const VAULT_PASSWORD_FILE: Setting =
    Setting::new("vault-password-file", "CHIFFON_VAULT_PASSWORD_FILE");
pub const ANSIBLE_PLAYBOOK: Setting = Setting::new("ansible-playbook", "CHIFFON_ANSIBLE_PLAYBOOK");
pub const ANSIBLE_LINT: Setting = Setting::new("ansible-lint", "CHIFFON_ANSIBLE_LINT");
pub const VAR: Setting = Setting::new("var", "");

/// Heartbeat and silence bounds: a heartbeat more than an hour apart would leave a dead agent
/// unnoticed for hours; a day of silence is the longest an agent may be gone.
const HEARTBEAT_RANGE: (u64, u64) = (1, 3600);
const OFFLINE_RANGE: (u64, u64) = (2, 86_400);
/// An hour is more than any in-flight call needs; longer only delays a restart.
const GRACE_RANGE: (u64, u64) = (1, 3600);

/// A setting refused: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub setting: Setting,
    /// What is allowed, and the value given unless it may hold a secret.
    pub reason: String,
}

impl std::fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.setting, self.reason)
    }
}

impl std::error::Error for InvalidSetting {}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--{}", self.long)?;
        if !self.env.is_empty() {
            write!(f, " ({})", self.env)?;
        }
        Ok(())
    }
}

impl Setting {
    const fn new(long: &'static str, env: &'static str) -> Self {
        Self { long, env }
    }

    pub fn refuse(self, reason: impl Into<String>) -> InvalidSetting {
        InvalidSetting {
            setting: self,
            reason: reason.into(),
        }
    }

    /// A clap value parser that refuses with this setting's name what `parse` refuses.
    fn parser<T>(
        self,
        parse: impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
    ) -> impl Fn(&str) -> Result<T, InvalidSetting> + Clone + Send + Sync + 'static {
        move |text| parse(text).map_err(|reason| self.refuse(reason))
    }

    /// A whole number from `min` to `max`.
    pub fn whole(
        self,
        (min, max): (u64, u64),
    ) -> impl Fn(&str) -> Result<u64, InvalidSetting> + Clone + Send + Sync + 'static {
        self.parser(move |text| match text.trim().parse::<u64>() {
            Ok(value) if (min..=max).contains(&value) => Ok(value),
            Ok(value) => Err(format!("must be between {min} and {max}, got {value}")),
            Err(_) => Err(format!(
                "must be a whole number between {min} and {max}, got {text:?}"
            )),
        })
    }

    /// A confidence: a number from 0 to 1.
    pub fn fraction(self) -> impl Fn(&str) -> Result<f64, InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| match text.trim().parse::<f64>() {
            Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
            _ => Err(format!(
                "must be a number between 0 and 1 (e.g. 0.45), got {text:?}"
            )),
        })
    }

    /// An IP address and port.
    pub fn address(
        self,
    ) -> impl Fn(&str) -> Result<SocketAddr, InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| {
            text.trim().parse::<SocketAddr>().map_err(|_| {
                format!("must be an IP address and port such as 127.0.0.1:50051, got {text:?}")
            })
        })
    }

    /// A URL with one of `schemes`. The value is never quoted back: these URLs carry passwords.
    pub fn secret_url(
        self,
        schemes: &'static [&'static str],
    ) -> impl Fn(&str) -> Result<String, InvalidSetting> + Clone + Send + Sync {
        self.parser(move |text| {
            let scheme = text.split_once(':').map(|(scheme, _)| scheme);
            if scheme.is_some_and(|scheme| schemes.contains(&scheme)) {
                Ok(text.to_owned())
            } else {
                let mut allowed: Vec<String> =
                    schemes.iter().map(|scheme| format!("{scheme}:")).collect();
                let last = allowed.pop().unwrap_or_default();
                let allowed = if allowed.is_empty() {
                    last
                } else {
                    format!("{} or {last}", allowed.join(", "))
                };
                Err(format!(
                    "must be a URL starting with {allowed} (the value is not shown: it may hold a password)"
                ))
            }
        })
    }

    /// An `http://` or `https://` address of a gRPC server; empty only when `may_be_empty`.
    pub fn endpoint(
        self,
        may_be_empty: bool,
    ) -> impl Fn(&str) -> Result<String, InvalidSetting> + Clone + Send + Sync {
        self.parser(move |text| {
            let text = text.trim();
            if text.is_empty() && may_be_empty {
                return Ok(String::new());
            }
            let scheme_ok = text.starts_with("http://") || text.starts_with("https://");
            if scheme_ok && tonic::transport::Endpoint::from_shared(text.to_owned()).is_ok() {
                Ok(text.to_owned())
            } else {
                Err(format!(
                    "must be an http:// or https:// URL such as http://127.0.0.1:50051, got {text:?}"
                ))
            }
        })
    }

    /// A program to run: a name looked up on `PATH`, or a path.
    pub fn program(self) -> impl Fn(&str) -> Result<PathBuf, InvalidSetting> + Clone + Send + Sync {
        self.non_empty_path("must name a program or its path, got an empty value")
    }

    /// A file or directory.
    pub fn path(self) -> impl Fn(&str) -> Result<PathBuf, InvalidSetting> + Clone + Send + Sync {
        self.non_empty_path("must be a path, got an empty value")
    }

    fn non_empty_path(
        self,
        refusal: &'static str,
    ) -> impl Fn(&str) -> Result<PathBuf, InvalidSetting> + Clone + Send + Sync {
        self.parser(move |text| {
            if text.trim().is_empty() {
                Err(refusal.to_owned())
            } else {
                Ok(PathBuf::from(text))
            }
        })
    }

    /// `text` or `json`.
    pub fn log_format(
        self,
    ) -> impl Fn(&str) -> Result<LogFormat, InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| match text.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("must be text or json, got {text:?}")),
        })
    }

    /// A log filter in `RUST_LOG` syntax; empty means the default.
    pub fn log_filter(
        self,
    ) -> impl Fn(&str) -> Result<LogFilter, InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| {
            if text.trim().is_empty() {
                return Ok(LogFilter::default());
            }
            text.parse::<LogFilter>().map_err(|error| {
                format!("must be a log filter such as info,chiffon_agents=debug: {error}")
            })
        })
    }

    /// An agent id, by the rule the orchestrator checks it with.
    pub fn agent_id(self) -> impl Fn(&str) -> Result<String, InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| {
            chiffon_types::AgentId::parse(text)
                .map(String::from)
                .map_err(|error| error.to_string())
        })
    }

    /// `KEY=VALUE`; the value is never quoted back: it may be a secret.
    pub fn var(
        self,
    ) -> impl Fn(&str) -> Result<(String, Value), InvalidSetting> + Clone + Send + Sync {
        self.parser(|text| {
            parse_var(text).map_err(|error| match error {
                AgentError::InvalidVar { key, reason } => {
                    format!("must be KEY=VALUE; {key:?}=… is not: {reason}")
                }
                other => other.to_string(),
            })
        })
    }
}

/// One `--inventory [NAME=]PATH`.
fn parse_inventory(text: &str) -> Result<InventorySource, String> {
    InventorySource::parse(text).map_err(|error| error.to_string())
}

/// How the process logs and traces.
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// Log lines as human-readable text or as JSON objects.
    #[arg(long = LOG_FORMAT.long, env = LOG_FORMAT.env, value_name = "text|json", default_value = "text", value_parser = LOG_FORMAT.log_format())]
    log_format: LogFormat,
    /// Which spans and events are logged, e.g. info,chiffon_agents=debug.
    #[arg(long = LOG_FILTER.long, env = LOG_FILTER.env, value_name = "FILTER", default_value = "info", value_parser = LOG_FILTER.log_filter())]
    log_filter: LogFilter,
    /// OTLP/gRPC collector to export traces to, e.g. http://collector:4317 [default: none].
    #[arg(long = OTLP_ENDPOINT.long, env = OTLP_ENDPOINT.env, value_name = "URL", value_parser = OTLP_ENDPOINT.endpoint(true))]
    otlp_endpoint: Option<String>,
}

impl TelemetryArgs {
    pub fn config(&self) -> TelemetryConfig {
        TelemetryConfig {
            log_format: self.log_format,
            log_filter: self.log_filter.clone(),
            // The variable set but empty means no export, as OpenTelemetry's own SDKs read it.
            otlp_endpoint: self.otlp_endpoint.clone().filter(|url| !url.is_empty()),
        }
    }
}

/// How long a stopping process waits for what is in flight.
#[derive(Debug, Args)]
pub struct ShutdownArgs {
    /// Seconds a stopping process (SIGTERM, Ctrl-C) gives the calls and work in flight before
    /// it exits anyway.
    #[arg(long = SHUTDOWN_GRACE_SECONDS.long, env = SHUTDOWN_GRACE_SECONDS.env, value_name = "SECONDS", default_value_t = 10, value_parser = SHUTDOWN_GRACE_SECONDS.whole(GRACE_RANGE))]
    shutdown_grace_seconds: u64,
}

impl ShutdownArgs {
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

/// The orchestrator's settings, for `dev` and `serve`.
#[derive(Debug, Args)]
pub struct OrchestratorArgs {
    /// Confidence (0 to 1) a playbook needs to be used for a task.
    #[arg(long = MATCH_THRESHOLD.long, env = MATCH_THRESHOLD.env, value_name = "CONFIDENCE", default_value_t = DEFAULT_THRESHOLD, value_parser = MATCH_THRESHOLD.fraction())]
    match_threshold: f64,
    /// Seconds between agent heartbeats.
    #[arg(long = HEARTBEAT_SECONDS.long, env = HEARTBEAT_SECONDS.env, value_name = "SECONDS", default_value_t = 5, value_parser = HEARTBEAT_SECONDS.whole(HEARTBEAT_RANGE))]
    heartbeat_seconds: u64,
    /// Seconds without a heartbeat after which an agent is offline and its work fails; at least
    /// twice --heartbeat-seconds.
    #[arg(long = AGENT_OFFLINE_SECONDS.long, env = AGENT_OFFLINE_SECONDS.env, value_name = "SECONDS", default_value_t = 30, value_parser = AGENT_OFFLINE_SECONDS.whole(OFFLINE_RANGE))]
    agent_offline_seconds: u64,
}

impl OrchestratorArgs {
    /// The checks that span settings; each alone was checked when parsed.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        // One late heartbeat must not take a healthy agent offline.
        if self.agent_offline_seconds < 2 * self.heartbeat_seconds {
            return Err(AGENT_OFFLINE_SECONDS.refuse(format!(
                "must be at least twice --{} ({}), got {}",
                HEARTBEAT_SECONDS.long,
                2 * self.heartbeat_seconds,
                self.agent_offline_seconds
            )));
        }
        Ok(())
    }

    pub fn config(&self) -> OrchestratorConfig {
        OrchestratorConfig {
            heartbeat_interval: Duration::from_secs(self.heartbeat_seconds),
            agent_offline_after: Duration::from_secs(self.agent_offline_seconds),
            match_threshold: self.match_threshold,
            ..OrchestratorConfig::default()
        }
    }
}

/// What `dev` and `serve` share: the orchestrator's settings, the shutdown grace and telemetry.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub orchestrator: OrchestratorArgs,
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

impl AppArgs {
    /// The [`App`] on `database_url` and `bus`, listening on `listen`, with these settings.
    pub fn app(&self, database_url: String, bus: BusChoice, listen: SocketAddr) -> App {
        App {
            database_url,
            bus,
            orchestrator: self.orchestrator.config(),
            listen,
            grace: self.shutdown.grace(),
        }
    }
}

/// How an infrastructure agent runs Ansible, for `dev` and `agent infra`.
#[derive(Debug, Args)]
pub struct AnsibleArgs {
    /// Extra variable for every playbook run, KEY=VALUE; repeatable.
    #[arg(long = VAR.long, value_name = "KEY=VALUE", value_parser = VAR.var())]
    vars: Vec<(String, Value)>,
    /// File holding the Ansible Vault password; only its path is handed to ansible-playbook.
    #[arg(long = VAULT_PASSWORD_FILE.long, env = VAULT_PASSWORD_FILE.env, value_name = "FILE", value_parser = VAULT_PASSWORD_FILE.path())]
    vault_password_file: Option<PathBuf>,
    /// An inventory requests can choose by name: a file, a directory or a dynamic inventory
    /// script, relative to the repository root or absolute; repeatable, the first is the
    /// default. Without NAME= the name is the file name without extension
    /// (production.ini → production), or the nearest directory when that is generic (hosts,
    /// inventory, inventories, main: inventories/staging/hosts.ini → staging). Without any,
    /// the repository's ansible.cfg decides (the inventory "default").
    #[arg(long = "inventory", value_name = "[NAME=]PATH", value_parser = parse_inventory)]
    inventories: Vec<InventorySource>,
    /// The ansible-playbook program (a name on PATH or a path); the other Ansible tools are
    /// taken from the same directory.
    #[arg(long = ANSIBLE_PLAYBOOK.long, env = ANSIBLE_PLAYBOOK.env, value_name = "PROGRAM", default_value = "ansible-playbook", value_parser = ANSIBLE_PLAYBOOK.program())]
    ansible_playbook: PathBuf,
    /// The ansible-lint program [default: the one next to ansible-playbook, else from PATH].
    #[arg(long = ANSIBLE_LINT.long, env = ANSIBLE_LINT.env, value_name = "PROGRAM", value_parser = ANSIBLE_LINT.program())]
    ansible_lint: Option<PathBuf>,
}

impl AnsibleArgs {
    /// The agent settings for the repository at `repo` with these Ansible settings.
    pub fn agent_config(self, repo: PathBuf) -> anyhow::Result<InfraAgentConfig> {
        let mut config = InfraAgentConfig::new(repo);
        config.default_vars = self.vars.into_iter().collect::<Map<String, Value>>();
        // ansible-playbook runs in the repository, where a path relative to here means nothing.
        config.vault_password_file = self
            .vault_password_file
            .map(std::path::absolute)
            .transpose()
            .context("cannot resolve --vault-password-file")?;
        config.inventories = self.inventories;
        config.ansible_lint = self
            .ansible_lint
            .unwrap_or_else(|| lint_program_beside(&self.ansible_playbook));
        config.ansible_playbook = self.ansible_playbook;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Orchestrator {
        #[command(flatten)]
        args: OrchestratorArgs,
    }

    fn orchestrator(args: &[&str]) -> Result<OrchestratorArgs, String> {
        let parsed =
            Orchestrator::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
                .map_err(|error| error.to_string())?
                .args;
        parsed.validate().map_err(|invalid| invalid.to_string())?;
        Ok(parsed)
    }

    #[test]
    fn a_bad_value_is_refused_with_the_flag_the_variable_and_what_is_allowed() {
        assert_eq!(
            HEARTBEAT_SECONDS.whole(HEARTBEAT_RANGE)("0").map_err(|e| e.to_string()),
            Err(
                "--heartbeat-seconds (CHIFFON_HEARTBEAT_SECONDS) must be between 1 and 3600, got 0"
                    .to_owned()
            )
        );
        assert_eq!(
            HEARTBEAT_SECONDS.whole(HEARTBEAT_RANGE)("five").map_err(|e| e.to_string()),
            Err("--heartbeat-seconds (CHIFFON_HEARTBEAT_SECONDS) must be a whole number between 1 and 3600, got \"five\"".to_owned())
        );
        assert_eq!(HEARTBEAT_SECONDS.whole(HEARTBEAT_RANGE)(" 7 "), Ok(7));
        for bad in ["1.5", "-0.1", "NaN", "high"] {
            let refused = MATCH_THRESHOLD.fraction()(bad).expect_err(bad).to_string();
            assert!(
                refused.starts_with(
                    "--match-threshold (CHIFFON_MATCH_THRESHOLD) must be a number between 0 and 1"
                ),
                "{refused}"
            );
        }
        assert_eq!(MATCH_THRESHOLD.fraction()("0.45"), Ok(0.45));
        assert!(LISTEN.address()("localhost:50051").is_err());
        assert!(LOG_FORMAT.log_format()("JSON").is_err());
        assert!(AGENT_ID.agent_id()("infra agent").is_err());
        assert!(ANSIBLE_LINT.program()("").is_err());
        assert!(ORCHESTRATOR.endpoint(false)("127.0.0.1:50051").is_err());
        assert_eq!(OTLP_ENDPOINT.endpoint(true)(""), Ok(String::new()));
        assert!(LOG_FILTER.log_filter()("chiffon=loud").is_err());
    }

    #[test]
    fn secrets_are_never_quoted_back() {
        let refused = DATABASE_URL.secret_url(&["postgres", "postgresql"])(
            "mysql://admin:hunter2@db/chiffon",
        )
        .expect_err("not postgres")
        .to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(refused.starts_with("--database-url (CHIFFON_DATABASE_URL) must be a URL starting with postgres: or postgresql: (the value"), "{refused}");
        let refused = VAR.var()("1password=hunter2")
            .expect_err("bad key")
            .to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(refused.starts_with("--var "), "{refused}");
    }

    #[test]
    fn settings_that_span_flags_are_checked_together() {
        let defaults = orchestrator(&[]).expect("the defaults are valid");
        assert_eq!(defaults.config().heartbeat_interval, Duration::from_secs(5));
        assert_eq!(
            defaults.config().agent_offline_after,
            Duration::from_secs(30)
        );
        assert_eq!(defaults.config().match_threshold, DEFAULT_THRESHOLD);
        assert!(
            orchestrator(&["--heartbeat-seconds", "1", "--agent-offline-seconds", "5"]).is_ok()
        );
        assert_eq!(
            orchestrator(&["--heartbeat-seconds", "10", "--agent-offline-seconds", "15"]).err(),
            Some("--agent-offline-seconds (CHIFFON_AGENT_OFFLINE_SECONDS) must be at least twice --heartbeat-seconds (20), got 15".to_owned())
        );
        // Out of range is refused, not clamped.
        assert!(orchestrator(&["--agent-offline-seconds", "1"]).is_err());
        assert!(orchestrator(&["--heartbeat-seconds", "3601"]).is_err());
    }
}
