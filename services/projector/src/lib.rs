//! projector: builds every read model (NATS KV) from the `TABLES` and `BOOKINGS` streams.
//!
//! Rule: reads the event streams and writes only its own KV buckets; it serves nothing but
//! health and metrics, and never appends an event.

use std::net::SocketAddr;

use clap::Parser;
use events::names;
use service_kit::{CommonConfig, RestaurantConfig, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Configuration of the projector, from the environment (DESIGN.md) or flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "projector",
    version,
    about = "Read models of the booking system"
)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,

    #[command(flatten)]
    pub restaurant: RestaurantConfig,

    /// Address of the health and metrics endpoints.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8082")]
    pub http_addr: SocketAddr,
}

/// The projector, bound to its address and ready to run.
#[derive(Debug)]
pub struct App {
    service: Service,
    config: Config,
}

impl App {
    /// Binds the HTTP address (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let service = Service::bind("projector", config.common.clone(), config.http_addr).await?;
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
                // The projector reads both event streams; creating them here lets it
                // start before the services that write them.
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

/// Builds and runs the projector until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
