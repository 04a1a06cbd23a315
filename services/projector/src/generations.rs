//! Generations of the read models: the live one kept up to date, and rebuilds that fill a
//! fresh generation from sequence 1 and then switch the queries over to it in one step, by
//! moving the pointer readers watch (ADR 0009).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use events::read_model::generation_bucket;
use eventstore::{Backoff, Disconnects};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::projection::{Projection, Source};

mod control;
mod rebuild;

pub use control::Control;
pub use rebuild::{Rebuilt, rebuild};

/// How long readers may still use a generation after the switch before it is deleted.
const RETIRE_AFTER: Duration = Duration::from_secs(10);
/// The most one read-model bucket may hold on the server. At the limit writes are refused,
/// the projection waits and retries (`projector_store_full` says so), and the events stay
/// in their streams; a rebuild into a fresh generation starts small again.
pub const READ_MODEL_MAX_BYTES: i64 = 8 * 1024 * 1024 * 1024;
/// Pauses between attempts to project again after a failure (NATS down, a leader change).
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Both streams of one generation being applied.
struct Running {
    stop: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    applied: Vec<(Source, Arc<AtomicU64>)>,
    events: Arc<AtomicU64>,
}

impl Running {
    fn start(
        js: &jetstream::Context,
        bucket: &kv::Store,
        (metrics, disconnects): (&Metrics, &Disconnects),
        fresh: bool,
    ) -> Self {
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut applied = Vec::new();
        let events = Arc::new(AtomicU64::new(0));
        for source in Source::ALL {
            let progress = Arc::new(AtomicU64::new(0));
            applied.push((source, progress.clone()));
            let projection = Projection {
                js: js.clone(),
                bucket: bucket.clone(),
                source,
                metrics: metrics.clone(),
                disconnects: disconnects.clone(),
                applied: progress,
                events: events.clone(),
                fresh,
            };
            tasks.spawn(projection.run(stop.clone()));
        }
        Self {
            stop,
            tasks,
            applied,
            events,
        }
    }

    /// Stops both after the batch in hand; the first error, if any.
    async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        let mut result = Ok(());
        while let Some(ended) = self.tasks.join_next().await {
            let ended = ended.map_err(anyhow::Error::from).and_then(|r| r);
            if let (Err(e), Ok(())) = (ended, &result) {
                result = Err(e);
            }
        }
        result
    }
}

/// Keeps the current generation up to date until `shutdown`, following the pointer when a
/// rebuild moves it, and deleting generations that are no longer read.
pub async fn keep_current(
    js: jetstream::Context,
    control: Control,
    (metrics, disconnects): (Metrics, Disconnects),
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut pauses = Backoff::new(RETRY_FIRST, RETRY_MAX).pauses();
    loop {
        let opened = async {
            let mut generation = control.ensure_current().await?;
            if control.outdated().await? {
                tracing::info!(
                    generation,
                    "the read models are of an older format; rebuilding"
                );
                generation = rebuild(&js, &control).await?.generation;
            }
            let bucket = control
                .current_bucket()
                .await?
                .context("the generation pointer vanished")?;
            anyhow::Ok((generation, bucket))
        };
        let failure = match opened.await {
            Ok((generation, bucket)) => {
                retire_older(&control, generation);
                let watched = (&metrics, &disconnects);
                project(&js, &control, watched, &shutdown, generation, &bucket).await
            }
            Err(error) => Some(error),
        };
        if shutdown.is_cancelled() {
            return failure.map_or(Ok(()), Err);
        }
        match failure {
            None => pauses.reset(),
            Some(error) => {
                tracing::warn!(error = format!("{error:#}"), retry_in = ?pauses.next_delay(),
                    "projection failed; starting again from the checkpoint");
                if !pauses.pause(&shutdown).await {
                    return Ok(());
                }
            }
        }
    }
}

/// Projects into `generation` until the pointer moves (`None`), `shutdown` (`None`), or a
/// failure.
async fn project(
    js: &jetstream::Context,
    control: &Control,
    (metrics, disconnects): (&Metrics, &Disconnects),
    shutdown: &CancellationToken,
    generation: u64,
    bucket: &kv::Store,
) -> Option<anyhow::Error> {
    metrics.reset_applied();
    metrics.set_generation(generation);
    tracing::info!(generation, "projecting into the current generation");
    let mut running = Running::start(js, bucket, (metrics, disconnects), false);
    let failure = tokio::select! {
        () = shutdown.cancelled() => None,
        changed = control.changed_from(generation) => match changed {
            Ok(next) => {
                tracing::info!(from = generation, to = next, "the read models were rebuilt; switching");
                None
            }
            Err(e) => Some(e),
        },
        Some(ended) = running.tasks.join_next() => Some(match ended {
            Ok(Ok(())) => anyhow::anyhow!("a projection stopped on its own"),
            Ok(Err(e)) => e,
            Err(join) => anyhow::Error::from(join),
        }),
    };
    let stopped = running.stop().await;
    failure.or(stopped.err())
}

/// Deletes, a little later, the other bucket (blue or green) if it holds a generation
/// before `current`: a newer one may be a rebuild in progress.
fn retire_older(control: &Control, current: u64) {
    let control = control.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RETIRE_AFTER).await;
        let other = generation_bucket(current + 1);
        match control.held_in(other).await {
            Some(old) if old < current => match control.delete_bucket(other).await {
                Ok(()) => tracing::info!(
                    generation = old,
                    bucket = other,
                    "retired an old read-model generation"
                ),
                Err(e) => tracing::warn!(
                    generation = old,
                    error = format!("{e:#}"),
                    "cannot retire a generation"
                ),
            },
            _ => {}
        }
    });
}
