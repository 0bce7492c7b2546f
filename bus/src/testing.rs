//! Helpers for tests that run against a real RabbitMQ (feature `testing`, off by default).
//!
//! Tests share one broker (on `127.0.0.1:5672`, `guest`/`guest`, unless `CHIFFON_TEST_AMQP_URL`
//! names another). Each test isolates its queues in a fresh [`RabbitVhost`] and holds a
//! [`BrokerLock`]: shared for ordinary tests, exclusive for a test that stops the broker, so a
//! restart never pulls the broker from under another test, in this process or another one.
//!
//! The helpers run `rabbitmqctl` (which must be on `PATH`, on the broker's host) and panic with
//! an explanation when the broker cannot be prepared: in a test that is the useful failure.

#![allow(
    unsafe_code,
    reason = "the lock that keeps test runs from sharing the broker needs flock, which std does not offer"
)]

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::process::Command;
use std::time::Duration;

/// Environment variable overriding the broker URL (without vhost), e.g.
/// `amqp://guest:guest@127.0.0.1:5672`.
pub const AMQP_URL_ENV: &str = "CHIFFON_TEST_AMQP_URL";
/// Broker URL (without vhost) used when [`AMQP_URL_ENV`] is not set.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672";
/// File every test process locks before using the broker.
pub const LOCK_PATH: &str = "/tmp/chiffon-rabbitmq-test.lock";

/// How long to wait for the broker to accept AMQP connections after it was started again.
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(90);

/// A virtual host of its own for one test, deleted (with everything in it) on drop.
#[derive(Debug)]
pub struct RabbitVhost {
    name: String,
}

impl RabbitVhost {
    /// Creates a uniquely named vhost and gives the `guest` user full permissions on it.
    pub fn create() -> RabbitVhost {
        let name = format!("chiffon-test-{}", uuid::Uuid::new_v4());
        rabbitmqctl(&["add_vhost", &name]);
        let vhost = RabbitVhost { name };
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &vhost.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ]);
        vhost
    }

    /// The vhost's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of the vhost, e.g. `amqp://guest:guest@127.0.0.1:5672/chiffon-test-…`.
    pub fn amqp_url(&self) -> String {
        format!("{}/{}", base_url(), percent_encode(&self.name))
    }
}

impl Drop for RabbitVhost {
    fn drop(&mut self) {
        // A leftover vhost only costs broker memory, so failing to delete it must not turn a
        // passing test into a panic during unwinding.
        if let Err(error) = run_rabbitmqctl(&["delete_vhost", &self.name]) {
            eprintln!("could not delete test vhost {}: {error}", self.name);
        }
    }
}

/// An advisory lock (`flock`) on [`LOCK_PATH`], released on drop.
#[derive(Debug)]
pub struct BrokerLock {
    _file: File,
}

impl BrokerLock {
    /// For a test that uses the broker: any number of these coexist. Blocks the thread until no
    /// exclusive lock is held, so take it at the start of the test.
    pub fn shared() -> BrokerLock {
        BrokerLock::acquire(libc::LOCK_SH)
    }

    /// For a test that stops or restarts the broker: waits until no other test uses it. Blocks
    /// the thread, so take it at the start of the test.
    pub fn exclusive() -> BrokerLock {
        BrokerLock::acquire(libc::LOCK_EX)
    }

    fn acquire(operation: libc::c_int) -> BrokerLock {
        let created = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // Tests of other users on the machine must be able to lock it too (umask permitting).
            .mode(0o666)
            .open(LOCK_PATH);
        // flock needs no write access, so another user's lock file works read-only.
        let file = match created {
            Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
                File::open(LOCK_PATH)
            }
            other => other,
        }
        .unwrap_or_else(|error| panic!("cannot open the broker lock {LOCK_PATH}: {error}"));
        loop {
            // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
            let result = unsafe { libc::flock(file.as_raw_fd(), operation) };
            if result == 0 {
                return BrokerLock { _file: file };
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                panic!("cannot lock {LOCK_PATH}: {error}");
            }
        }
    }
}

/// Stops the broker application (`rabbitmqctl stop_app`); it starts again when the returned
/// guard is [started](StoppedBroker::start) or dropped. Hold [`BrokerLock::exclusive`] first.
pub async fn stop_broker() -> StoppedBroker {
    // The guard exists before the command runs so a failure half-way still restarts the broker.
    let guard = StoppedBroker { running: false };
    rabbitmqctl_async(&["stop_app"]).await;
    guard
}

/// Stops and starts the broker application, returning once it accepts AMQP connections again.
/// Hold [`BrokerLock::exclusive`] first.
pub async fn restart_broker() {
    stop_broker().await.start().await;
}

/// A stopped broker. Dropping it (even while a test panics) starts the broker again, so a failed
/// test never leaves it stopped for the next one.
#[must_use = "the broker starts again when this guard is dropped"]
#[derive(Debug)]
pub struct StoppedBroker {
    running: bool,
}

impl StoppedBroker {
    /// Starts the broker application and waits until it accepts AMQP connections.
    pub async fn start(mut self) {
        rabbitmqctl_async(&["start_app"]).await;
        self.running = true;
        wait_for_amqp().await;
    }
}

impl Drop for StoppedBroker {
    fn drop(&mut self) {
        if !self.running
            && let Err(error) = run_rabbitmqctl(&["start_app"])
        {
            eprintln!("could not start the broker again: {error}");
        }
    }
}

/// Waits until a connection to the default vhost succeeds: the listener accepting TCP is not
/// enough, the broker must answer the AMQP handshake.
async fn wait_for_amqp() {
    let url = format!("{}/%2f", base_url());
    let deadline = tokio::time::Instant::now() + BROKER_START_TIMEOUT;
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            lapin::Connection::connect(&url, lapin::ConnectionProperties::default()),
        )
        .await;
        if let Ok(Ok(connection)) = attempt {
            let _ = connection
                .close(lapin::protocol::constants::REPLY_SUCCESS, "ready".into())
                .await;
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker did not accept AMQP connections within {} s of starting",
            BROKER_START_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn base_url() -> String {
    std::env::var(AMQP_URL_ENV)
        .unwrap_or_else(|_| DEFAULT_AMQP_URL.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a URL path segment.
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn rabbitmqctl(args: &[&str]) {
    if let Err(error) = run_rabbitmqctl(args) {
        panic!("{error}");
    }
}

fn run_rabbitmqctl(args: &[&str]) -> Result<(), String> {
    let output = Command::new("rabbitmqctl").args(args).output();
    check_output(args, output)
}

async fn rabbitmqctl_async(args: &[&str]) {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .await;
    if let Err(error) = check_output(args, output) {
        panic!("{error}");
    }
}

fn check_output(
    args: &[&str],
    output: std::io::Result<std::process::Output>,
) -> Result<(), String> {
    let command = format!("rabbitmqctl {}", args.join(" "));
    match output {
        Err(error) => Err(format!("cannot run {command}: {error}")),
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "{command} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhost_names_are_url_encoded() {
        assert_eq!(percent_encode("chiffon-test-1"), "chiffon-test-1");
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
    }
}
