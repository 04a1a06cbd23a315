//! The streams of DESIGN.md and their idempotent creation.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use events::names;

/// The most the dead-letter stream holds (1 GiB).
pub const DEAD_LETTERS_MAX_BYTES: i64 = 1024 * 1024 * 1024;

/// Settings shared by every stream a service creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// Replicas per stream: 1 for a single server, 3 for a cluster.
    pub replicas: usize,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop duplicates.
    pub duplicate_window: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            // Long enough to cover every redelivery backoff and client retry of one command;
            // older duplicates are caught by the expected sequence and idempotent decisions.
            duplicate_window: Duration::from_secs(10 * 60),
        }
    }
}

/// A stream could not be created or does not have the shape we need.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot create or read stream {stream}: {source}")]
    Unavailable {
        stream: String,
        #[source]
        source: crate::BoxError,
    },
    #[error("stream {stream} exists with subjects {found:?}, expected {expected:?}")]
    WrongSubjects {
        stream: String,
        found: Vec<String>,
        expected: Vec<String>,
    },
}

/// The configuration of one of our streams, by name (`TABLES`, `BOOKINGS`, `DEAD_LETTERS`).
pub fn stream_config(name: &str, settings: StreamSettings) -> Option<stream::Config> {
    let (subjects, is_event_log, description) = match name {
        names::TABLES_STREAM => (
            names::TABLES_SUBJECTS,
            true,
            "Table aggregates, one subject per table",
        ),
        names::BOOKINGS_STREAM => (
            names::BOOKINGS_SUBJECTS,
            true,
            "Booking aggregates, one subject per booking",
        ),
        names::DEAD_LETTER_STREAM => (
            names::DEAD_LETTER_SUBJECTS,
            false,
            "Messages a consumer could never process",
        ),
        _ => return None,
    };
    Some(stream::Config {
        name: name.to_owned(),
        subjects: vec![subjects.to_owned()],
        storage: stream::StorageType::File,
        num_replicas: settings.replicas,
        duplicate_window: settings.duplicate_window,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::New,
        // The event log is the source of truth: nothing may delete or purge from it.
        deny_delete: is_event_log,
        deny_purge: is_event_log,
        allow_rollup: false,
        // Loading an aggregate reads its subject with (batched) direct gets.
        allow_direct: true,
        // Several events of one command are appended all-or-nothing.
        allow_atomic_publish: is_event_log,
        // Dead letters are kept for inspection, not forever, and within a size: at the
        // limit a message that cannot be processed is redelivered later instead (nothing
        // is lost), and the consumer logs that it cannot dead-letter it.
        max_age: if is_event_log {
            Duration::ZERO
        } else {
            Duration::from_secs(30 * 24 * 3600)
        },
        max_bytes: if is_event_log {
            -1
        } else {
            DEAD_LETTERS_MAX_BYTES
        },
        // Booking events are republished once stored, so a gateway waiting for a booking's
        // outcome hears it from any replica and never hears an append that failed.
        republish: (name == names::BOOKINGS_STREAM).then(|| stream::Republish {
            source: names::BOOKINGS_SUBJECTS.to_owned(),
            destination: names::LIVE_BOOKINGS_SUBJECTS.to_owned(),
            headers_only: false,
        }),
        description: Some(description.to_owned()),
        ..Default::default()
    })
}

/// Creates the named streams if missing (idempotent: any service may start first), and
/// checks that existing ones carry the expected subjects.
pub async fn ensure_streams(
    js: &jetstream::Context,
    names: &[&str],
    settings: StreamSettings,
) -> Result<(), StreamError> {
    for name in names {
        let Some(config) = stream_config(name, settings) else {
            return Err(StreamError::Unavailable {
                stream: (*name).to_owned(),
                source: "not a stream of this system".into(),
            });
        };
        let expected = config.subjects.clone();
        let republish = config.republish.clone();
        let stream = js.get_or_create_stream(config.clone()).await.map_err(|e| {
            StreamError::Unavailable {
                stream: (*name).to_owned(),
                source: Box::new(e),
            }
        })?;
        // The info came with the create/get answer: no second round trip.
        let info = stream.cached_info();
        if info.config.subjects != expected {
            return Err(StreamError::WrongSubjects {
                stream: (*name).to_owned(),
                found: info.config.subjects.clone(),
                expected,
            });
        }
        // A stream made by an older version lacks the republish or the limits: set them.
        // Only ops may change a stream's configuration where the NATS users of deploy/
        // apply (a lowered limit evicts events): there, a service cannot, says so and
        // goes on with the stream as it is.
        let limits = (config.max_bytes, config.max_age);
        if info.config.republish != republish
            || (info.config.max_bytes, info.config.max_age) != limits
        {
            let mut updated = info.config.clone();
            updated.republish = republish;
            (updated.max_bytes, updated.max_age) = limits;
            if let Err(error) = js.update_stream(updated).await {
                tracing::warn!(stream = name, %error,
                    "the stream's settings differ from this release's and cannot be updated \
                     by this NATS user; an operator must update them (docs/operations.md, Upgrading)");
            }
        }
    }
    Ok(())
}

/// Opens a KV bucket, creating it with `config` if it does not exist yet. Safe when several
/// processes start at once: whoever comes second opens the bucket the first one created.
pub async fn key_value(
    js: &jetstream::Context,
    config: jetstream::kv::Config,
) -> Result<jetstream::kv::Store, crate::BoxError> {
    if let Ok(kv) = js.get_key_value(&config.bucket).await {
        return Ok(kv);
    }
    let bucket = config.bucket.clone();
    match js.create_key_value(config).await {
        Ok(kv) => Ok(kv),
        Err(created) => js
            .get_key_value(&bucket)
            .await
            .map_err(|_| crate::BoxError::from(created)),
    }
}
