//! The processes of the soak: nats-server(s) and the service instances, each killable and
//! restartable on the same ports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use system_tests::Slot;
use testkit::process::{ServiceProcess, free_port, wait_for_status};
use testkit::{NatsCluster, NatsServer};

use crate::check::Folded;
use crate::load::{DAYS, TABLES};

const ADMIN: &str = "soak-admin-token";

pub enum Nats {
    Single(Box<NatsServer>),
    Cluster(NatsCluster),
}

impl Nats {
    pub async fn single() -> Self {
        Self::Single(Box::new(NatsServer::start().await))
    }

    pub async fn cluster(size: usize) -> Self {
        Self::Cluster(NatsCluster::start(size).await)
    }

    pub fn nodes(&self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Cluster(cluster) => cluster.nodes.len(),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Single(server) => server.url(),
            Self::Cluster(cluster) => cluster.url(),
        }
    }

    fn replicas(&self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Cluster(cluster) => cluster.nodes.len(),
        }
    }

    pub fn kill(&mut self, node: usize) {
        match self {
            Self::Single(server) => server.kill(),
            Self::Cluster(cluster) => cluster.nodes[node].kill(),
        }
    }

    pub async fn start_again(&mut self, node: usize) {
        match self {
            Self::Single(server) => server.start_again().await,
            Self::Cluster(cluster) => cluster.nodes[node].start_again().await,
        }
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = match self {
            Self::Single(server) => server.client().await,
            Self::Cluster(cluster) => cluster.client().await,
        };
        async_nats::jetstream::new(client)
    }
}

struct Instance {
    name: String,
    env: Vec<(&'static str, String)>,
    base: String,
    log: PathBuf,
    process: Option<ServiceProcess>,
}

impl Instance {
    fn start(&mut self) {
        let program = std::env::current_exe().expect("the test binary");
        let env: Vec<(&str, String)> = self.env.iter().map(|(k, v)| (*k, v.clone())).collect();
        self.process = Some(ServiceProcess::start_logged(&program, &env, &self.log));
    }
}

pub struct Services {
    instances: Vec<Instance>,
    _logs: tempfile::TempDir,
    http: reqwest::Client,
}

impl Services {
    /// Two bookers, two table-managers and a projector on `nats`, ready.
    pub async fn start(nats: &Nats) -> Self {
        Self::start_roles(
            nats,
            &[("booker", 2), ("table-manager", 2), ("projector", 1)],
            &[],
        )
        .await
    }

    /// `copies` instances of each role on `nats`, with `extra` settings, ready; bookers
    /// first.
    pub async fn start_roles(
        nats: &Nats,
        roles: &[(&str, usize)],
        extra: &[(&'static str, String)],
    ) -> Self {
        let logs = tempfile::tempdir().expect("log dir");
        let mut instances = Vec::new();
        for &(role, copies) in roles {
            for copy in 0..copies {
                let port = free_port();
                let name = format!("{role}-{copy}");
                let mut env = vec![
                    ("SOAK_ROLE", role.to_owned()),
                    ("NATS_URL", nats.url()),
                    ("HTTP_ADDR", format!("127.0.0.1:{port}")),
                    ("STREAM_REPLICAS", nats.replicas().to_string()),
                    ("RUST_LOG", "info".to_owned()),
                ];
                env.extend(extra.iter().cloned());
                if role == "booker" {
                    env.push(("ADMIN_TOKEN", ADMIN.to_owned()));
                    env.push(("ACCESS_CODE_KEY", system_tests::ACCESS_CODE_KEY.to_owned()));
                }
                let log = logs.path().join(format!("{name}.log"));
                let mut instance = Instance {
                    name,
                    env,
                    base: format!("http://127.0.0.1:{port}"),
                    log,
                    process: None,
                };
                instance.start();
                instances.push(instance);
            }
        }
        let services = Self {
            instances,
            _logs: logs,
            http: reqwest::Client::new(),
        };
        services.wait_until_ready().await;
        services
    }

    pub async fn wait_until_ready(&self) {
        for instance in &self.instances {
            wait_for_status(
                &format!("{}/readyz", instance.base),
                200,
                Duration::from_secs(60),
            )
            .await;
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.instances.iter().map(|i| i.name.clone()).collect()
    }

    pub fn bookers(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter(|i| i.name.starts_with("booker"))
            .map(|i| i.base.clone())
            .collect()
    }

    pub fn kill(&mut self, index: usize) {
        if let Some(process) = self.instances[index].process.as_mut() {
            process.kill();
        }
    }

    pub fn restart(&mut self, index: usize) {
        self.instances[index].start();
    }

    /// Sends SIGTERM to instance `index`; how long it took to be gone (at most `limit`,
    /// then it is killed and `None`).
    pub async fn terminate(&mut self, index: usize, limit: Duration) -> Option<Duration> {
        let process = self.instances[index].process.as_mut()?;
        let asked = Instant::now();
        process.terminate();
        while !process.has_exited() {
            if asked.elapsed() > limit {
                process.kill();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Some(asked.elapsed())
    }

    /// Starts instance `index` again; how long until its `/readyz` answered 200 (at most
    /// `limit`, else `None`).
    pub async fn start_until_ready(&mut self, index: usize, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        self.instances[index].start();
        let url = format!("{}/readyz", self.instances[index].base);
        while started.elapsed() <= limit {
            if let Ok(response) = self.http.get(&url).timeout(limit).send().await
                && response.status().as_u16() == 200
            {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Starts again any instance that is not running.
    pub fn ensure_running(&mut self) {
        for instance in &mut self.instances {
            let running = instance.process.as_mut().is_some_and(|p| !p.has_exited());
            if !running {
                instance.start();
            }
        }
    }

    /// Instances that ended on their own (none is stopped but by the chaos).
    pub fn exited(&mut self) -> Vec<String> {
        let mut exited = Vec::new();
        for instance in &mut self.instances {
            if instance
                .process
                .as_mut()
                .is_some_and(ServiceProcess::has_exited)
            {
                exited.push(format!("{} exited on its own", instance.name));
            }
        }
        exited
    }

    pub async fn add_tables(&self, tables: [&str; 6]) {
        for table in tables {
            let body = serde_json::json!({"id": table, "seats": 4});
            self.admin_post("/tables", &body).await;
        }
        // Both table-managers and the read side know them before the load starts.
        self.until_listed("/tables", "tables", tables.len()).await;
    }

    /// Declares `combinations` (id, tables, seats) of tables added before.
    pub async fn add_combinations(&self, combinations: &[(&str, &[&str], u8)]) {
        for (id, tables, seats) in combinations {
            let body = serde_json::json!({"id": id, "tables": tables, "seats": seats});
            self.admin_post("/table-combinations", &body).await;
        }
        self.until_listed("/table-combinations", "combinations", combinations.len())
            .await;
    }

    /// `POST path` with the admin token on the first booker; expects a 201.
    async fn admin_post(&self, path: &str, body: &Value) {
        let base = &self.instances[0].base;
        let response = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
            .await
            .expect("admin POST");
        assert_eq!(response.status().as_u16(), 201, "POST {path} {body}");
    }

    /// Waits (up to 30 s) until `GET path` lists `count` entries under `field`.
    async fn until_listed(&self, path: &str, field: &str, count: usize) {
        let base = &self.instances[0].base;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body: Value = self
                .http
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("GET a list")
                .json()
                .await
                .unwrap_or(Value::Null);
            if body[field].as_array().map(Vec::len) == Some(count) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never listed {count}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where `GET /booking-slots` disagrees with the confirmed bookings, once the read side
    /// had a minute to catch up.
    pub async fn read_side_violations(&self, folded: &Folded) -> Vec<String> {
        let held: BTreeSet<(String, Timestamp)> = folded
            .confirmed()
            .keys()
            .map(|(table, from)| (table.to_string(), *from))
            .collect();
        let base = &self.instances[0].base;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut wrong = Vec::new();
            for days in DAYS {
                let date = &Slot::lunch(days).from[..10];
                let url = format!("{base}/booking-slots?startDate={date}&endDate={date}&people=2");
                let Ok(response) = self.http.get(&url).send().await else {
                    wrong.push(format!("{url}: no answer"));
                    continue;
                };
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let mut offered: BTreeMap<Timestamp, Vec<String>> = BTreeMap::new();
                for slot in body["availabilities"][0]["slots"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let from: Timestamp = slot["startTime"]
                        .as_str()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_default();
                    let tables = slot["availableTables"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect();
                    offered.insert(from, tables);
                }
                for slot in [Slot::lunch(days), Slot::dinner(days)] {
                    let from: Timestamp = slot.from.parse().expect("from");
                    let expected: Vec<String> = TABLES
                        .iter()
                        .filter(|t| !held.contains(&((**t).to_owned(), from)))
                        .map(|t| (*t).to_owned())
                        .collect();
                    let actual = offered.get(&from).cloned().unwrap_or_default();
                    if actual != expected {
                        wrong.push(format!(
                            "{from}: offered {actual:?}, free by the events {expected:?}"
                        ));
                    }
                }
            }
            if wrong.is_empty() || Instant::now() > deadline {
                return wrong;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub fn print_log_tails(&self) {
        for instance in &self.instances {
            let text = std::fs::read_to_string(&instance.log).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            println!(
                "--- {} ({} warnings and errors, last 20)",
                instance.name,
                lines.len()
            );
            for line in lines.iter().rev().take(20).rev() {
                println!("{line}");
            }
        }
    }

    pub fn stop(&mut self) {
        for instance in &mut self.instances {
            if let Some(process) = instance.process.as_mut() {
                process.kill();
            }
        }
    }
}
