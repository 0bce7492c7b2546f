//! The process around the orchestrator: settings refused before anything starts (exit 64,
//! naming the flag and its environment variable), and shutdown: health NOT_SERVING while
//! draining, a clean exit 0, and an exit that does not wait past the grace for what hangs.

use crate::support::*;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const EX_USAGE: i32 = 64;

/// Runs `chiffon ARGS` with `env` and prints what it said, for failing tests.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = chiffon()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run chiffon");
    println!(
        "$ {env:?} chiffon {}\nexit {:?}\n{}{}",
        args.join(" "),
        output.status.code(),
        stdout(&output),
        stderr(&output)
    );
    output
}

/// Checks `output` is a usage error whose message has `needle`.
fn assert_refused(output: &Output, needle: &str) {
    assert_eq!(output.status.code(), Some(EX_USAGE), "{}", stderr(output));
    assert!(stderr(output).contains(needle), "{}", stderr(output));
}

#[test]
fn bad_settings_and_unknown_flags_exit_64_naming_the_setting_before_anything_starts() {
    let workspace = Workspace::new();
    let data = workspace.path().join("data");
    let data_arg = data.display().to_string();
    let database = "postgres://chiffon:hunter2@127.0.0.1:5432/chiffon";

    let refused = run(
        &[
            "serve",
            "--heartbeat-seconds",
            "0",
            "--database-url",
            database,
            "--amqp-url",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
        ],
        &[],
    );
    assert_refused(
        &refused,
        "--heartbeat-seconds (CHIFFON_HEARTBEAT_SECONDS) must be between 1 and 3600, got 0",
    );

    // From the environment the same: the message names the variable too.
    let refused = run(
        &["dev", "--listen", "127.0.0.1:0", "--data-dir", &data_arg],
        &[("CHIFFON_MATCH_THRESHOLD", "1.5")],
    );
    assert_refused(
        &refused,
        "--match-threshold (CHIFFON_MATCH_THRESHOLD) must be a number between 0 and 1",
    );
    assert!(
        !data.exists(),
        "dev started before its settings were checked"
    );

    // Settings that only make sense together are checked together.
    let refused = run(
        &[
            "dev",
            "--data-dir",
            &data_arg,
            "--heartbeat-seconds",
            "10",
            "--agent-offline-seconds",
            "15",
        ],
        &[],
    );
    assert_refused(
        &refused,
        "--agent-offline-seconds (CHIFFON_AGENT_OFFLINE_SECONDS) must be at least twice",
    );
    assert!(
        !data.exists(),
        "dev started before its settings were checked"
    );

    // A URL that may carry a password is refused without being quoted.
    let refused = run(
        &["serve"],
        &[
            ("CHIFFON_DATABASE_URL", "mysql://chiffon:hunter2@db/chiffon"),
            ("CHIFFON_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        ],
    );
    assert_refused(&refused, "--database-url (CHIFFON_DATABASE_URL)");
    assert!(!stderr(&refused).contains("hunter2"));

    for args in [
        &["dev", "--no-such-flag"][..],
        &["serve", "--listen"][..],
        &[
            "agent",
            "infra",
            "--amqp-url",
            "amqp://x",
            "--repo",
            ".",
            "--frobnicate",
        ][..],
        &["no-such-command"][..],
    ] {
        assert_refused(&run(args, &[]), "error:");
    }

    for args in [&["--help"][..], &["dev", "--help"][..], &["--version"][..]] {
        let shown = run(args, &[]);
        assert_eq!(shown.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&shown).is_empty(), "{args:?}");
    }

    // A failure while running is not a usage error.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = taken.local_addr().expect("address").to_string();
    let failed = run(&["dev", "--listen", &address, "--data-dir", &data_arg], &[]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("cannot listen on"),
        "{}",
        stderr(&failed)
    );
}

/// The next status of a health watch; `None` once the stream ended (or broke: the server went).
async fn next_status(stream: &mut tonic::Streaming<HealthCheckResponse>) -> Option<ServingStatus> {
    match tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("the health watch neither answered nor ended")
    {
        Ok(Some(response)) => Some(response.status()),
        Ok(None) | Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_reports_not_serving_while_it_drains_then_exits_0() {
    let workspace = Workspace::new();
    let mut dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let channel = tonic::transport::Endpoint::from_shared(dev.endpoint.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect to health");
    let mut health = HealthClient::new(channel);
    let mut watches = Vec::new();
    for service in [
        "",
        "chiffon.v1.OrchestratorService",
        "chiffon.v1.AgentService",
    ] {
        let mut stream = health
            .watch(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("watch health")
            .into_inner();
        assert_eq!(
            next_status(&mut stream).await,
            Some(ServingStatus::Serving),
            "{service:?}"
        );
        watches.push((service, stream));
    }

    let stopping = tokio::task::spawn_blocking(move || {
        let status = dev.terminate(PATIENCE);
        (dev, status)
    });
    // Each watcher hears NOT_SERVING, sent before the process goes, then its stream ends.
    for (service, mut stream) in watches {
        assert_eq!(
            next_status(&mut stream).await,
            Some(ServingStatus::NotServing),
            "{service:?}"
        );
        assert_eq!(next_status(&mut stream).await, None, "{service:?}");
    }
    let (_dev, status) = stopping.await.expect("join");
    let log = std::fs::read_to_string(workspace.path().join("dev.log")).unwrap_or_default();
    assert_eq!(status.and_then(|status| status.code()), Some(0), "{log}");
    assert!(!log.contains("still running"), "{log}");
}

/// Opens the bidirectional reflection stream and never closes its side: a call in flight that
/// would hold a drain up forever. Prints "open" once the server has answered.
const HOLD_A_STREAM: &str = r#"
import sys, threading, grpc
channel = grpc.insecure_channel(sys.argv[1])
call = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
hold = threading.Event()
def requests():
    yield b"\x3a\x00"  # ServerReflectionRequest { list_services: "" }
    hold.wait()
responses = call(requests())
next(responses)
print("open", flush=True)
try:
    for _ in responses:
        pass
except grpc.RpcError:
    pass
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_hangs_does_not_hold_the_exit_past_the_grace() {
    let workspace = Workspace::new();
    let mut dev = workspace.start_dev_with(&["--shutdown-grace-seconds", "2"]);
    wait_for_infra_agent(&dev.endpoint).await;
    let mut holder = Command::new(python())
        .args(["-c", HOLD_A_STREAM])
        .arg(dev.endpoint.trim_start_matches("http://"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python (scripts/setup creates the venv with grpcio)");
    let lines = BufReader::new(holder.stdout.take().expect("stdout is piped"));
    let (opened, open) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if line.trim() == "open" {
                let _ = opened.send(());
            }
        }
    });
    open.recv_timeout(PATIENCE)
        .expect("the python client did not open its stream");

    let status = tokio::task::spawn_blocking(move || dev.terminate(PATIENCE))
        .await
        .expect("join");
    let _ = holder.kill();
    let _ = holder.wait();
    let log = std::fs::read_to_string(workspace.path().join("dev.log")).unwrap_or_default();
    assert_eq!(status.and_then(|status| status.code()), Some(1), "{log}");
    assert!(
        log.contains("still running after the shutdown grace of 2 s: gRPC server"),
        "{log}"
    );
}
