//! table-manager: owner of the `TABLES` stream and the Table aggregate; answers the
//! gateway's table commands, runs the table-locking saga and the lock release timers.
//!
//! Rule: the only writer of `tables.>`; it learns about bookings only from the `BOOKINGS`
//! stream and never calls another service.

use std::net::SocketAddr;

use clap::Parser;
use events::names;
use service_kit::{CommonConfig, RestaurantConfig, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8081")]
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
                Ok(JoinSet::new())
            })
            .await
    }
}

/// Builds and runs table-manager until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
