//! A rebuild: both streams replayed from sequence 1 into a fresh generation, which then
//! becomes the current one in one compare-and-set.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream;

use super::{Control, Running};
use crate::metrics::Metrics;

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct Rebuilt {
    pub generation: u64,
    pub events: u64,
    pub elapsed: Duration,
}

impl Rebuilt {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Replays both streams from sequence 1 into a fresh generation until it has caught up,
/// then points the queries at it. The running projector follows the pointer and deletes
/// the old generation a little later; readers never see a half-built model.
pub async fn rebuild(js: &jetstream::Context, control: &Control) -> anyhow::Result<Rebuilt> {
    control.ensure_current().await?;
    let (current, revision) = control.current().await?.context("no current generation")?;
    let legacy = control.legacy_bucket().await?;
    // The other bucket of the two: it holds an older generation, or nothing.
    let generation = current + 1;
    let bucket = control.create_generation(generation, true).await?;
    tracing::info!(
        from = current,
        to = generation,
        "rebuilding the read models"
    );

    let started = Instant::now();
    let unwatched = (&Metrics::default(), &eventstore::Disconnects::never());
    let mut running = Running::start(js, &bucket, unwatched, true);
    let caught_up = wait_until_caught_up(js, &mut running).await;
    let events = running.events.load(Ordering::Relaxed);
    let stopped = running.stop().await;
    let switched = match caught_up.and(stopped) {
        Ok(()) => control.switch(revision, generation).await,
        Err(e) => Err(e),
    };
    if let Err(e) = switched {
        if let Err(cleanup) = control.delete_generation(generation).await {
            tracing::warn!(
                error = format!("{cleanup:#}"),
                "cannot delete the abandoned generation"
            );
        }
        return Err(e);
    }
    if let Some(legacy) = legacy {
        control.retire_legacy(&legacy);
    }
    let rebuilt = Rebuilt {
        generation,
        events,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        generation,
        events,
        seconds = rebuilt.elapsed.as_secs_f64(),
        events_per_second = rebuilt.events_per_second(),
        "rebuilt the read models"
    );
    Ok(rebuilt)
}

/// Waits until both streams are applied up to their last sequence.
async fn wait_until_caught_up(
    js: &jetstream::Context,
    running: &mut Running,
) -> anyhow::Result<()> {
    loop {
        let mut behind = false;
        for (source, applied) in &running.applied {
            let mut stream = js
                .get_stream(source.stream())
                .await
                .with_context(|| format!("cannot open stream {}", source.stream()))?;
            let last = stream.info().await?.state.last_sequence;
            behind |= applied.load(Ordering::Acquire) < last;
        }
        if !behind {
            return Ok(());
        }
        if let Some(ended) = running.tasks.try_join_next() {
            return Err(match ended {
                Ok(Ok(())) => anyhow::anyhow!("a projection of the rebuild stopped"),
                Ok(Err(e)) => e,
                Err(join) => anyhow::Error::from(join),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
