//! booker: the public HTTP gateway of shared/API.md, owner of the `BOOKINGS` stream, home
//! of the Booking aggregate and the booking saga.
//!
//! Rule: the only service that speaks HTTP to the outside and the only writer of
//! `bookings.>`; it reaches tables only through NATS (requests to table-manager, events).

mod access;
mod availability;
mod http;
mod idempotency;
mod outcomes;
mod reads;
mod rules;
mod saga;
mod table_commands;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use events::names;
use eventstore::{ConsumerSpec, Repository};
use service_kit::{CommonConfig, RestaurantConfig, Secret, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::http::{AppState, Backend};
use crate::outcomes::Outcomes;
use crate::reads::ReadModels;
use crate::rules::SlotRules;
use crate::table_commands::TableCommands;
/// Bookings kept in memory (two generations of this many at most).
const BOOKING_CACHE: usize = 100_000;
/// A command meets a newer version at most this many times before giving up.
const MAX_ATTEMPTS: usize = 16;
/// Timeouts are deferred deliveries; restarts add deliveries without any failure.
const TIMEOUT_MAX_DELIVERIES: i64 = 1_000;
/// Bookings waiting for their timeout, each held unacked by the timeout consumer.
const TIMEOUT_MAX_PENDING: i64 = 1_000_000;

/// Where the booker listens unless `HTTP_ADDR` says otherwise.
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8080";

/// Configuration of the booker, from the environment (DESIGN.md) or flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "booker",
    version,
    about = "HTTP gateway of the restaurant booking system"
)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,

    #[command(flatten)]
    pub restaurant: RestaurantConfig,

    /// Address the HTTP API listens on.
    #[arg(long, env = "HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,

    /// Bearer token of the admin routes. Required: the booker refuses to start without it.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, value_parser = Secret::parse)]
    pub admin_token: Secret,

    /// How many days ahead a booking may be made.
    #[arg(long, env = "BOOKING_HORIZON_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub booking_horizon_days: u16,

    /// How long a booking may stay `initiated` before it is rejected with `timeout`.
    #[arg(long, env = "BOOKING_TIMEOUT", default_value = "30s",
          value_parser = service_kit::parse_duration)]
    pub booking_timeout: Duration,
}

/// The booker, bound to its address and ready to run.
#[derive(Debug)]
pub struct App {
    service: Service,
    config: Config,
}

impl App {
    /// Binds the HTTP address (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let service = Service::bind("booker", config.common.clone(), config.http_addr).await?;
        Ok(Self { service, config })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.service.local_addr()
    }

    /// Runs until `shutdown` is cancelled, then stops gracefully.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(config = ?self.config, "starting");
        let config = self.config;
        let state = Arc::new(AppState::new(
            config.admin_token.clone(),
            SlotRules {
                schedule: config.restaurant.slots.clone(),
                zone: config.restaurant.timezone.clone(),
                horizon_days: config.booking_horizon_days,
            },
        ));
        let routes = {
            let state = state.clone();
            move |_ops| http::router(state)
        };
        let timeout = config.booking_timeout;
        // Boxed: the service's whole life is in this future (clippy::large_futures).
        Box::pin(self.service.run(routes, shutdown, move |started| {
            let state = state.clone();
            async move { setup(started, &state, timeout).await }
        }))
        .await
    }
}

/// Creates what the booker needs on NATS (idempotently) and starts its workers.
async fn setup(
    started: service_kit::Started,
    state: &AppState,
    timeout: Duration,
) -> anyhow::Result<JoinSet<anyhow::Result<()>>> {
    // TABLES too: the booking saga consumes it, whoever starts first.
    started
        .ensure_streams(&[
            names::BOOKINGS_STREAM,
            names::TABLES_STREAM,
            names::DEAD_LETTER_STREAM,
        ])
        .await?;
    let idempotency = idempotency::IdempotencyKeys::open(
        started.store.jetstream(),
        started.stream_settings().replicas,
    )
    .await?;
    let saga_consumer = started
        .consumer(ConsumerSpec::new(names::TABLES_STREAM, saga::SAGA_CONSUMER))
        .await?;
    let mut timeout_spec = ConsumerSpec::new(names::BOOKINGS_STREAM, saga::TIMEOUT_CONSUMER);
    timeout_spec.max_deliveries = TIMEOUT_MAX_DELIVERIES;
    timeout_spec.max_ack_pending = TIMEOUT_MAX_PENDING;
    let timeout_consumer = started.consumer(timeout_spec).await?;
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
    let saga = saga::BookingSaga {
        bookings: bookings.clone(),
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
        bookings,
        outcomes,
        idempotency,
        reads,
    });
    Ok(workers)
}

/// Builds and runs the booker until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Box::pin(App::build(config).await?.run(shutdown)).await
}
