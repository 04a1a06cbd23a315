//! projector: builds every read model (NATS KV) from the `TABLES` and `BOOKINGS` streams.
//!
//! Rule: reads the event streams and writes only its own KV buckets; it serves nothing but
//! health and metrics, and never appends an event.

pub mod generations;
pub mod metrics;
pub mod model;
pub mod projection;

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use events::names;
use generations::Control;
use metrics::Metrics;
use service_kit::{CommonConfig, RestaurantConfig, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Where the projector listens unless `HTTP_ADDR` says otherwise.
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8082";

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
    #[arg(long, env = "HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of running the service.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Replays both streams from sequence 1 into a fresh generation of the read models,
    /// switches the queries over to it and exits. A running projector follows the switch.
    Rebuild,
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
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(config = ?self.config, "starting");
        let metrics = Metrics::default();
        metrics.register(self.service.registry());
        let routes = |_ops| axum::Router::new();
        self.service
            .run(routes, shutdown, |started| {
                let metrics = metrics.clone();
                async move {
                    // The projector reads both event streams; creating them here lets it
                    // start before the services that write them.
                    started
                        .ensure_streams(&[
                            names::TABLES_STREAM,
                            names::BOOKINGS_STREAM,
                            names::DEAD_LETTER_STREAM,
                        ])
                        .await?;
                    let js = async_nats::jetstream::new(started.client.clone());
                    let control =
                        Control::open(js.clone(), usize::from(started.config.stream_replicas))
                            .await?;
                    control.ensure_current().await?;
                    let mut workers = JoinSet::new();
                    workers.spawn(generations::keep_current(
                        js,
                        control,
                        metrics,
                        started.shutdown.clone(),
                    ));
                    Ok(workers)
                }
            })
            .await
    }
}

/// `projector rebuild`: rebuilds the read models once and reports how fast.
pub async fn rebuild(config: &Config) -> anyhow::Result<generations::Rebuilt> {
    let client = service_kit::nats::options(&config.common, "projector")
        .connect(config.common.nats_url.servers())
        .await
        .with_context(|| format!("cannot connect to NATS at {}", config.common.nats_url))?;
    let js = async_nats::jetstream::new(client.clone());
    let control = Control::open(js.clone(), usize::from(config.common.stream_replicas)).await?;
    let rebuilt = generations::rebuild(&js, &control).await;
    client.drain().await.ok();
    rebuilt
}

/// Builds and runs the projector until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
