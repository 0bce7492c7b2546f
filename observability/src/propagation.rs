//! W3C trace-context (`traceparent`, `tracestate`) across process boundaries.
//!
//! The same two header names travel in gRPC metadata and in bus message headers, so a trace
//! started by `chiffon request` continues in the orchestrator and in the agent that runs the work.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Header carrying the W3C trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// Header carrying vendor-specific W3C trace state.
pub const TRACESTATE: &str = "tracestate";

/// Trace-context headers of the current span; empty when no trace is being recorded.
pub fn current_trace_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MapInjector(&mut headers));
    headers
}

/// Makes `span` a child of the trace named by `headers` (as produced by
/// [`current_trace_headers`]); does nothing when they carry no valid trace parent.
pub fn continue_trace(span: &tracing::Span, headers: &HashMap<String, String>) {
    let context = TraceContextPropagator::new().extract(&MapExtractor(headers));
    // Without an OpenTelemetry layer there is nothing to attach the parent to; that is fine.
    let _ = span.set_parent(context);
}

/// The span under which the gRPC server handles `request`, continuing the caller's trace.
pub fn grpc_server_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc.request",
        otel.kind = "server",
        rpc.method = %request.uri().path(),
    );
    let headers: HashMap<String, String> = [TRACEPARENT, TRACESTATE]
        .into_iter()
        .filter_map(|name| {
            let value = request.headers().get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    continue_trace(&span, &headers);
    span
}

/// Adds the current trace context to an outgoing gRPC request; use as a tonic interceptor.
pub fn inject_grpc<T>(mut request: tonic::Request<T>) -> Result<tonic::Request<T>, tonic::Status> {
    for (name, value) in current_trace_headers() {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(name.as_bytes()),
            value.parse(),
        ) {
            request.metadata_mut().insert(key, value);
        }
    }
    Ok(request)
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use tracing_subscriber::layer::SubscriberExt as _;

    fn with_recording_tracer(test: impl FnOnce()) {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, test);
    }

    #[test]
    fn trace_headers_without_a_recorded_trace_are_empty() {
        assert!(current_trace_headers().is_empty());
    }

    #[test]
    fn a_trace_continues_through_headers() {
        with_recording_tracer(|| {
            let sender = tracing::info_span!("sender");
            let headers = sender.in_scope(current_trace_headers);
            let traceparent = &headers[TRACEPARENT];
            let sent_trace = sender.context().span().span_context().trace_id();
            assert!(
                traceparent.contains(&sent_trace.to_string()),
                "{traceparent}"
            );

            let receiver = tracing::info_span!("receiver");
            continue_trace(&receiver, &headers);
            assert_eq!(
                receiver.context().span().span_context().trace_id(),
                sent_trace
            );
        });
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        with_recording_tracer(|| {
            let span = tracing::info_span!("receiver");
            let before = span.context().span().span_context().trace_id();
            let headers = HashMap::from([(TRACEPARENT.to_owned(), "not-a-trace".to_owned())]);
            continue_trace(&span, &headers);
            assert_eq!(span.context().span().span_context().trace_id(), before);
        });
    }
}
