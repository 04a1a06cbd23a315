//! Access to the read models the projector keeps in NATS KV. Follows the pointer to the
//! current generation, so a rebuild switches every query over at once (ADR 0009).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use events::read_model::{CONTROL_BUCKET, CURRENT_KEY, Current, Key};
use eventstore::{Backoff, Pauses};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

/// Documents read per request when listing a key prefix.
const LIST_PAGE: usize = 256;
/// Pauses between attempts to watch the generation pointer again.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// A read-model document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No projector has created the read models yet.
    #[error("no read model yet: the projector has not started")]
    NotReady,
    #[error("cannot read {key} of the read model: {source}")]
    Unavailable {
        key: String,
        #[source]
        source: async_nats::jetstream::kv::EntryError,
    },
    #[error("cannot list {prefix}* of the read model: {source}")]
    ListUnavailable {
        prefix: String,
        #[source]
        source: eventstore::LoadError,
    },
    #[error("undecodable read-model document {key}: {source}")]
    Undecodable {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The current generation's bucket, once the projector has made one.
#[derive(Debug)]
pub struct ReadModels {
    js: jetstream::Context,
    control: kv::Store,
    current: RwLock<Option<(Current, kv::Store)>>,
}

impl ReadModels {
    /// Opens the control bucket (creating it if the projector has not yet) and the
    /// current generation, if there is one.
    pub async fn open(js: jetstream::Context, replicas: usize) -> anyhow::Result<Arc<Self>> {
        let control = eventstore::key_value(
            &js,
            kv::Config {
                bucket: CONTROL_BUCKET.to_owned(),
                description: "Which generation of the read models the queries read".to_owned(),
                history: 1,
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the {CONTROL_BUCKET} bucket: {e}"))?;
        let models = Arc::new(Self {
            js,
            control,
            current: RwLock::new(None),
        });
        if let Some(entry) = models
            .control
            .entry(CURRENT_KEY)
            .await
            .context("cannot read the current generation")?
        {
            models.switch(&entry).await?;
        }
        Ok(models)
    }

    /// Follows the pointer until `shutdown`. Rides out NATS restarts and leader changes:
    /// a watch that fails is opened again (it starts with the pointer's current value, so
    /// no switch is missed), after a pause that grows up to a few seconds.
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut pauses = Backoff::new(RETRY_FIRST, RETRY_MAX).pauses();
        loop {
            let error = match self.watch(&shutdown, &mut pauses).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            tracing::warn!(error = format!("{error:#}"), retry_in = ?pauses.next_delay(),
                "watching the generation pointer failed; watching again");
            if !pauses.pause(&shutdown).await {
                return Ok(());
            }
        }
    }

    /// One watch of the pointer, until `shutdown` (`Ok`) or a failure.
    async fn watch(&self, shutdown: &CancellationToken, pauses: &mut Pauses) -> anyhow::Result<()> {
        let mut watch = self
            .control
            .watch_with_history(CURRENT_KEY)
            .await
            .context("cannot watch the generation pointer")?;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                entry = watch.next() => {
                    let entry = entry
                        .context("the watch of the generation pointer ended")?
                        .context("watching the generation pointer failed")?;
                    self.switch(&entry).await?;
                    pauses.reset();
                }
            }
        }
    }

    async fn switch(&self, entry: &kv::Entry) -> anyhow::Result<()> {
        if entry.operation != kv::Operation::Put {
            return Ok(());
        }
        let pointer: Current =
            serde_json::from_slice(&entry.value).context("undecodable generation pointer")?;
        let generation = pointer.generation;
        let known = self
            .current
            .read()
            .ok()
            .and_then(|current| current.as_ref().map(|(known, _)| *known));
        // The whole pointer: the same generation number in another format is another bucket.
        if known == Some(pointer) {
            return Ok(());
        }
        let bucket = self
            .js
            .get_key_value(pointer.bucket())
            .await
            .with_context(|| format!("cannot open read-model generation {generation}"))?;
        if let Ok(mut current) = self.current.write() {
            *current = Some((pointer, bucket));
        }
        tracing::info!(generation, "reading the read models of a new generation");
        Ok(())
    }

    /// The generation read now, once a projector has made one.
    pub fn generation(&self) -> Option<u64> {
        self.current
            .read()
            .ok()
            .and_then(|current| current.as_ref().map(|(pointer, _)| pointer.generation))
    }

    /// The last sequence of `stream` (what the read side is measured against).
    pub async fn last_sequence(&self, name: &str) -> anyhow::Result<u64> {
        let mut stream = self
            .js
            .get_stream(name)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the {name} stream: {e}"))?;
        let info = stream
            .info()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the {name} stream's state: {e}"))?;
        Ok(info.state.last_sequence)
    }

    /// Whether the generation read now has the availability index ([`Key::Busy`]); one
    /// built by an earlier release has only the day documents.
    pub fn has_busy_index(&self) -> bool {
        self.current
            .read()
            .ok()
            .and_then(|current| {
                current
                    .as_ref()
                    .map(|(pointer, _)| pointer.has_busy_index())
            })
            .unwrap_or(false)
    }

    fn bucket(&self) -> Result<kv::Store, ReadError> {
        // A writer that panicked left a pointer that is still whole: read it anyway.
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .map(|(_, bucket)| bucket.clone())
            .ok_or(ReadError::NotReady)
    }

    /// The documents whose keys start with `prefix`, with the rest of their keys; read in
    /// pages of [`LIST_PAGE`] with batched direct gets.
    pub async fn list<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, ReadError> {
        let bucket = self.bucket()?;
        let subjects = format!("{}{prefix}", bucket.prefix);
        let filter = format!("{subjects}*");
        let client = self.js.client();
        let mut found = Vec::new();
        let mut from = 1;
        loop {
            let page = eventstore::direct_get_batch(
                &client,
                &bucket.stream_name,
                &filter,
                from,
                LIST_PAGE,
                None,
            )
            .await
            .map_err(|source| ReadError::ListUnavailable {
                prefix: prefix.to_owned(),
                source,
            })?;
            let full = page.len() == LIST_PAGE;
            for (sequence, headers, payload) in page {
                from = sequence + 1;
                let header = |name: &str| {
                    headers
                        .as_ref()
                        .and_then(|h| h.get(name))
                        .map(|v| v.as_str().to_owned())
                };
                // A deleted or purged key leaves a marker, not a document.
                if header("KV-Operation").is_some() {
                    continue;
                }
                let Some(rest) = header("Nats-Subject")
                    .and_then(|subject| subject.strip_prefix(&subjects).map(str::to_owned))
                else {
                    continue;
                };
                let document =
                    serde_json::from_slice(&payload).map_err(|source| ReadError::Undecodable {
                        key: format!("{prefix}{rest}"),
                        source,
                    })?;
                found.push((rest, document));
            }
            if !full {
                return Ok(found);
            }
        }
    }

    /// The document stored under `key`, if any.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, ReadError> {
        let bucket = self.bucket()?;
        let name = key.name();
        let stored = match bucket.get(&name).await {
            Ok(stored) => stored,
            Err(source) => return Err(ReadError::Unavailable { key: name, source }),
        };
        stored
            .map(|bytes| serde_json::from_slice(&bytes))
            .transpose()
            .map_err(|source| ReadError::Undecodable { key: name, source })
    }
}
