//! Tidy: the structural rules ARCHITECTURE.md states, checked on the source tree so they cannot
//! quietly erode.
//!
//! - every Rust file opens with a `//!` comment saying what it is for;
//! - each crate depends only on what its layer may know: agents never reach the database,
//!   only the bus speaks AMQP, protobuf's runtime stays with the contracts, the bus's wire codec,
//!   the orchestrator's API and the CLI;
//! - inside the orchestrator only the `store` module uses sea-orm and its entities;
//! - the settings' environment variables are named only by the binary, which hands their
//!   values to the libraries.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root: this crate's manifest directory.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`, skipping build output and hidden directories.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The crates of the workspace: directory → the names in its `[dependencies]` table.
fn crate_dependencies() -> BTreeMap<String, Vec<String>> {
    let root = root();
    let mut crates = BTreeMap::new();
    for dir in [
        ".",
        "proto",
        "bus",
        "entity",
        "migration",
        "observability",
        "orchestrator",
        "agents",
        "types",
    ] {
        let manifest = fs::read_to_string(root.join(dir).join("Cargo.toml"))
            .unwrap_or_else(|error| panic!("{dir}/Cargo.toml: {error}"));
        crates.insert(dir.to_owned(), dependencies(&manifest));
    }
    crates
}

/// The dependency names of a manifest's `[dependencies]` table (not dev or build ones).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_table = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[dependencies]";
            continue;
        }
        if !in_table || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or_default()
            .trim_matches('"');
        names.push(name.to_owned());
    }
    names
}

#[test]
fn every_rust_file_opens_with_a_doc_comment() {
    let root = root();
    let missing: Vec<String> = rust_files(&root)
        .into_iter()
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap_or_default();
            let first = text.lines().map(str::trim).find(|line| !line.is_empty());
            !first.is_some_and(|line| line.starts_with("//!"))
        })
        .map(|path| {
            path.strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` comment saying what they are for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn crates_depend_only_on_what_their_layer_may_know() {
    // (dependency, the crates allowed to have it, why)
    let rules: [(&str, &[&str], &str); 5] = [
        (
            "lapin",
            &["bus"],
            "only the bus crate speaks AMQP; the rest use the Bus trait",
        ),
        (
            "sea-orm",
            &["entity", "orchestrator"],
            "only the orchestrator keeps state, through its store",
        ),
        (
            "chiffon-entity",
            &["orchestrator", "migration"],
            "database rows stay inside the orchestrator",
        ),
        (
            "chiffon-migration",
            &["orchestrator"],
            "only the orchestrator opens the database",
        ),
        (
            "prost",
            &["proto", "bus", "orchestrator", "."],
            "protobuf's runtime belongs to the contracts, the bus's wire codec, the \
             orchestrator's API and the CLI",
        ),
    ];
    let crates = crate_dependencies();
    let mut broken = Vec::new();
    for (dependency, allowed, why) in rules {
        for (dir, dependencies) in &crates {
            if dependencies.iter().any(|name| name == dependency) && !allowed.contains(&&**dir) {
                broken.push(format!("{dir} depends on {dependency}: {why}"));
            }
        }
    }
    // The shared types are for every layer, so they depend on nothing of any layer.
    for dependency in &crates["types"] {
        if !["serde", "thiserror"].contains(&dependency.as_str()) {
            broken.push(format!(
                "types depends on {dependency}: the shared types crate stays small enough for \
                 every layer (serde and thiserror only)"
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The rules must see the manifests: a parser that found nothing would pass everything.
    assert!(crates["bus"].iter().any(|name| name == "lapin"));
    assert!(crates["orchestrator"].iter().any(|name| name == "sea-orm"));
}

/// The files below `dir` whose code (not comments) names `token`, except those under `allowed`
/// (files or directories).
fn files_naming(dir: &Path, token: &str, allowed: &[PathBuf]) -> Vec<String> {
    rust_files(dir)
        .into_iter()
        .filter(|path| !allowed.iter().any(|allowed| path.starts_with(allowed)))
        .filter(|path| {
            fs::read_to_string(path).is_ok_and(|text| {
                text.lines()
                    .any(|line| !line.trim_start().starts_with("//") && line.contains(token))
            })
        })
        .map(|path| path.display().to_string())
        .collect()
}

#[test]
fn only_the_orchestrators_store_uses_sea_orm() {
    let source = root().join("orchestrator/src");
    let store = source.join("store");
    // The error type wraps the database's error; it neither reads nor writes.
    let offenders = files_naming(
        &source,
        "sea_orm",
        &[store.clone(), source.join("error.rs")],
    );
    assert!(
        offenders.is_empty(),
        "sea-orm used outside orchestrator/src/store: {}",
        offenders.join(", ")
    );
    assert!(
        rust_files(&store).len() > 1,
        "the store module was not found where this test looks"
    );
}

#[test]
fn the_engine_and_state_machine_never_touch_the_wire_format() {
    // Protobuf bytes are the API's and the store's business: the engine encodes and decodes
    // nothing, and the state machine does not even see messages.
    let source = root().join("orchestrator/src");
    let engine = source.join("engine");
    let machine = source.join("machine.rs");
    assert!(
        machine.is_file() && rust_files(&engine).len() > 1,
        "the engine and state machine were not found where this test looks"
    );
    let mut offenders = files_naming(&engine, "prost::", &[]);
    for token in ["prost::", "chiffon_proto"] {
        let named = files_naming(&source, token, &[]);
        offenders.extend(named.into_iter().filter(|path| Path::new(path) == machine));
    }
    assert!(offenders.is_empty(), "{}", offenders.join(", "));
}

#[test]
fn the_dependency_reader_reads_the_dependencies_table_only() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nlapin.workspace = true\n\
                    \"sea-orm\" = { version = \"2\" }\n# prost = \"1\"\n\n[dev-dependencies]\n\
                    prost.workspace = true\n";
    assert_eq!(dependencies(manifest), vec!["lapin", "sea-orm"]);
}

#[test]
fn only_the_binary_names_the_settings_environment_variables() {
    let root = root();
    let libraries = [
        "agents/src",
        "orchestrator/src",
        "bus/src",
        "observability/src",
        "proto/src",
        "types/src",
        "entity/src",
        "migration/src",
    ];
    // The pipe the callback plugin writes to is the agent's protocol with its child, not a
    // setting; the broker tests' own URL belongs to the test helpers.
    let allowed = ["CHIFFON_EVENTS_FD", "CHIFFON_TEST_AMQP_URL"];
    let mut named = Vec::new();
    for dir in libraries {
        for path in rust_files(&root.join(dir)) {
            let text = fs::read_to_string(&path).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                let mut rest = line;
                while let Some(at) = rest.find("CHIFFON_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if !allowed.contains(&name.as_str()) {
                        named.push(format!("{}:{}: {name}", path.display(), number + 1));
                    }
                    rest = &rest[at + name.len().max(1)..];
                }
            }
        }
    }
    assert!(
        named.is_empty(),
        "settings are read by the binary (src/app/settings.rs) and passed on:\n{}",
        named.join("\n")
    );
}
