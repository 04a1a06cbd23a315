//! projector: builds every read model (NATS KV) from the `TABLES` and `BOOKINGS` streams.
//!
//! Rule: reads the event streams and writes only its own KV buckets; it serves nothing but
//! health and metrics, and never appends an event.

pub mod generations;
pub mod metrics;
pub mod model;
pub mod projection;

use anyhow::Context as _;
use generations::Control;
use metrics::Metrics;
use prometheus_client::registry::Registry;
use service_kit::{Info, Service, Started, Workers};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Configuration of the projector: the common settings and [`Settings`].
pub type Config = service_kit::Config<Projector>;

/// The projector's own settings: what to do instead of running, if anything.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
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

/// The projector on the service scaffold: keeps the current generation of the read
/// models up to date, and reports its lag in its metrics.
#[derive(Debug)]
pub struct Projector {
    metrics: Metrics,
}

impl Service for Projector {
    const INFO: Info = Info::new("projector", 8082, "Read models of the booking system");
    type Settings = Settings;

    fn new(_config: &Config, registry: &mut Registry) -> Self {
        let metrics = Metrics::default();
        metrics.register(registry);
        Self { metrics }
    }

    async fn start(&self, started: Started) -> anyhow::Result<Workers> {
        let js = async_nats::jetstream::new(started.client.clone());
        let control =
            Control::open(js.clone(), usize::from(started.config.stream_replicas)).await?;
        control.ensure_current().await?;
        let mut workers = JoinSet::new();
        workers.spawn(generations::keep_current(
            js,
            control,
            (self.metrics.clone(), started.store.disconnects().clone()),
            started.shutdown.clone(),
        ));
        Ok(workers)
    }
}

/// The projector, bound to its address and ready to run.
pub type App = service_kit::App<Projector>;

/// `projector rebuild`: rebuilds the read models once and reports how fast.
pub async fn rebuild(config: &Config) -> anyhow::Result<generations::Rebuilt> {
    let client = service_kit::nats::options(&config.common, Projector::INFO.name)
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
    service_kit::run::<Projector>(config, shutdown).await
}
