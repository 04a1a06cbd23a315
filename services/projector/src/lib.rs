//! projector: builds every read model (NATS KV) from the `TABLES` and `BOOKINGS` streams.
//!
//! Rule: reads the event streams and writes only its own KV buckets; it serves nothing but
//! health and metrics, and never appends an event.

use std::net::SocketAddr;

use clap::Parser;
use events::names;
use eventstore::{EventStore, StoreMetrics, StreamSettings};
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
    metrics: StoreMetrics,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut service =
            Service::bind("projector", config.common.clone(), config.http_addr).await?;
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
                        // The projector reads both event streams; creating them here lets it
                        // start before the services that write them.
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

/// Builds and runs the projector until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
