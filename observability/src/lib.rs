//! Tracing for every Chiffon process: structured logs, optional OpenTelemetry export, and W3C
//! trace-context propagation across gRPC calls and bus messages.
//!
//! A process calls [`init`] once at start and keeps the returned [`TelemetryGuard`] alive; spans
//! then go to stderr and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, to an OTLP collector. The
//! [`propagation`] helpers carry the current trace across process boundaries so that a request's
//! trace continues through the orchestrator, the bus and the agent that runs its steps.

pub mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Environment variable naming the OTLP/gRPC collector endpoint; export is off when unset.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Environment variable selecting the log format: `json` for machine-readable lines, anything
/// else for human-readable text.
pub const LOG_FORMAT_ENV: &str = "CHIFFON_LOG_FORMAT";

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum ObservabilityError {
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

/// Installs the process-wide tracing subscriber for `service_name`.
///
/// The filter comes from `RUST_LOG` (default `info`). Logs go to stderr so that stdout stays
/// free for command output.
pub fn init(service_name: &'static str) -> Result<TelemetryGuard, ObservabilityError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var(LOG_FORMAT_ENV).is_ok_and(|format| format == "json");
    let fmt_layer = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };

    let provider = match std::env::var(OTLP_ENDPOINT_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => Some(otlp_provider(service_name, endpoint)?),
        _ => None,
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
