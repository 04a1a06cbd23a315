//! table-manager: owner of the `TABLES` stream and the Table aggregate; answers the
//! gateway's table commands, runs the table-locking saga and the lock release timers.
//!
//! Rule: the only writer of `tables.>`; it learns about bookings only from the `BOOKINGS`
//! stream and never calls another service.

mod admin;
#[cfg(test)]
mod fixtures;
mod locking;
mod tables;
mod timers;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use events::names;
use eventstore::ConsumerSpec;
use service_kit::{CommonConfig, RestaurantConfig, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use tables::Tables;

/// Timers wait for months and are redelivered across restarts: their deliveries are not
/// a sign of failure, so the bound is only a guard against a message that loops.
const TIMER_MAX_DELIVERIES: i64 = 100_000;
/// Locks whose slot has not ended, each held unacked by the timer consumer.
const TIMER_MAX_PENDING: i64 = 1_000_000;

/// Where table-manager listens unless `HTTP_ADDR` says otherwise.
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8081";

/// Configuration of table-manager, from the environment (DESIGN.md) or flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "table-manager",
    version,
    about = "Tables, locks and lock timers"
)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,

    #[command(flatten)]
    pub restaurant: RestaurantConfig,

    /// Address of the health and metrics endpoints.
    #[arg(long, env = "HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,
}

/// table-manager, bound to its address and ready to run.
#[derive(Debug)]
pub struct App {
    service: Service,
    config: Config,
}

impl App {
    /// Binds the HTTP address (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let service =
            Service::bind("table-manager", config.common.clone(), config.http_addr).await?;
        Ok(Self { service, config })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.service.local_addr()
    }

    /// Runs until `shutdown` is cancelled, then stops gracefully.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(config = ?self.config, "starting");
        let routes = |_ops| axum::Router::new();
        self.service
            .run(routes, shutdown, |started| async move {
                // BOOKINGS too: the locking saga consumes it, whoever starts first.
                started
                    .ensure_streams(&[
                        names::TABLES_STREAM,
                        names::BOOKINGS_STREAM,
                        names::DEAD_LETTER_STREAM,
                    ])
                    .await?;
                let locking = started
                    .consumer(ConsumerSpec::new(names::BOOKINGS_STREAM, locking::CONSUMER))
                    .await?;
                let mut timer_spec = ConsumerSpec::new(names::TABLES_STREAM, timers::CONSUMER);
                timer_spec.max_deliveries = TIMER_MAX_DELIVERIES;
                timer_spec.max_ack_pending = TIMER_MAX_PENDING;
                let timers = started.consumer(timer_spec).await?;

                let tables = Arc::new(Tables::new(started.store.clone()));
                let mut workers = JoinSet::new();
                workers.spawn(admin::serve(
                    started.client.clone(),
                    tables.clone(),
                    started.shutdown.clone(),
                ));
                let saga = locking::LockingSaga {
                    tables: tables.clone(),
                };
                started.spawn_consumer(&mut workers, locking, saga);
                started.spawn_consumer(&mut workers, timers, timers::LockTimers { tables });
                Ok(workers)
            })
            .await
    }
}

/// Builds and runs table-manager until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
