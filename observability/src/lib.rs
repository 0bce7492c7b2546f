//! Tracing for every Chiffon process: structured logs, optional OpenTelemetry export, and W3C
//! trace-context propagation across gRPC calls and bus messages.
//!
//! A process calls [`init`] once at start with its [`TelemetryConfig`] and keeps the returned
//! [`TelemetryGuard`] alive; spans then go to stderr and, when the configuration names an OTLP
//! endpoint, to that collector. The library reads no environment variables: the binary decides
//! where each setting comes from. The [`propagation`] helpers carry the current trace across
//! process boundaries so that a request's trace continues through the orchestrator, the bus and
//! the agent that runs its steps.

pub mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::str::FromStr;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Which spans and events are logged, in `RUST_LOG` syntax (`info,chiffon_agents=debug`);
/// checked when parsed, so a typo is refused instead of silently logging something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(String);

impl Default for LogFilter {
    fn default() -> Self {
        Self("info".to_owned())
    }
}

impl FromStr for LogFilter {
    type Err = ObservabilityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EnvFilter::try_new(text).map_err(|error| ObservabilityError::LogFilter {
            filter: text.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Self(text.to_owned()))
    }
}

impl std::fmt::Display for LogFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`init`] sets up.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// How log lines look.
    pub log_format: LogFormat,
    /// Which spans and events are logged.
    pub log_filter: LogFilter,
    /// The OTLP/gRPC collector spans are exported to; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum ObservabilityError {
    /// A log filter is not in `RUST_LOG` syntax.
    #[error("{filter:?} is not a log filter ({reason})")]
    LogFilter {
        /// The filter as given.
        filter: String,
        /// What the parser reported.
        reason: String,
    },
    /// The OTLP exporter could not be built from the configured endpoint.
    #[error("cannot export traces to {endpoint}: {source}")]
    Exporter {
        /// The configured collector endpoint.
        endpoint: String,
        /// What the exporter reported.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global tracing subscriber was already installed in this process.
    #[error("tracing was already initialised in this process: {0}")]
    AlreadyInitialised(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the trace exporter running; dropping it flushes pending spans.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("chiffon: flushing traces failed: {error}");
        }
    }
}

/// Installs the process-wide tracing subscriber for `service_name`, configured by `config`.
///
/// Logs go to stderr so that stdout stays free for command output.
pub fn init(
    service_name: &'static str,
    config: &TelemetryConfig,
) -> Result<TelemetryGuard, ObservabilityError> {
    let filter = EnvFilter::try_new(&config.log_filter.0).map_err(|error| {
        ObservabilityError::LogFilter {
            filter: config.log_filter.0.clone(),
            reason: error.to_string(),
        }
    })?;
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(service_name, endpoint.clone())?),
        None => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name)));

    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

fn otlp_provider(
    service_name: &'static str,
    endpoint: String,
) -> Result<SdkTracerProvider, ObservabilityError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()
        .map_err(|source| ObservabilityError::Exporter { endpoint, source })?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters_are_checked_when_parsed() {
        assert_eq!(
            "info,chiffon=debug".parse::<LogFilter>().ok(),
            Some(LogFilter("info,chiffon=debug".to_owned()))
        );
        let refused = "chiffon=loud".parse::<LogFilter>();
        assert!(
            matches!(refused, Err(ObservabilityError::LogFilter { ref filter, .. }) if filter == "chiffon=loud"),
            "{refused:?}"
        );
    }
}
