//! The whole system under test, in one process: a private nats-server and the booker,
//! table-manager and projector (and the notifier, when asked) running through their `App`s, started by a typed builder,
//! with helpers to call the API and inspect the streams and read models. The system tests
//! (`tests/`) and the benchmark programs (`crates/bench`) both use it.
//!
//! Rule: tests and benchmarks only; it panics on anything unexpected.

mod api;
mod inspect;

use std::time::Duration;

use service_kit::Spawned;
use testkit::process::wait_for_status;
use testkit::{NatsServer, ServerOptions};

pub use api::{Slot, fields, read};
pub use inspect::types;

pub const ADMIN: &str = "test-admin-token";
/// The booker's `ACCESS_CODE_KEY` in tests.
pub const ACCESS_CODE_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

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
    notifier: Option<Spawned>,
    pub projector_metrics: String,
    /// The notifier's `/metrics`, once it runs.
    pub notifier_metrics: String,
    settings: SystemBuilder,
}

/// The notifier's settings in a test.
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// `SMTP_URL`, e.g. a `testkit::SmtpServer`'s.
    pub smtp_url: String,
    /// `REMINDER_BEFORE`.
    pub reminder_before: Duration,
}

/// What to start, and how: `System::builder().booking_timeout(..).start().await`.
#[derive(Debug, Clone)]
pub struct SystemBuilder {
    booking_timeout: Duration,
    horizon_days: u16,
    users: bool,
    projector: bool,
    max_payload: Option<usize>,
    idempotency_max_bytes: Option<i64>,
    trusted_proxies: Option<String>,
    notifier: Option<NotifierSettings>,
    notifier_at_start: bool,
}

impl Default for SystemBuilder {
    fn default() -> Self {
        Self {
            booking_timeout: Duration::from_secs(30),
            horizon_days: 90,
            users: false,
            projector: true,
            max_payload: None,
            idempotency_max_bytes: None,
            trusted_proxies: None,
            notifier: None,
            notifier_at_start: true,
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

    /// The booker's `TRUSTED_PROXIES` (`"127.0.0.1"`: the test's `X-Forwarded-For` names
    /// the client).
    pub fn trusted_proxies(mut self, proxies: &str) -> Self {
        self.trusted_proxies = Some(proxies.to_owned());
        self
    }

    /// The booker's `IDEMPOTENCY_MAX_BYTES`.
    pub fn idempotency_max_bytes(mut self, bytes: i64) -> Self {
        self.idempotency_max_bytes = Some(bytes);
        self
    }

    /// A notifier too, sending to `settings.smtp_url`.
    pub fn notifier(mut self, settings: NotifierSettings) -> Self {
        self.notifier = Some(settings);
        self
    }

    /// The notifier's settings, but no notifier at start ([`System::start_notifier`]
    /// starts it later).
    pub fn notifier_started_later(mut self, settings: NotifierSettings) -> Self {
        self.notifier = Some(settings);
        self.notifier_at_start = false;
        self
    }

    /// The server's `max_payload`: the largest message (and read-model document) it
    /// takes, to reach that limit with little traffic.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = Some(bytes);
        self
    }

    /// A private nats-server and the services, each ready.
    pub async fn start(self) -> System {
        let mut options = if self.users {
            users_options()
        } else {
            ServerOptions::default()
        };
        options.max_payload = self.max_payload;
        let nats = NatsServer::start_with(options).await;
        let projector = self.projector;
        let notifier = self.notifier.is_some() && self.notifier_at_start;
        let mut system = System {
            nats,
            base: String::new(),
            http: reqwest::Client::new(),
            booker: None,
            table_manager: None,
            projector: None,
            notifier: None,
            projector_metrics: String::new(),
            notifier_metrics: String::new(),
            settings: self,
        };
        system.start_booker().await;
        system.start_table_manager().await;
        if projector {
            system.start_projector().await;
        }
        if notifier {
            system.start_notifier().await;
        }
        system
    }
}

/// The services' NATS users of deploy/nats/users.conf, the variables holding their
/// passwords, and the passwords the tests give them.
pub const USERS: [(&str, &str, &str); 5] = [
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
    (
        "notifier",
        "NOTIFIER_NATS_PASSWORD",
        "notifier-test-password",
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
    NatsServer::start_with(users_options()).await
}

/// A server with the per-service users of deploy/nats/users.conf.
fn users_options() -> ServerOptions {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nats/users.conf");
    ServerOptions {
        config: Some(config.into()),
        env: USERS
            .iter()
            .map(|(_, variable, password)| ((*variable).to_owned(), (*password).to_owned()))
            .collect(),
        user: Some(("ops".to_owned(), password("ops").to_owned())),
        max_payload: None,
        cluster: None,
    }
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
        let mut extra = vec![
            "--admin-token".to_owned(),
            ADMIN.to_owned(),
            "--access-code-key".to_owned(),
            ACCESS_CODE_KEY.to_owned(),
            "--booking-timeout".to_owned(),
            timeout,
            "--booking-horizon-days".to_owned(),
            horizon,
        ];
        if let Some(bytes) = self.settings.idempotency_max_bytes {
            extra.extend(["--idempotency-max-bytes".to_owned(), bytes.to_string()]);
        }
        if let Some(proxies) = &self.settings.trusted_proxies {
            extra.extend(["--trusted-proxies".to_owned(), proxies.clone()]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
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

    /// Starts the notifier with the builder's [`NotifierSettings`].
    pub async fn start_notifier(&mut self) {
        let settings = self
            .settings
            .notifier
            .clone()
            .expect("the builder names the notifier's settings");
        let before = format!("{}ms", settings.reminder_before.as_millis());
        let extra = [
            "--smtp-url",
            settings.smtp_url.as_str(),
            "--reminder-before",
            before.as_str(),
            "--public-url",
            self.base.as_str(),
        ];
        let config = notifier::Config::parse_from(self.args("notifier", &extra));
        let app = notifier::App::build(config).await.expect("build notifier");
        let running = app.spawn();
        self.notifier_metrics = format!("{}/metrics", running.base_url());
        ready(&running).await;
        self.notifier = Some(running);
    }

    pub async fn stop_notifier(&mut self) {
        stop(self.notifier.take()).await;
    }

    /// Sets the notifier's `REMINDER_BEFORE` for its next start.
    pub fn set_reminder_before(&mut self, before: Duration) {
        if let Some(settings) = self.settings.notifier.as_mut() {
            settings.reminder_before = before;
        }
    }

    /// The running notifier, to be killed while the system is in use.
    pub fn take_notifier(&mut self) -> Option<Spawned> {
        self.notifier.take()
    }

    /// The services that have ended (by a failure: none is stopped without the test
    /// asking), by name.
    pub fn ended(&self) -> Vec<&'static str> {
        [
            ("booker", &self.booker),
            ("table-manager", &self.table_manager),
            ("projector", &self.projector),
            ("notifier", &self.notifier),
        ]
        .into_iter()
        .filter(|(_, service)| service.as_ref().is_some_and(|s| !s.is_running()))
        .map(|(name, _)| name)
        .collect()
    }

    /// Waits until every running service answers `/readyz` with 200.
    pub async fn wait_until_ready(&self) {
        for service in [
            &self.booker,
            &self.table_manager,
            &self.projector,
            &self.notifier,
        ]
        .into_iter()
        .flatten()
        {
            ready(service).await;
        }
    }

    /// Stops every service gracefully; nats-server stays up.
    pub async fn stop_services(&mut self) {
        self.stop_booker().await;
        self.stop_table_manager().await;
        self.stop_projector().await;
        self.stop_notifier().await;
    }

    pub async fn stop(mut self) {
        self.stop_services().await;
    }
}
