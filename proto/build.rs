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

/// Messages stored as JSON by the orchestrator.
const STORED_AS_JSON: &[&str] = &[
    ".chiffon.v1.Play",
    ".chiffon.v1.PlayTargets",
    ".chiffon.v1.PlaybookPart",
    ".chiffon.v1.Inventory",
    ".chiffon.v1.InventoryGroup",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let transport = std::env::var_os("CARGO_FEATURE_TRANSPORT").is_some();
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let mut builder = tonic_prost_build::configure()
        .build_server(transport)
        .build_transport(transport)
        // A suggestion is large and rare on the bus; boxing keeps every WorkItem small.
        .boxed(".chiffon.v1.WorkItem.action.apply_suggestion");
    // The orchestrator stores these catalog structures as JSON columns; serde gives them a JSON
    // shape named after their proto fields, and `default` reads rows written before a field was
    // added.
    for message in STORED_AS_JSON {
        builder = builder.type_attribute(
            message,
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(default)]",
        );
    }
    builder
        .file_descriptor_set_path(out_dir.join("chiffon_descriptor.bin"))
        .compile_protos(PROTOS, &["."])?;
    Ok(())
}
