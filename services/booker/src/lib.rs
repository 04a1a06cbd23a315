//! booker: the public HTTP gateway of docs/contract/API.md, owner of the `BOOKINGS` stream, home
//! of the Booking aggregate and the booking saga.
//!
//! Rule: the only service that speaks HTTP to the outside and the only writer of
//! `bookings.>`; it reaches tables only through NATS (requests to table-manager, events).
//!
//! Its rooms, each importing only those below it:
//!
//! - `http`: the edge of API.md, a file per resource; parses, calls one use case, maps
//!   its error.
//! - `use_cases`: book, change and cancel (lookup and erase still in `http`), each a function
//!   over the parts it needs, tested given/when/then on the in-memory log.
//! - `saga`: the booking saga and the timeouts, consumers of `TABLES` and `BOOKINGS`.
//! - `seating`: slot rules, availability, assignment and its claims, the floor.
//! - `adapters`: NATS: read models, outcomes, table commands, customers, known tables.
//! - `edge`: access codes, server keys, guessing limits, idempotency, client address.

mod adapters;
mod edge;
mod http;
mod saga;
mod seating;
mod use_cases;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use domain::SlotSchedule;
use events::names;
use eventstore::{ConsumerSpec, Repository};
use jiff::tz::TimeZone;
use prometheus_client::registry::Registry;
use service_kit::{Info, Secret, Service, Started, Workers};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::adapters::known_tables::KnownTables;
use crate::adapters::outcomes::Outcomes;
use crate::adapters::reads::ReadModels;
use crate::adapters::table_commands::TableCommands;
use crate::edge::client_address::TrustedProxies;
use crate::edge::guard::Guard;
use crate::edge::keys::{Keys, ServerKey};
use crate::http::{AppState, Backend};
use crate::seating::assignment::{Claims, FloorSeating};
use crate::seating::rules::SlotRules;

/// Bookings kept in memory (two generations of this many at most).
const BOOKING_CACHE: usize = 100_000;
/// An admin token shorter than this is warned about at start.
const MIN_ADMIN_TOKEN: usize = 24;
/// A command meets a newer version at most this many times before giving up.
const MAX_ATTEMPTS: usize = 16;

/// Configuration of the booker: the common settings and [`Settings`].
pub type Config = service_kit::Config<Booker>;

/// The booker's own settings, from the environment (DESIGN.md) or flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// IANA time zone of the restaurant; slots are local times in it.
    #[arg(long, env = "RESTAURANT_TIMEZONE", default_value = "Europe/Paris",
          value_parser = seating::rules::parse_timezone)]
    pub timezone: TimeZone,

    /// Daily slots as local `HH:MM-HH:MM`, comma-separated.
    #[arg(long, env = "SLOTS", default_value = "12:00-14:00,19:00-21:00",
          value_parser = SlotSchedule::parse)]
    pub slots: SlotSchedule,

    /// Bearer token of the admin routes. Required: the booker refuses to start without it.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, value_parser = Secret::parse)]
    pub admin_token: Secret,

    /// Server secret for keyed digests (at least 32 bytes, hex or base64). Required: the
    /// booker refuses to start without it.
    #[arg(long, env = "ACCESS_CODE_KEY", hide_env_values = true, value_parser = ServerKey::parse)]
    pub access_code_key: ServerKey,

    /// Earlier values of `ACCESS_CODE_KEY`, comma-separated: codes digested with them
    /// still match after a rotation (keep each until the slots of its bookings ended).
    #[arg(long, env = "ACCESS_CODE_PREVIOUS_KEYS", hide_env_values = true,
          value_delimiter = ',', value_parser = ServerKey::parse)]
    pub access_code_previous_keys: Vec<ServerKey>,

    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR networks,
    /// comma-separated); empty: the peer address is the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "",
          value_parser = TrustedProxies::parse)]
    pub trusted_proxies: TrustedProxies,

    /// How many days ahead a booking may be made.
    #[arg(long, env = "BOOKING_HORIZON_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub booking_horizon_days: u16,

    /// How long a booking may stay `initiated` before it is rejected with `timeout`.
    #[arg(long, env = "BOOKING_TIMEOUT", default_value = "30s",
          value_parser = service_kit::parse_duration)]
    pub booking_timeout: Duration,

    /// The most the Idempotency-Key records may take on the server, in bytes; a keyed
    /// request that would go over answers 503 and writes nothing.
    #[arg(long, env = "IDEMPOTENCY_MAX_BYTES", default_value_t = 256 * 1024 * 1024,
          value_parser = clap::value_parser!(i64).range(1024..))]
    pub idempotency_max_bytes: i64,
}

/// The booker on the service scaffold: the API's routes, and once NATS is there the
/// booking saga, the timeouts, the outcome listener and the read models.
#[derive(Debug)]
pub struct Booker {
    state: Arc<AppState>,
    timeout: Duration,
    idempotency_max_bytes: i64,
}

impl Service for Booker {
    const INFO: Info = Info::new("booker", 8080, "HTTP gateway of the booking system");
    type Settings = Settings;

    fn new(config: &Config, registry: &mut Registry) -> Self {
        let own = &config.own;
        if own.admin_token.expose().chars().count() < MIN_ADMIN_TOKEN {
            // Refusing would stop deployments that run today; saying it is the least.
            tracing::warn!(
                "ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN} characters: guessing it is limited \
                 to ten wrong tries a minute per client, but make a long one with \
                 `openssl rand -hex 32`"
            );
        }
        let rules = SlotRules {
            schedule: own.slots.clone(),
            zone: own.timezone.clone(),
            horizon_days: own.booking_horizon_days,
        };
        let keys = Keys::new(
            own.access_code_key.clone(),
            own.access_code_previous_keys.clone(),
        );
        let state = AppState::new(
            own.admin_token.clone(),
            rules,
            own.trusted_proxies.clone(),
            keys,
        );
        registry.register(
            "booker_limit_refusals",
            "Requests answered 503 because a store reached its limit, by store",
            state.limit_refusals.clone(),
        );
        Self {
            state: Arc::new(state),
            timeout: own.booking_timeout,
            idempotency_max_bytes: own.idempotency_max_bytes,
        }
    }

    fn routes(&self) -> Router {
        http::router(self.state.clone())
    }

    async fn start(&self, started: Started) -> anyhow::Result<Workers> {
        Box::pin(setup(started, self)).await
    }
}

/// The booker, bound to its address and ready to run.
pub type App = service_kit::App<Booker>;

/// Creates what the booker needs on NATS (idempotently) and starts its workers.
async fn setup(started: Started, booker: &Booker) -> anyhow::Result<Workers> {
    let (state, timeout) = (&booker.state, booker.timeout);
    let idempotency = edge::idempotency::IdempotencyKeys::open(
        started.store.jetstream(),
        started.stream_settings().replicas,
        booker.idempotency_max_bytes,
    )
    .await?;
    let guard = Guard::open(
        started.client.clone(),
        started.store.jetstream().clone(),
        state.keys.current().clone(),
        started.stream_settings().replicas,
    )
    .await?;
    let customers = adapters::customers::Customers::open(
        started.client.clone(),
        started.store.jetstream(),
        started.stream_settings().replicas,
        state.keys.clone(),
    )
    .await?;
    let saga_consumer = started
        // The saga changes bookings: in order per booking (the correlation id), not per
        // table subject, so the shared subject of unknown tables is no queue of one.
        .consumer(
            ConsumerSpec::new(names::TABLES_STREAM, saga::SAGA_CONSUMER)
                .ordered_by_header(names::headers::CORRELATION_ID),
        )
        .await?;
    let timeout_consumer = started
        .consumer(ConsumerSpec::timers(
            names::BOOKINGS_STREAM,
            saga::TIMEOUT_CONSUMER,
        ))
        .await?;
    let subscriber = Outcomes::subscribe(&started.client).await?;
    let reads = ReadModels::open(
        started.store.jetstream().clone(),
        started.stream_settings().replicas,
    )
    .await?;

    let bookings = Arc::new(Repository::new(
        started.store.clone(),
        BOOKING_CACHE,
        MAX_ATTEMPTS,
    ));
    let outcomes = Arc::new(Outcomes::default());
    let mut workers = JoinSet::new();
    workers.spawn(
        outcomes
            .clone()
            .listen(subscriber, started.shutdown.clone()),
    );
    workers.spawn(reads.clone().follow(started.shutdown.clone()));
    // A booking is decided within its timeout; its lock shows soon after.
    let claims = Arc::new(Claims::new(timeout + Duration::from_secs(10)));
    let saga = saga::BookingSaga {
        bookings: bookings.clone(),
        seating: FloorSeating {
            reads: reads.clone(),
            claims: claims.clone(),
        },
    };
    started.spawn_consumer(&mut workers, saga_consumer, saga);
    let timeouts = saga::Timeouts {
        bookings: bookings.clone(),
        timeout,
    };
    started.spawn_consumer(&mut workers, timeout_consumer, timeouts);
    // Set once: a setup that failed earlier never got this far.
    let _ = state.backend.set(Backend {
        tables: TableCommands::new(started.client.clone()),
        // A booking is decided within its timeout; its lock shows soon after.
        claims: claims.clone(),
        known_tables: KnownTables::new(started.store.clone()),
        guard,
        customers,
        bookings,
        outcomes,
        idempotency,
        reads,
    });
    Ok(workers)
}

/// Builds and runs the booker until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    service_kit::run::<Booker>(config, shutdown).await
}
