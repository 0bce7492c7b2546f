//! Compiles `chiffon/v1/*.proto` with tonic-prost-build and records the descriptor set that gRPC
//! reflection serves.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "chiffon/v1/common.proto",
    "chiffon/v1/catalog.proto",
    "chiffon/v1/work.proto",
    "chiffon/v1/orchestrator.proto",
    "chiffon/v1/agent.proto",
    "chiffon/v1/suggestion.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let transport = std::env::var_os("CARGO_FEATURE_TRANSPORT").is_some();
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    tonic_prost_build::configure()
        .build_server(transport)
        .build_transport(transport)
        // A suggestion is large and rare on the bus; boxing keeps every WorkItem small.
        .boxed(".chiffon.v1.WorkItem.action.apply_suggestion")
        .file_descriptor_set_path(out_dir.join("chiffon_descriptor.bin"))
        .compile_protos(PROTOS, &["."])?;
    Ok(())
}
