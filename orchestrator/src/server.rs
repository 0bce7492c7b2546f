//! The orchestrator's one gRPC port: the orchestrator, agent, catalog and suggestion APIs plus gRPC health and
//! reflection (v1 for grpcurl, v1alpha for older clients such as Python's), reachable over
//! HTTP/2 and, through gRPC-web, over HTTP/1.1 from browsers.

use crate::engine::Orchestrator;
use crate::grpc::{AgentApi, CatalogApi, OrchestratorApi, SuggestionApi};
use chiffon_proto::v1::agent_service_server::AgentServiceServer;
use chiffon_proto::v1::catalog_service_server::CatalogServiceServer;
use chiffon_proto::v1::orchestrator_service_server::OrchestratorServiceServer;
use chiffon_proto::v1::suggestion_service_server::SuggestionServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

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

/// Serves every API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    orchestrator: Orchestrator,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<OrchestratorServiceServer<OrchestratorApi>>()
        .await;
    health.set_serving::<AgentServiceServer<AgentApi>>().await;
    health
        .set_serving::<CatalogServiceServer<CatalogApi>>()
        .await;
    health
        .set_serving::<SuggestionServiceServer<SuggestionApi>>()
        .await;
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
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled())
        .await?;
    Ok(())
}
