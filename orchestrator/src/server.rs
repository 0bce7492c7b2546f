//! The orchestrator's one gRPC port: the orchestrator, agent, catalog and suggestion APIs plus gRPC health and
//! reflection (v1 for grpcurl, v1alpha for older clients such as Python's), reachable over
//! HTTP/2 and, through gRPC-web, over HTTP/1.1 from browsers. While the process drains, health
//! says NOT_SERVING.

use crate::engine::Orchestrator;
use crate::grpc::{AgentApi, CatalogApi, OrchestratorApi, SuggestionApi};
use chiffon_proto::v1::agent_service_server::AgentServiceServer;
use chiffon_proto::v1::catalog_service_server::CatalogServiceServer;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorServiceServer;
use chiffon_proto::v1::suggestion_service_server::SuggestionServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Why the gRPC server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not load the contracts' descriptors.
    #[error("cannot build the gRPC reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The names health reports on: the whole server (`""`) and each API.
fn health_services() -> [&'static str; 5] {
    [
        "",
        <OrchestratorServiceServer<OrchestratorApi> as NamedService>::NAME,
        <AgentServiceServer<AgentApi> as NamedService>::NAME,
        <CatalogServiceServer<CatalogApi> as NamedService>::NAME,
        <SuggestionServiceServer<SuggestionApi> as NamedService>::NAME,
    ]
}

/// Turns every service to NOT_SERVING at once, then forgets them: a health `Watch` stream
/// delivers that last status and then ends, so open watchers do not hold the drain up.
async fn report_draining(mut health: HealthReporter) {
    for service in health_services() {
        health
            .set_service_status(service, ServingStatus::NotServing)
            .await;
    }
    for service in health_services() {
        health.clear_service_status(service).await;
    }
    tracing::info!("draining: health reports NOT_SERVING, no new connections are accepted");
}

/// Serves every API on `listener` until `draining` is cancelled. Then health reports every
/// service NOT_SERVING (open health watchers see it and their streams end), the listener
/// closes, and the future completes once the calls in flight have finished. Streams that only
/// end with the orchestrator (`WatchRequest`) keep it waiting until the orchestrator's own
/// shutdown token fires; the caller bounds the whole drain with a deadline.
pub async fn serve(
    orchestrator: Orchestrator,
    listener: TcpListener,
    draining: CancellationToken,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for service in health_services() {
        health
            .set_service_status(service, ServingStatus::Serving)
            .await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(chiffon_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    tonic::transport::Server::builder()
        .accept_http1(true)
        .trace_fn(chiffon_observability::propagation::grpc_server_span)
        .layer(tonic_web::GrpcWebLayer::new())
        .add_service(health_service)
        // Each version lists the other too, so clients see every service whichever they ask.
        .add_service(
            reflection()
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
                .build_v1()?,
        )
        .add_service(
            reflection()
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .build_v1alpha()?,
        )
        .add_service(OrchestratorServiceServer::new(OrchestratorApi::new(
            orchestrator.clone(),
        )))
        .add_service(AgentServiceServer::new(AgentApi::new(orchestrator.clone())))
        .add_service(CatalogServiceServer::new(CatalogApi::new(
            orchestrator.clone(),
        )))
        .add_service(SuggestionServiceServer::new(SuggestionApi::new(
            orchestrator,
        )))
        // Health flips before the listener closes, so a watcher learns why the server goes away.
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            draining.cancelled().await;
            report_draining(health).await;
        })
        .await?;
    Ok(())
}
