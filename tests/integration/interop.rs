//! Other languages and browsers: a Python client generated from `proto/` with grpcio-tools, and
//! a gRPC-web call over plain HTTP/1.1.

use crate::support::*;
use chiffon_proto::v1 as pb;
use prost::Message as _;
use std::process::Command;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_client_submits_approves_and_watches() {
    let workspace = Workspace::new();
    let generated = workspace.path().join("python");
    std::fs::create_dir_all(&generated).expect("create output dir");
    let protos: Vec<String> = std::fs::read_dir(repo_root().join("proto/chiffon/v1"))
        .expect("proto dir")
        .flatten()
        .map(|entry| format!("chiffon/v1/{}", entry.file_name().to_string_lossy()))
        .collect();
    let include = Command::new(python())
        .args(["-c", "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))"])
        .output()
        .expect("run python (run scripts/setup to create the venv)");
    assert!(
        include.status.success(),
        "grpcio-tools is missing: run scripts/setup"
    );
    let include = String::from_utf8_lossy(&include.stdout).trim().to_owned();
    let status = Command::new(python())
        .args(["-m", "grpc_tools.protoc", "-I", "proto", "-I", &include])
        .arg(format!("--python_out={}", generated.display()))
        .arg(format!("--grpc_python_out={}", generated.display()))
        .args(&protos)
        .current_dir(repo_root())
        .status()
        .expect("run grpc_tools.protoc");
    assert!(status.success(), "generating the Python client failed");

    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let target = dev.endpoint.trim_start_matches("http://").to_owned();
    let script = repo_root().join("tests/integration/python/client.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .arg(&generated)
            .arg(&target)
            .arg(UPTIME_KUMA_REQUEST)
            .output()
            .expect("run the Python client")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("the client prints JSON");

    let services: Vec<&str> = report["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for expected in [
        "chiffon.v1.AgentService",
        "chiffon.v1.OrchestratorService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            services.contains(&expected),
            "{expected} missing from {services:?}"
        );
    }
    assert_eq!(report["steps"][0], "playbooks/deploy-uptime-kuma.yml");
    let events = report["events"].as_array().expect("events");
    assert_eq!(
        events.first().map(|e| &e["kind"]),
        Some(&serde_json::json!("REQUEST_EVENT_KIND_REQUEST_SUBMITTED"))
    );
    assert_eq!(
        events.last().map(|e| &e["kind"]),
        Some(&serde_json::json!("REQUEST_EVENT_KIND_REQUEST_SUCCEEDED"))
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"].as_i64(), Some(index as i64 + 1));
    }
    assert_eq!(report["invalid_id_status"], "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_web_answers_over_http1() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    let address = dev.endpoint.trim_start_matches("http://").to_owned();

    let message = pb::SubmitRequestRequest {
        text: "Back up the NAS".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "POST /chiffon.v1.OrchestratorService/SubmitRequest HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.write_all(&body).await.expect("send body");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");

    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response")
        + 4;
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("application/grpc-web"), "{head}");
    let frames = dechunk(
        &response[split..],
        head.contains("transfer-encoding: chunked"),
    );
    // First frame: the response message; last frame (flag 0x80): trailers with grpc-status 0.
    assert_eq!(frames[0], 0);
    let length = u32::from_be_bytes(frames[1..5].try_into().expect("length")) as usize;
    let reply =
        pb::SubmitRequestResponse::decode(&frames[5..5 + length]).expect("decode the reply");
    assert_eq!(reply.request.expect("request").text, "Back up the NAS");
    let trailers = String::from_utf8_lossy(&frames[5 + length + 5..]);
    assert_eq!(frames[5 + length], 0x80);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
}

/// The body of an HTTP/1.1 response, undoing chunked transfer encoding.
fn dechunk(body: &[u8], chunked: bool) -> Vec<u8> {
    if !chunked {
        return body.to_vec();
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
        rest = &rest[line_end + 2 + size + 2..];
    }
}
