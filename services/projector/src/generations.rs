//! Generations of the read models: the live one kept up to date, and rebuilds that fill a
//! fresh generation from sequence 1 and then switch the queries over to it in one step, by
//! moving the pointer readers watch (ADR 0009).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use events::read_model::{
    CONTROL_BUCKET, CURRENT_KEY, Current, FORMAT, GENERATION_KEY, generation_bucket,
};
use eventstore::{Backoff, Disconnects};
use futures_util::StreamExt as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::projection::{Projection, Source};

mod rebuild;

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

/// The pointer to the current generation, and the generation buckets.
#[derive(Debug, Clone)]
pub struct Control {
    js: jetstream::Context,
    kv: kv::Store,
    replicas: usize,
}

impl Control {
    /// Opens the control bucket, creating it if missing.
    pub async fn open(js: jetstream::Context, replicas: usize) -> anyhow::Result<Self> {
        let kv = open_or_create(
            &js,
            CONTROL_BUCKET,
            "Which generation of the read models the queries read",
            replicas,
        )
        .await?;
        Ok(Self { js, kv, replicas })
    }

    /// The current generation and the pointer's revision; `None` before the first start.
    pub async fn current(&self) -> anyhow::Result<Option<(u64, u64)>> {
        Ok(self
            .pointer()
            .await?
            .map(|(current, revision)| (current.generation, revision)))
    }

    /// The pointer to the current generation and its revision; `None` before the first
    /// start.
    async fn pointer(&self) -> anyhow::Result<Option<(Current, u64)>> {
        let Some(entry) = self
            .kv
            .entry(CURRENT_KEY)
            .await
            .context("cannot read the current generation")?
        else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let current: Current =
            serde_json::from_slice(&entry.value).context("undecodable generation pointer")?;
        Ok(Some((current, entry.revision)))
    }

    /// Whether the current generation was built in a format older than this release's
    /// ([`events::read_model::FORMAT`]): then it is rebuilt before it is projected into.
    pub async fn outdated(&self) -> anyhow::Result<bool> {
        Ok(self
            .pointer()
            .await?
            .is_some_and(|(current, _)| current.format < FORMAT))
    }

    /// The current generation, making generation 1 current on the very first start.
    pub async fn ensure_current(&self) -> anyhow::Result<u64> {
        if let Some((generation, _)) = self.current().await? {
            return Ok(generation);
        }
        self.create_generation(1, false).await?;
        let value = serde_json::to_vec(&Current::new(1))?;
        match self.kv.create(CURRENT_KEY, value.into()).await {
            Ok(_) => Ok(1),
            // Another projector came first; its choice stands.
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => self
                .current()
                .await?
                .map(|(generation, _)| generation)
                .context("the generation pointer vanished"),
            Err(e) => Err(e).context("cannot set the current generation"),
        }
    }

    /// The bucket of a generation (blue or green, [`generation_bucket`]), holding its
    /// number; with `empty`, whatever the bucket held before (an older generation, an
    /// interrupted rebuild) is deleted first.
    pub async fn create_generation(
        &self,
        generation: u64,
        empty: bool,
    ) -> anyhow::Result<kv::Store> {
        let name = generation_bucket(generation);
        if empty {
            self.delete_bucket(name).await?;
        }
        let bucket = open_or_create(
            &self.js,
            name,
            "Read models (one generation)",
            self.replicas,
        )
        .await?;
        bucket
            .put(GENERATION_KEY, generation.to_string().into())
            .await
            .with_context(|| format!("cannot mark {name} as generation {generation}"))?;
        Ok(bucket)
    }

    /// The bucket of the generation the queries read; `None` before the first start.
    pub async fn current_bucket(&self) -> anyhow::Result<Option<kv::Store>> {
        match self.pointer().await? {
            Some((current, _)) => {
                let name = current.bucket();
                let bucket = self
                    .js
                    .get_key_value(&name)
                    .await
                    .with_context(|| format!("cannot open the read models in {name}"))?;
                Ok(Some(bucket))
            }
            None => Ok(None),
        }
    }

    /// The generation held in `bucket` (`None`: not marked, or no such bucket).
    async fn held_in(&self, bucket: &str) -> Option<u64> {
        let store = self.js.get_key_value(bucket).await.ok()?;
        let value = store.get(GENERATION_KEY).await.ok()??;
        std::str::from_utf8(&value).ok()?.parse().ok()
    }

    /// Deletes the bucket of a generation if it still holds that generation.
    pub async fn delete_generation(&self, generation: u64) -> anyhow::Result<()> {
        let name = generation_bucket(generation);
        if self.held_in(name).await == Some(generation) {
            self.delete_bucket(name).await?;
        }
        Ok(())
    }

    /// The bucket of the current generation when a release before format 3 wrote it
    /// (`read_model_g<N>`).
    pub async fn legacy_bucket(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .pointer()
            .await?
            .filter(|(current, _)| current.format < 3)
            .map(|(current, _)| current.bucket()))
    }

    /// Deletes, a little later (readers follow the pointer first), the generation bucket
    /// an earlier release wrote. The projector's NATS user in deploy/ may touch its two
    /// buckets only: there the deletion is refused and left to ops, as the log says.
    pub fn retire_legacy(&self, name: &str) {
        let (control, name) = (self.clone(), name.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(RETIRE_AFTER).await;
            match control.delete_bucket(&name).await {
                Ok(()) => tracing::info!(
                    bucket = name,
                    "retired the read models of an earlier release"
                ),
                Err(error) => tracing::warn!(
                    bucket = name,
                    error = format!("{error:#}"),
                    "cannot delete the read models of an earlier release (nothing reads them \
                     any more); delete the bucket as ops: nats kv del {name}"
                ),
            }
        });
    }

    /// Deletes a bucket, if it exists.
    async fn delete_bucket(&self, name: &str) -> anyhow::Result<()> {
        if self.js.get_key_value(name).await.is_err() {
            return Ok(());
        }
        self.js
            .delete_key_value(name)
            .await
            .with_context(|| format!("cannot delete {name}"))?;
        Ok(())
    }

    /// Points the queries at `generation`, if the pointer is still at `revision`.
    pub async fn switch(&self, revision: u64, generation: u64) -> anyhow::Result<()> {
        let value = serde_json::to_vec(&Current::new(generation))?;
        self.kv
            .update(CURRENT_KEY, value.into(), revision)
            .await
            .context("the current generation changed during the rebuild")?;
        Ok(())
    }

    /// Waits until the pointer names a generation other than `generation`.
    async fn changed_from(&self, generation: u64) -> anyhow::Result<u64> {
        let mut watch = self
            .kv
            .watch_with_history(CURRENT_KEY)
            .await
            .context("cannot watch the generation pointer")?;
        while let Some(entry) = watch.next().await {
            let entry = entry.context("watching the generation pointer failed")?;
            if entry.operation != kv::Operation::Put {
                continue;
            }
            if let Ok(current) = serde_json::from_slice::<Current>(&entry.value)
                && current.generation != generation
            {
                return Ok(current.generation);
            }
        }
        anyhow::bail!("the watch of the generation pointer ended")
    }
}

async fn open_or_create(
    js: &jetstream::Context,
    bucket: &str,
    description: &str,
    replicas: usize,
) -> anyhow::Result<kv::Store> {
    eventstore::key_value(
        js,
        kv::Config {
            bucket: bucket.to_owned(),
            description: description.to_owned(),
            history: 1,
            max_bytes: READ_MODEL_MAX_BYTES,
            storage: jetstream::stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot open the {bucket} bucket: {e}"))
}

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
