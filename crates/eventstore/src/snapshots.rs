//! Snapshots of aggregate states, so that a cold load reads a snapshot and the events
//! after it instead of the whole history (ADR 0018).
//!
//! A snapshot is the state folded up to a version (the stream sequence of its last event),
//! kept under the aggregate's subject in a store of the service's own (a KV bucket no other
//! service's user may touch). It is only ever a shortcut: one that cannot be read, is of
//! another format, or whose version is not an event of the aggregate (a stream made anew)
//! is ignored and the history is read from the start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::BoxError;

/// Format of the snapshot envelope; another format is ignored.
const FORMAT: u32 = 1;

/// Where snapshots are kept, by key: NATS KV, or memory in tests.
pub trait SnapshotStore: Send + Sync + 'static {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BoxError>>;
    fn save<'a>(&'a self, key: &'a str, snapshot: Bytes) -> BoxFuture<'a, Result<(), BoxError>>;
}

/// Snapshots in a KV bucket (one revision per key).
#[derive(Debug, Clone)]
pub struct KvSnapshots {
    bucket: kv::Store,
}

impl KvSnapshots {
    /// Opens the bucket `name`, creating it if missing.
    pub async fn open(
        js: &jetstream::Context,
        name: &str,
        replicas: usize,
    ) -> Result<Self, BoxError> {
        let bucket = crate::key_value(
            js,
            kv::Config {
                bucket: name.to_owned(),
                description: "Snapshots of aggregate states: a shortcut for cold loads".to_owned(),
                history: 1,
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            },
        )
        .await?;
        Ok(Self { bucket })
    }
}

impl SnapshotStore for KvSnapshots {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BoxError>> {
        Box::pin(async move { Ok(self.bucket.get(key).await?) })
    }

    fn save<'a>(&'a self, key: &'a str, snapshot: Bytes) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.bucket.put(key, snapshot).await?;
            Ok(())
        })
    }
}

/// Snapshots in memory, for tests.
#[derive(Debug, Default, Clone)]
pub struct MemorySnapshots {
    stored: Arc<Mutex<HashMap<String, Bytes>>>,
}

impl MemorySnapshots {
    /// How many snapshots are kept.
    pub fn len(&self) -> usize {
        self.stored.lock().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces a snapshot's bytes, as a corrupted or foreign store would.
    pub fn overwrite(&self, key: &str, bytes: &[u8]) {
        if let Ok(mut stored) = self.stored.lock() {
            stored.insert(key.to_owned(), Bytes::copy_from_slice(bytes));
        }
    }
}

impl SnapshotStore for MemorySnapshots {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BoxError>> {
        let found = self.stored.lock().ok().and_then(|s| s.get(key).cloned());
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(&'a self, key: &'a str, snapshot: Bytes) -> BoxFuture<'a, Result<(), BoxError>> {
        if let Ok(mut stored) = self.stored.lock() {
            stored.insert(key.to_owned(), snapshot);
        }
        Box::pin(async { Ok(()) })
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<S> {
    format: u32,
    version: u64,
    state: S,
}

/// How a repository snapshots its aggregates: where, how often, and the codec of their
/// state (kept as plain functions so the repository needs no serde bounds).
pub(crate) struct Snapshotting<A> {
    store: Arc<dyn SnapshotStore>,
    /// A snapshot is taken once this many events were folded since the last one.
    pub(crate) every: u64,
    encode: fn(&A, u64) -> Option<Bytes>,
    decode: fn(&[u8]) -> Option<(A, u64)>,
}

impl<A: Serialize + DeserializeOwned> Snapshotting<A> {
    pub(crate) fn new(store: Arc<dyn SnapshotStore>, every: u64) -> Self {
        Self {
            store,
            every: every.max(1),
            encode: |state, version| {
                let envelope = Envelope {
                    format: FORMAT,
                    version,
                    state,
                };
                serde_json::to_vec(&envelope).ok().map(Bytes::from)
            },
            decode: |bytes| {
                let envelope: Envelope<A> = serde_json::from_slice(bytes).ok()?;
                (envelope.format == FORMAT && envelope.version > 0)
                    .then_some((envelope.state, envelope.version))
            },
        }
    }
}

impl<A> Snapshotting<A> {
    /// The snapshot kept under `key`, if there is a readable one.
    pub(crate) async fn restore(&self, key: &str) -> Option<(A, u64)> {
        match self.store.load(key).await {
            Ok(Some(bytes)) => {
                let decoded = (self.decode)(&bytes);
                if decoded.is_none() {
                    tracing::warn!(key, "unreadable snapshot ignored; reading the history");
                }
                decoded
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(key, %error, "cannot read a snapshot; reading the history");
                None
            }
        }
    }

    /// Keeps `state` at `version` under `key`. A failure only costs a longer cold load.
    pub(crate) async fn save(&self, key: &str, state: &A, version: u64) {
        let Some(bytes) = (self.encode)(state, version) else {
            return;
        };
        if let Err(error) = self.store.save(key, bytes).await {
            tracing::warn!(key, %error, "cannot save a snapshot");
        }
    }
}
