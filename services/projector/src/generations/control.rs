//! The pointer to the generation the queries read (`read_models`, `current`) and the two
//! buckets generations live in, in turn (ADR 0032).

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use events::read_model::{
    CONTROL_BUCKET, CURRENT_KEY, Current, FORMAT, GENERATION_KEY, generation_bucket,
};
use futures_util::StreamExt as _;

use super::{READ_MODEL_MAX_BYTES, RETIRE_AFTER};

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
    pub(super) async fn held_in(&self, bucket: &str) -> Option<u64> {
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
    pub(super) async fn delete_bucket(&self, name: &str) -> anyhow::Result<()> {
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
    pub(super) async fn changed_from(&self, generation: u64) -> anyhow::Result<u64> {
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
