//! `Idempotency-Key`: a retried request with the same key gets the same booking.
//!
//! The first request with a key claims it in a KV bucket, atomically (KV `create`), with
//! the booking id it will use, a fingerprint of the request and the access code it hands
//! out, so that a retry after a lost response can answer with the same code. Entries live
//! 24 hours (ADR 0007).

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use events::BookingId;
use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

use crate::access::{AccessCode, RandomUnavailable, hex};

/// The KV bucket of claimed keys.
pub const BUCKET: &str = "booker_idempotency";
/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The booking a key stands for.
#[derive(Debug)]
pub struct Claim {
    pub booking_id: BookingId,
    pub access_code: AccessCode,
}

impl Claim {
    /// A new booking id and access code.
    pub fn fresh() -> Result<Self, RandomUnavailable> {
        Ok(Self {
            booking_id: BookingId::new(),
            access_code: AccessCode::generate()?,
        })
    }
}

/// A key could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was used for another request.
    #[error("the Idempotency-Key was used with a different request")]
    Mismatch,
    /// The bucket has reached its limit (`IDEMPOTENCY_MAX_BYTES`): nothing was written.
    #[error("the idempotency bucket is full: {0}")]
    Full(#[source] BoxError),
    /// The bucket cannot be reached (or the key expired between two calls): retry.
    #[error("the idempotency bucket is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    #[error("undecodable idempotency record: {0}")]
    Corrupt(#[source] serde_json::Error),
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    booking_id: BookingId,
    fingerprint: String,
    access_code: String,
}

/// Whether a write failed because the bucket reached its limit.
fn is_full(error: &dyn std::error::Error) -> bool {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    eventstore::limit_reached(&text)
}

/// Claimed idempotency keys.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    kv: kv::Store,
}

impl IdempotencyKeys {
    /// Opens the bucket, creating it if missing (any replica may come first), with at most
    /// `max_bytes` of records (an existing bucket takes the new limit).
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        max_bytes: i64,
    ) -> anyhow::Result<Self> {
        let kv = eventstore::key_value(
            js,
            kv::Config {
                bucket: BUCKET.to_owned(),
                description: "Idempotency-Key claims of booking requests".to_owned(),
                history: 1,
                max_age: KEY_TTL,
                max_bytes,
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the {BUCKET} bucket: {e}"))?;
        let mut stream = kv.stream.clone();
        let info = stream
            .info()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the {BUCKET} bucket: {e}"))?;
        if info.config.max_bytes != max_bytes {
            let mut config = info.config.clone();
            config.max_bytes = max_bytes;
            js.update_stream(config)
                .await
                .map_err(|e| anyhow::anyhow!("cannot set the {BUCKET} bucket's limit: {e}"))?;
        }
        Ok(Self { kv })
    }

    /// The booking for `key`: a fresh one if the key is new, the earlier one if the key
    /// was used for the same request, and a refusal if it was used for another request.
    pub async fn claim(&self, key: &str, fingerprint: &str) -> Result<Claim, IdempotencyError> {
        // KV keys allow few characters: the key's digest stands for it.
        let entry = hex(digest(&SHA256, key.as_bytes()).as_ref());
        let fresh = Claim::fresh()?;
        let record = Record {
            booking_id: fresh.booking_id,
            fingerprint: fingerprint.to_owned(),
            access_code: fresh.access_code.expose().to_owned(),
        };
        let value = serde_json::to_vec(&record).map_err(IdempotencyError::Corrupt)?;
        match self.kv.create(&entry, value.into()).await {
            Ok(_) => return Ok(fresh),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) if is_full(&e) => return Err(IdempotencyError::Full(Box::new(e))),
            Err(e) => return Err(IdempotencyError::Unavailable(Box::new(e))),
        }
        let stored = self
            .kv
            .get(&entry)
            .await
            .map_err(|e| IdempotencyError::Unavailable(Box::new(e)))?;
        let Some(stored) = stored else {
            // Expired between the two calls: the caller may simply retry.
            return Err(IdempotencyError::Unavailable(
                "the key expired while it was read".into(),
            ));
        };
        let earlier: Record = serde_json::from_slice(&stored).map_err(IdempotencyError::Corrupt)?;
        if earlier.fingerprint != fingerprint {
            return Err(IdempotencyError::Mismatch);
        }
        Ok(Claim {
            booking_id: earlier.booking_id,
            access_code: AccessCode::from_stored(earlier.access_code),
        })
    }
}
