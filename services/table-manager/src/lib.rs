//! table-manager: owner of the `TABLES` stream and the Table aggregate; answers the
//! gateway's table commands, runs the table-locking saga and the lock release timers.
//!
//! Rule: the only writer of `tables.>`; it learns about bookings only from the `BOOKINGS`
//! stream and never calls another service.

use std::net::SocketAddr;

use clap::Parser;
use events::names;
use eventstore::{EventStore, StoreMetrics, StreamSettings};
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
    metrics: StoreMetrics,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut service =
            Service::bind("table-manager", config.common.clone(), config.http_addr).await?;
        let metrics = StoreMetrics::default();
        metrics.register(service.registry());
        Ok(Self {
            service,
            config,
            metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.service.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            service,
            config,
            metrics,
        } = self;
        let settings = StreamSettings {
            replicas: usize::from(config.common.stream_replicas),
            ..StreamSettings::default()
        };
        service
            .run(
                |_ops| axum::Router::new(),
                shutdown,
                move |started| {
                    let metrics = metrics.clone();
                    async move {
                        let store = EventStore::new(started.client, metrics);
                        // BOOKINGS too: the locking saga consumes it, whoever starts first.
                        eventstore::ensure_streams(
                            store.jetstream(),
                            &[
                                names::TABLES_STREAM,
                                names::BOOKINGS_STREAM,
                                names::DEAD_LETTER_STREAM,
                            ],
                            settings,
                        )
                        .await?;
                        Ok(JoinSet::new())
                    }
                },
            )
            .await
    }
}

/// Builds and runs table-manager until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
