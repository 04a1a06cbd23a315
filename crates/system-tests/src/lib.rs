//! The whole system under test, in one process: a private nats-server and the booker,
//! table-manager and projector running through their `App`s, started by a typed builder,
//! with helpers to call the API and inspect the streams and read models. The system tests
//! (`tests/`) and the benchmark programs (`crates/bench`) both use it.
//!
//! Rule: tests and benchmarks only; it panics on anything unexpected.

use std::time::Duration;

use events::{BookingEvent, TableEvent};
use eventstore::{EventStore, Recorded, StoreMetrics};
use serde_json::{Value, json};
use service_kit::Spawned;
use testkit::process::wait_for_status;
use testkit::{NatsServer, ServerOptions};

pub const ADMIN: &str = "test-admin-token";

/// How long a service may take to turn ready.
const READY: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct System {
    pub nats: NatsServer,
    pub base: String,
    pub http: reqwest::Client,
    booker: Option<Spawned>,
    table_manager: Option<Spawned>,
    projector: Option<Spawned>,
    pub projector_metrics: String,
    settings: SystemBuilder,
}

/// What to start, and how: `System::builder().booking_timeout(..).start().await`.
#[derive(Debug, Clone)]
pub struct SystemBuilder {
    booking_timeout: Duration,
    horizon_days: u16,
    users: bool,
    projector: bool,
}

impl Default for SystemBuilder {
    fn default() -> Self {
        Self {
            booking_timeout: Duration::from_secs(30),
            horizon_days: 90,
            users: false,
            projector: true,
        }
    }
}

impl SystemBuilder {
    /// The booker's `BOOKING_TIMEOUT` (default 30 s).
    pub fn booking_timeout(mut self, timeout: Duration) -> Self {
        self.booking_timeout = timeout;
        self
    }

    /// The booker's `BOOKING_HORIZON_DAYS` (default 90).
    pub fn horizon_days(mut self, days: u16) -> Self {
        self.horizon_days = days;
        self
    }

    /// Each service connects as its own least-privileged NATS user of deploy/nats/users.conf.
    pub fn nats_users(mut self) -> Self {
        self.users = true;
        self
    }

    /// No projector at start ([`System::start_projector`] starts one later).
    pub fn without_projector(mut self) -> Self {
        self.projector = false;
        self
    }

    /// A private nats-server and the services, each ready.
    pub async fn start(self) -> System {
        let nats = if self.users {
            nats_with_users().await
        } else {
            NatsServer::start().await
        };
        let projector = self.projector;
        let mut system = System {
            nats,
            base: String::new(),
            http: reqwest::Client::new(),
            booker: None,
            table_manager: None,
            projector: None,
            projector_metrics: String::new(),
            settings: self,
        };
        system.start_booker().await;
        system.start_table_manager().await;
        if projector {
            system.start_projector().await;
        }
        system
    }
}

/// The services' NATS users of deploy/nats/users.conf, the variables holding their
/// passwords, and the passwords the tests give them.
pub const USERS: [(&str, &str, &str); 4] = [
    ("booker", "BOOKER_NATS_PASSWORD", "booker-test-password"),
    (
        "table-manager",
        "TABLE_MANAGER_NATS_PASSWORD",
        "table-manager-test-password",
    ),
    (
        "projector",
        "PROJECTOR_NATS_PASSWORD",
        "projector-test-password",
    ),
    ("ops", "OPS_NATS_PASSWORD", "ops-test-password"),
];

pub fn password(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(name, _, _)| *name == user)
        .map(|(_, _, password)| *password)
        .unwrap_or_else(|| panic!("no NATS user {user}"))
}

/// A nats-server with the per-service users and permissions of deploy/.
pub async fn nats_with_users() -> NatsServer {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nats/users.conf");
    NatsServer::start_with(ServerOptions {
        config: Some(config.into()),
        env: USERS
            .iter()
            .map(|(_, variable, password)| ((*variable).to_owned(), (*password).to_owned()))
            .collect(),
        user: Some(("ops".to_owned(), password("ops").to_owned())),
    })
    .await
}

/// Waits until `running` answers `/readyz` with 200.
async fn ready(running: &Spawned) {
    wait_for_status(&format!("{}/readyz", running.base_url()), 200, READY).await;
}

/// Stops a service gracefully and expects a clean exit.
async fn stop(running: Option<Spawned>) {
    if let Some(running) = running {
        running.stop().await.expect("clean shutdown");
    }
}

impl System {
    /// Everything running, with the defaults of [`SystemBuilder`].
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> SystemBuilder {
        SystemBuilder::default()
    }

    /// The command line of `service`: NATS, its user if any, a free port, then `extra`.
    fn args(&self, service: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec![service.to_owned(), "--nats-url".to_owned(), self.nats.url()];
        if self.settings.users {
            args.extend(
                ["--nats-user", service, "--nats-password", password(service)].map(String::from),
            );
        }
        args.extend(["--http-addr", "127.0.0.1:0"].map(String::from));
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    }

    pub fn projector_config(&self) -> projector::Config {
        projector::Config::parse_from(self.args("projector", &[]))
    }

    pub async fn start_projector(&mut self) {
        let app = projector::App::build(self.projector_config())
            .await
            .expect("build projector");
        let running = app.spawn();
        self.projector_metrics = format!("{}/metrics", running.base_url());
        ready(&running).await;
        self.projector = Some(running);
    }

    pub async fn stop_projector(&mut self) {
        stop(self.projector.take()).await;
    }

    /// The running projector, to be killed while the system is in use.
    pub fn take_projector(&mut self) -> Option<Spawned> {
        self.projector.take()
    }

    pub fn booker_config(&self) -> booker::Config {
        let timeout = format!("{}ms", self.settings.booking_timeout.as_millis());
        let horizon = self.settings.horizon_days.to_string();
        let extra = [
            "--admin-token",
            ADMIN,
            "--booking-timeout",
            &timeout,
            "--booking-horizon-days",
            &horizon,
        ];
        booker::Config::parse_from(self.args("booker", &extra))
    }

    pub async fn start_booker(&mut self) {
        let app = booker::App::build(self.booker_config())
            .await
            .expect("build booker");
        let running = app.spawn();
        self.base = running.base_url();
        ready(&running).await;
        self.booker = Some(running);
    }

    pub async fn stop_booker(&mut self) {
        stop(self.booker.take()).await;
    }

    pub async fn start_table_manager(&mut self) {
        let config = table_manager::Config::parse_from(self.args("table-manager", &[]));
        let app = table_manager::App::build(config)
            .await
            .expect("build table-manager");
        let running = app.spawn();
        ready(&running).await;
        self.table_manager = Some(running);
    }

    pub async fn stop_table_manager(&mut self) {
        stop(self.table_manager.take()).await;
    }

    /// Stops every service gracefully; nats-server stays up.
    pub async fn stop_services(&mut self) {
        self.stop_booker().await;
        self.stop_table_manager().await;
        self.stop_projector().await;
    }

    pub async fn stop(mut self) {
        self.stop_services().await;
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("GET")).await
    }

    /// Polls `path` until `done` holds for its answer; the last answer.
    pub async fn wait_for_get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        done: impl Fn(u16, &Value) -> bool,
    ) -> (u16, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get(path, headers).await;
            if done(status, &body) {
                return (status, body);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} never got there: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last sequence stored in a stream.
    pub async fn last_sequence(&self, stream: &str) -> u64 {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut stream = js.get_stream(stream).await.expect("stream");
        stream.info().await.expect("info").state.last_sequence
    }

    /// The projector's `/metrics` text.
    pub async fn projector_metrics(&self) -> String {
        self.http
            .get(&self.projector_metrics)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Waits until the current generation's checkpoints reach the last sequence of both
    /// streams: every event stored so far is in the read models.
    pub async fn wait_until_projected(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut behind = false;
            let bucket = self.current_bucket().await;
            for stream in ["TABLES", "BOOKINGS"] {
                let last = self.last_sequence(stream).await;
                let applied = bucket
                    .get(format!("checkpoint.{stream}"))
                    .await
                    .expect("checkpoint")
                    .map(|bytes| {
                        serde_json::from_slice::<events::read_model::Checkpoint>(&bytes)
                            .expect("checkpoint")
                            .sequence
                    })
                    .unwrap_or(0);
                behind |= applied < last;
            }
            if !behind {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the read models never caught up"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The bucket of the generation the queries read.
    pub async fn current_bucket(&self) -> async_nats::jetstream::kv::Store {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let control = js
            .get_key_value("read_models")
            .await
            .expect("control bucket");
        let current = control
            .get("current")
            .await
            .expect("pointer")
            .expect("a generation");
        let current: events::read_model::Current =
            serde_json::from_slice(&current).expect("pointer");
        js.get_key_value(events::read_model::generation_bucket(current.generation))
            .await
            .expect("generation bucket")
    }

    /// Every document of a generation bucket, by key.
    pub async fn snapshot(
        &self,
        bucket: &async_nats::jetstream::kv::Store,
    ) -> std::collections::BTreeMap<String, Value> {
        use futures_util::TryStreamExt as _;
        let keys: Vec<String> = bucket
            .keys()
            .await
            .expect("keys")
            .try_collect()
            .await
            .expect("keys");
        let mut snapshot = std::collections::BTreeMap::new();
        for key in keys {
            if let Some(value) = bucket.get(&key).await.expect("get") {
                snapshot.insert(key, serde_json::from_slice(&value).expect("json"));
            }
        }
        snapshot
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds a table through the API and expects a 201.
    pub async fn add_table(&self, id: &str, seats: u8) {
        let response = self
            .http
            .post(self.url("/tables"))
            .bearer_auth(ADMIN)
            .json(&json!({"id": id, "seats": seats}))
            .send()
            .await
            .expect("POST /tables");
        assert_eq!(response.status(), 201, "adding table {id}");
    }

    /// Books `table` for `slot`; the status and the JSON body.
    pub async fn book(&self, table: &str, slot: &Slot, people: Option<u8>) -> (u16, Value) {
        let mut body = json!({"tableId": table, "timeSlot": slot.json()});
        if let Some(people) = people {
            body["people"] = json!(people);
        }
        self.post_json("/bookings", &body).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        read(response).await
    }

    /// Cancels a booking (as returned by its POST) with its access code; the status.
    pub async fn cancel(&self, booking: &Value) -> u16 {
        let id = booking["id"].as_str().expect("booking id");
        let code = booking["accessCode"].as_str().expect("access code");
        let path = format!("/bookings/{id}/cancel");
        self.post_json(&path, &json!({"accessCode": code})).await.0
    }

    /// Waits until table-manager has removed a lock of `table`.
    pub async fn wait_for_lock_removal(&self, table: &str) -> Vec<Recorded<TableEvent>> {
        self.wait_for_table(table, |events| {
            events
                .iter()
                .any(|e| e.metadata.event_type == "table-lock-removed")
        })
        .await
    }

    fn store(&self, client: async_nats::Client) -> EventStore {
        EventStore::new(client, StoreMetrics::default())
    }

    pub async fn booking_events(&self, id: &str) -> Vec<Recorded<BookingEvent>> {
        let store = self.store(self.nats.client().await);
        store
            .load::<BookingEvent>(&format!("bookings.{id}"))
            .await
            .expect("load booking")
            .events
    }

    pub async fn table_events(&self, id: &str) -> Vec<Recorded<TableEvent>> {
        let store = self.store(self.nats.client().await);
        store
            .load::<TableEvent>(&format!("tables.{id}"))
            .await
            .expect("load table")
            .events
    }

    /// Messages stored in a stream.
    pub async fn stream_messages(&self, stream: &str) -> u64 {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut stream = js.get_stream(stream).await.expect("stream");
        stream.info().await.expect("info").state.messages
    }

    /// The subjects a stream holds messages on.
    pub async fn stream_subjects(&self, stream: &str) -> Vec<String> {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let stream = js.get_stream(stream).await.expect("stream");
        use futures_util::TryStreamExt as _;
        let pages = stream.info_with_subjects(">").await.expect("info");
        let counted: Vec<(String, usize)> = pages.try_collect().await.expect("subjects");
        let mut subjects: Vec<String> = counted.into_iter().map(|(subject, _)| subject).collect();
        subjects.sort();
        subjects
    }

    /// Every durable consumer's delivery state, to explain a test that timed out.
    pub async fn consumers(&self) -> String {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut report = String::new();
        for name in ["TABLES", "BOOKINGS"] {
            let stream = js.get_stream(name).await.expect("stream");
            use futures_util::StreamExt as _;
            let mut infos = stream.consumers();
            while let Some(info) = infos.next().await {
                let info = info.expect("consumer info");
                report.push_str(&format!(
                    "{name}/{}: delivered {} ack-floor {} pending {} ack-pending {} redelivered {} waiting {}\n",
                    info.name,
                    info.delivered.stream_sequence,
                    info.ack_floor.stream_sequence,
                    info.num_pending,
                    info.num_ack_pending,
                    info.num_redelivered,
                    info.num_waiting,
                ));
            }
        }
        report
    }

    /// Waits until the booking's last event is of type `event_type`.
    pub async fn wait_for_booking(
        &self,
        id: &str,
        event_type: &str,
    ) -> Vec<Recorded<BookingEvent>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.booking_events(id).await;
            if events
                .last()
                .is_some_and(|e| e.metadata.event_type == event_type)
            {
                return events;
            }
            if tokio::time::Instant::now() >= deadline {
                let consumers = self.consumers().await;
                panic!("booking {id} never reached {event_type}: {events:?}\n{consumers}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the table's events satisfy `done`.
    pub async fn wait_for_table(
        &self,
        id: &str,
        done: impl Fn(&[Recorded<TableEvent>]) -> bool,
    ) -> Vec<Recorded<TableEvent>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.table_events(id).await;
            if done(&events) {
                return events;
            }
            if tokio::time::Instant::now() >= deadline {
                let consumers = self.consumers().await;
                panic!("table {id} never got there: {events:?}\n{consumers}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The fields a 400 problem names, in order.
pub fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Status and JSON body (`Null` if there is none).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// One dinner slot of the default schedule, `days` days from now.
#[derive(Debug, Clone)]
pub struct Slot {
    pub from: String,
    pub to: String,
}

impl Slot {
    pub fn dinner(days: i64) -> Self {
        Self::nth(days, 1)
    }

    pub fn lunch(days: i64) -> Self {
        Self::nth(days, 0)
    }

    fn nth(days: i64, index: usize) -> Self {
        let zone = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
        let schedule = domain::SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots");
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(zone.clone())
            .date();
        let day = today
            .checked_add(jiff::Span::new().days(days))
            .expect("date");
        let slot = schedule.slots_on(day, &zone)[index];
        Self {
            from: slot.from().to_string(),
            to: slot.to().to_string(),
        }
    }

    pub fn json(&self) -> Value {
        json!({"from": self.from, "to": self.to})
    }
}

/// Every event a table recorded, as type names.
pub fn types<E>(events: &[Recorded<E>]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e.metadata.event_type.as_str())
        .collect()
}
