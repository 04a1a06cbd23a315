//! `Idempotency-Key`: a retried request with the same key gets the same booking.
//!
//! The first request with a key claims it in a KV bucket, atomically (KV `create`), with
//! the booking id it will use, a fingerprint of the request and the access code it hands
//! out, so that a retry after a lost response can answer with the same code. Entries live
//! 24 hours (ADR 0007). Nothing in a record is in clear (ADR 0023): the fingerprint is an
//! HMAC with the server key, and the code is sealed (AES-256-GCM) with a key derived from
//! the server key and the Idempotency-Key itself, which only the client holds. Records of
//! earlier releases (plain SHA-256 fingerprint, code in clear) are still honoured.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use events::BookingId;
use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

use ring::aead;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::edge::access::{AccessCode, RandomUnavailable};
use crate::edge::keys::{Keys, ServerKey};
use sealing::hex::{hex, unhex};

/// Hex SHA-256 of a canonical request: the fingerprint records of earlier releases hold.
pub fn legacy_fingerprint(canonical: &str) -> String {
    hex(digest(&SHA256, canonical.as_bytes()).as_ref())
}

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
    /// `hmac-sha256:<key id>:<hex>`, or the plain SHA-256 hex of earlier releases.
    fingerprint: String,
    /// `<key id>:<nonce hex>:<sealed hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_code: Option<String>,
    /// In clear, as earlier releases kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_code: Option<String>,
}

const KEYED: &str = "hmac-sha256:";

fn keyed_fingerprint(key: &ServerKey, canonical: &str) -> String {
    let digest = key.digest("idempotency/fingerprint", canonical.as_bytes());
    format!("{KEYED}{}:{digest}", key.id())
}

/// Whether `stored` is the fingerprint of the request `canonical`.
fn same_request(keys: &Keys, stored: &str, canonical: &str) -> bool {
    match stored.strip_prefix(KEYED) {
        None => stored == legacy_fingerprint(canonical),
        Some(keyed) => keyed
            .split_once(':')
            .and_then(|(id, _)| keys.by_id(id))
            .is_some_and(|key| keyed_fingerprint(key, canonical) == stored),
    }
}

/// The AEAD key of one Idempotency-Key's record.
fn sealing_key(key: &ServerKey, idempotency_key: &str) -> aead::LessSafeKey {
    let material = key.derive("idempotency/code", idempotency_key.as_bytes());
    // 32 bytes is AES-256's key length: this cannot fail.
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, &material)
        .unwrap_or_else(|_| unreachable!("AES-256 takes 32-byte keys"));
    aead::LessSafeKey::new(unbound)
}

fn seal(key: &ServerKey, idempotency_key: &str, code: &str) -> Result<String, RandomUnavailable> {
    let mut nonce = [0_u8; aead::NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| RandomUnavailable)?;
    let mut sealed = code.as_bytes().to_vec();
    sealing_key(key, idempotency_key)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut sealed,
        )
        .map_err(|_| RandomUnavailable)?;
    Ok(format!("{}:{}:{}", key.id(), hex(&nonce), hex(&sealed)))
}

fn open(keys: &Keys, idempotency_key: &str, sealed: &str) -> Option<String> {
    let mut parts = sealed.split(':');
    let (id, nonce, data) = (parts.next()?, parts.next()?, parts.next()?);
    let key = keys.by_id(id)?;
    let nonce: [u8; aead::NONCE_LEN] = unhex(nonce)?.try_into().ok()?;
    let mut data = unhex(data)?;
    let plain = sealing_key(key, idempotency_key)
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut data,
        )
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
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
    pub async fn claim(
        &self,
        key: &str,
        canonical: &str,
        keys: &Keys,
    ) -> Result<Claim, IdempotencyError> {
        // KV keys allow few characters: the key's digest stands for it.
        let entry = hex(digest(&SHA256, key.as_bytes()).as_ref());
        let fresh = Claim::fresh()?;
        let record = Record {
            booking_id: fresh.booking_id,
            fingerprint: keyed_fingerprint(keys.current(), canonical),
            sealed_code: Some(seal(keys.current(), key, fresh.access_code.expose())?),
            access_code: None,
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
        if !same_request(keys, &earlier.fingerprint, canonical) {
            return Err(IdempotencyError::Mismatch);
        }
        let code = match (&earlier.sealed_code, earlier.access_code) {
            (Some(sealed), _) => open(keys, key, sealed),
            (None, clear) => clear,
        };
        let code = code.ok_or_else(|| {
            IdempotencyError::Unavailable(
                "the record's code cannot be opened with these keys".into(),
            )
        })?;
        Ok(Claim {
            booking_id: earlier.booking_id,
            access_code: AccessCode::from_stored(code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: &str) -> ServerKey {
        ServerKey::parse(&byte.repeat(32)).expect("key")
    }

    const REQUEST: &str = r#"{"tableId":"t1","customer":["Ada","ada@example.com"]}"#;

    #[test]
    fn a_sealed_code_opens_only_with_its_idempotency_key_and_a_key_that_made_it() {
        let keys = Keys::new(key("01"), vec![]);
        let sealed = seal(keys.current(), "key-1", "K7QX2").expect("sealed");
        assert!(!sealed.contains("K7QX2"));
        assert_eq!(open(&keys, "key-1", &sealed).as_deref(), Some("K7QX2"));
        assert_eq!(open(&keys, "key-2", &sealed), None);
        assert_eq!(open(&Keys::new(key("02"), vec![]), "key-1", &sealed), None);
        let rotated = Keys::new(key("02"), vec![key("01")]);
        assert_eq!(open(&rotated, "key-1", &sealed).as_deref(), Some("K7QX2"));
        assert_ne!(
            seal(keys.current(), "key-1", "K7QX2").expect("again"),
            sealed
        );
    }

    #[test]
    fn fingerprints_are_keyed_and_earlier_plain_ones_are_still_recognised() {
        let keys = Keys::new(key("01"), vec![]);
        let keyed = keyed_fingerprint(keys.current(), REQUEST);
        assert!(keyed.starts_with("hmac-sha256:"));
        assert!(!keyed.contains(&legacy_fingerprint(REQUEST)));
        assert!(same_request(&keys, &keyed, REQUEST));
        assert!(!same_request(&keys, &keyed, "{}"));
        assert!(same_request(&keys, &legacy_fingerprint(REQUEST), REQUEST));
        assert!(!same_request(
            &Keys::new(key("02"), vec![]),
            &keyed,
            REQUEST
        ));
    }

    #[test]
    fn a_record_of_an_earlier_release_with_the_code_in_clear_is_read() {
        let raw = r#"{"bookingId":"0193f0b4-7c1e-7000-8000-000000000001","fingerprint":"ab","accessCode":"K7QX2"}"#;
        let record: Record = serde_json::from_str(raw).expect("record");
        assert_eq!(record.access_code.as_deref(), Some("K7QX2"));
        assert!(record.sealed_code.is_none());
    }
}
