//! table-manager: owner of the `TABLES` stream, the Table aggregates and the restaurant's
//! combinations of tables; answers the gateway's table and combination commands, runs the table-locking saga and the lock release timers.
//!
//! Rule: the only writer of `tables.>`; it learns about bookings only from the `BOOKINGS`
//! stream and never calls another service.

mod admin;
mod combinations;
mod locking;
mod tables;
mod timers;

use std::sync::Arc;

use events::names;
use eventstore::ConsumerSpec;
use eventstore::snapshots::KvSnapshots;
use prometheus_client::registry::Registry;
use service_kit::{Info, Service, Started, Workers};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use tables::Tables;

/// Configuration of table-manager: the common settings only.
pub type Config = service_kit::Config<TableManager>;

/// table-manager has no settings of its own.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {}

/// table-manager on the service scaffold: the table commands, the locking saga and the
/// lock timers.
#[derive(Debug)]
pub struct TableManager;

impl Service for TableManager {
    const INFO: Info = Info::new("table-manager", 8081, "Tables, locks and lock timers");
    type Settings = Settings;

    fn new(_config: &Config, _registry: &mut Registry) -> Self {
        Self
    }

    async fn start(&self, started: Started) -> anyhow::Result<Workers> {
        let locking = started
            .consumer(ConsumerSpec::new(names::BOOKINGS_STREAM, locking::CONSUMER))
            .await?;
        let timers = ConsumerSpec::timers(names::TABLES_STREAM, timers::CONSUMER);
        let timers = started.consumer(timers).await?;

        let snapshots = KvSnapshots::open(
            started.store.jetstream(),
            names::TABLE_SNAPSHOTS_BUCKET,
            started.stream_settings().replicas,
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the table snapshots: {e}"))?;
        let tables =
            Arc::new(Tables::new(started.store.clone()).with_snapshots(Arc::new(snapshots)));
        let mut workers = JoinSet::new();
        workers.spawn(admin::serve(
            started.client.clone(),
            Arc::new(combinations::Floor::new(tables.clone())),
            started.shutdown.clone(),
        ));
        let saga = locking::LockingSaga {
            tables: tables.clone(),
        };
        started.spawn_consumer(&mut workers, locking, saga);
        started.spawn_consumer(&mut workers, timers, timers::LockTimers { tables });
        Ok(workers)
    }
}

/// table-manager, bound to its address and ready to run.
pub type App = service_kit::App<TableManager>;

/// Builds and runs table-manager until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    service_kit::run::<TableManager>(config, shutdown).await
}
