//! Helpers to drive the real service binaries: free ports, waiting on HTTP endpoints,
//! SIGTERM, and processes that are killed when the test ends.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Polls `url` until it answers with `status`, or panics after `timeout` naming the last
/// answer seen.
pub async fn wait_for_status(url: &str, status: u16, timeout: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.get(url).timeout(Duration::from_secs(2)).send().await {
            Ok(response) if response.status().as_u16() == status => return,
            Ok(response) => format!("status {}", response.status()),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "{url} did not answer {status} within {timeout:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a service binary on `nats_url` with `HTTP_ADDR` on a free loopback port; returns
/// it and its base URL.
fn start_on_free_port(
    binary: &str,
    nats_url: &str,
    env: &[(&str, String)],
) -> (ServiceProcess, String) {
    let (all, base) = on_free_port(nats_url, env);
    (ServiceProcess::start(binary, &all), base)
}

/// `env` plus `NATS_URL` and an `HTTP_ADDR` on a free loopback port; and its base URL.
fn on_free_port<'a>(nats_url: &str, env: &[(&'a str, String)]) -> (Vec<(&'a str, String)>, String) {
    let port = free_port();
    let mut all = vec![
        ("NATS_URL", nats_url.to_owned()),
        ("HTTP_ADDR", format!("127.0.0.1:{port}")),
    ];
    all.extend(env.iter().cloned());
    (all, format!("http://127.0.0.1:{port}"))
}

/// Everything a service binary must do on its own: [`check_binary_lifecycle`] on a fresh
/// nats-server, then [`check_binary_waits_for_nats`] and [`check_binary_stops`].
pub async fn check_binary(binary: &str, env: &[(&str, String)]) {
    let nats = crate::NatsServer::start().await;
    check_binary_lifecycle(binary, &nats.url(), env).await;
    drop(nats);
    check_binary_waits_for_nats(binary, env).await;
    check_binary_stops(binary, env).await;
}

/// The drain time [`check_binary_stops`] gives a service.
const STOP_DRAIN: Duration = Duration::from_secs(5);

/// Checks that SIGTERM stops a service binary within its `DRAIN_TIMEOUT` in every state:
/// while it starts with NATS down, once NATS has gone after it was ready (its consumers
/// retrying), when the readers of its stdout and stderr have gone away, and when nobody
/// reads its stdout (a full pipe) while it logs at the trace level.
pub async fn check_binary_stops(binary: &str, env: &[(&str, String)]) {
    let mut env = env.to_vec();
    env.push(("DRAIN_TIMEOUT", format!("{}s", STOP_DRAIN.as_secs())));
    let mut nats = crate::NatsServer::start().await;

    nats.kill();
    let (mut process, base) = start_on_free_port(binary, &nats.url(), &env);
    wait_for_status(&format!("{base}/healthz"), 200, Duration::from_secs(30)).await;
    stops_in_time(&mut process, binary, "while starting with NATS down").await;

    nats.start_again().await;
    let (mut process, base) = start_on_free_port(binary, &nats.url(), &env);
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    nats.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stops_in_time(&mut process, binary, "with NATS gone after it was ready").await;
    nats.start_again().await;

    let (mut process, base, out) = start_piped(binary, &nats.url(), &env);
    drop(out);
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    stops_in_time(
        &mut process,
        binary,
        "with its stdout and stderr readers gone",
    )
    .await;

    let mut traced = env.clone();
    traced.push(("RUST_LOG", "trace".to_owned()));
    let (mut process, base, _unread) = start_piped(binary, &nats.url(), &traced);
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    for _ in 0..50 {
        wait_for_status(&format!("{base}/metrics"), 200, Duration::from_secs(5)).await;
    }
    stops_in_time(&mut process, binary, "with a stdout nobody reads").await;
}

/// Sends SIGTERM and asserts the process is gone within [`STOP_DRAIN`].
async fn stops_in_time(process: &mut ServiceProcess, binary: &str, state: &str) {
    let asked = Instant::now();
    process.terminate();
    let deadline = asked + STOP_DRAIN;
    while !process.has_exited() {
        assert!(
            Instant::now() < deadline,
            "{binary} still runs {STOP_DRAIN:?} after SIGTERM {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like [`start_on_free_port`], with stdout and stderr going to pipes whose read ends the
/// caller holds (drop them to make every write fail, keep them unread to fill them).
fn start_piped(
    binary: &str,
    nats_url: &str,
    env: &[(&str, String)],
) -> (
    ServiceProcess,
    String,
    (std::process::ChildStdout, std::process::ChildStderr),
) {
    let (all, base) = on_free_port(nats_url, env);
    let mut child = command(std::path::Path::new(binary), &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let out = (
        child.stdout.take().expect("piped stdout"),
        child.stderr.take().expect("piped stderr"),
    );
    (ServiceProcess { child }, base, out)
}

/// Checks the life of a service binary against `nats`: it reads `NATS_URL` and `HTTP_ADDR`
/// (plus `env`) from the environment, answers `/healthz` and then `/readyz` with 200,
/// reports `nats_connected 1` in `/metrics`, and exits 0 soon after SIGTERM.
pub async fn check_binary_lifecycle(binary: &str, nats_url: &str, env: &[(&str, String)]) {
    let (mut process, base) = start_on_free_port(binary, nats_url, env);
    wait_for_status(&format!("{base}/healthz"), 200, Duration::from_secs(30)).await;
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;

    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    let content_type = metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = metrics.text().await.unwrap_or_default();
    assert!(
        content_type.contains("text"),
        "metrics content type: {content_type}"
    );
    assert!(body.contains("nats_connected 1"), "metrics:\n{body}");
    assert!(body.contains("service_ready 1"), "metrics:\n{body}");

    process.terminate();
    let status = process.wait_exit(Duration::from_secs(25)).await;
    assert!(
        status.success(),
        "{binary} exited with {status} after SIGTERM"
    );
}

/// Checks that a service binary started while NATS is down stays alive (`/healthz` 200)
/// but not ready (`/readyz` 503), and becomes ready once NATS is there.
pub async fn check_binary_waits_for_nats(binary: &str, env: &[(&str, String)]) {
    let mut nats = crate::NatsServer::start().await;
    nats.kill();
    let (mut process, base) = start_on_free_port(binary, &nats.url(), env);
    wait_for_status(&format!("{base}/healthz"), 200, Duration::from_secs(30)).await;
    for _ in 0..5 {
        wait_for_status(&format!("{base}/readyz"), 503, Duration::from_secs(1)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    nats.start_again().await;
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    process.terminate();
    let status = process.wait_exit(Duration::from_secs(25)).await;
    assert!(
        status.success(),
        "{binary} exited with {status} after SIGTERM"
    );
}

/// `program` with exactly `env`, plus PATH and RUST_LOG from the test, and no stdin.
fn command(program: &std::path::Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for name in ["PATH", "RUST_LOG"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    command
}

/// A service binary started by a test; killed on drop if still running.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
}

impl ServiceProcess {
    /// Starts `binary` with exactly `env` (plus PATH and RUST_LOG), output inherited so it
    /// shows up in the test's captured output.
    pub fn start(binary: &str, env: &[(&str, String)]) -> Self {
        let child = command(std::path::Path::new(binary), env)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        Self { child }
    }

    /// Starts `program` with exactly `env` (plus PATH and RUST_LOG), its output appended
    /// to `log`.
    pub fn start_logged(
        program: &std::path::Path,
        env: &[(&str, String)],
        log: &std::path::Path,
    ) -> Self {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let child = command(program, env)
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self { child }
    }

    /// Kills the process at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it has exited (on its own: nothing here stops it but `kill` and drop).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM, as a container runtime does on stop.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, or panics after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("wait: {e}"))
            {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
