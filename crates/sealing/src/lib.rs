//! Personal data sealed per booking (crypto-shredding, ADR 0024): each booking with
//! personal data gets a data key of its own (32 random bytes) in the bucket
//! `customer_keys`; what must not be stored in clear (the customer, the access code for
//! the email) is kept only sealed with it (AES-256-GCM, the booking id as associated data).
//! Erasure deletes the key with JetStream's secure erase (the stored message is
//! overwritten), so every sealed copy, in events, read models and dead letters, is
//! unreadable at once.
//!
//! Rule: the data keys and the sealing, nothing else; the booker seals and erases, the
//! notifier only opens.

pub mod hex;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use events::BookingId;
use ring::aead;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::hex::{hex, unhex};

/// The bucket of the bookings' data keys.
pub const BUCKET: &str = "customer_keys";
/// How a sealed value begins (the format's version).
const SEALED: &str = "v1:";

/// A value could not be sealed, opened or erased.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the data keys cannot be reached: {0}")]
    Unavailable(#[source] anyhow::Error),
    #[error("a sealed value or its key is damaged: {0}")]
    Corrupt(String),
}

fn unavailable(error: impl Into<anyhow::Error>) -> SealError {
    SealError::Unavailable(error.into())
}

/// The bookings' data keys.
#[derive(Debug, Clone)]
pub struct DataKeys {
    kv: kv::Store,
    js: jetstream::Context,
    client: async_nats::Client,
}

impl DataKeys {
    /// Opens the bucket, creating it if missing (any service may come first).
    pub async fn open(
        client: async_nats::Client,
        js: &jetstream::Context,
        replicas: usize,
    ) -> anyhow::Result<Self> {
        // The bucket's stream, made here rather than by the KV API: a bucket denies
        // deleting single messages, and erasure needs exactly that (a stream's
        // `deny_delete` cannot be lifted later).
        js.get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{BUCKET}"),
            description: Some("One data key per booking's customer; erasure deletes it".to_owned()),
            subjects: vec![format!("$KV.{BUCKET}.>")],
            max_messages_per_subject: 1,
            discard: jetstream::stream::DiscardPolicy::New,
            allow_rollup: true,
            allow_direct: true,
            deny_delete: false,
            deny_purge: false,
            storage: jetstream::stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the {BUCKET} bucket: {e}"))?;
        let kv = js
            .get_key_value(BUCKET)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the {BUCKET} bucket: {e}"))?;
        Ok(Self {
            kv,
            js: js.clone(),
            client,
        })
    }

    /// Seals each of `plains` for the booking `id` with the booking's key, made now (or,
    /// for a retried request, the one made the first time): one key, fetched once.
    pub async fn seal(&self, id: BookingId, plains: &[&[u8]]) -> Result<Vec<String>, SealError> {
        let key = self.key_for_new(id).await?;
        plains
            .iter()
            .map(|plain| seal_with(&key, id, plain))
            .collect()
    }

    /// What `sealed` holds for the booking `id`; `None` once its key is erased.
    pub async fn open_sealed(
        &self,
        id: BookingId,
        sealed: &str,
    ) -> Result<Option<Vec<u8>>, SealError> {
        let Some(key) = self.kv.get(id.to_string()).await.map_err(unavailable)? else {
            return Ok(None);
        };
        open_with(&key, id, sealed).map(Some)
    }

    /// Deletes the booking's key for good: the stored message is overwritten (secure
    /// erase), then the key is purged. Nothing to do for a booking without a key.
    pub async fn erase(&self, id: BookingId) -> Result<(), SealError> {
        let key = id.to_string();
        if let Some(entry) = self.kv.entry(&key).await.map_err(unavailable)?
            && entry.operation == kv::Operation::Put
        {
            let request = serde_json::json!({ "seq": entry.revision }).to_string();
            let reply = self
                .client
                .request(
                    format!("$JS.API.STREAM.MSG.DELETE.KV_{BUCKET}"),
                    Bytes::from(request),
                )
                .await
                .map_err(unavailable)?;
            let answer = String::from_utf8_lossy(&reply.payload);
            if !answer.contains("\"success\":true") && !answer.contains("no message found") {
                return Err(unavailable(anyhow::anyhow!(
                    "the key of {id} was not erased: {answer}"
                )));
            }
        }
        self.kv.purge(&key).await.map_err(unavailable)?;
        Ok(())
    }

    /// The booking's key: made now, or the one a first attempt of this request made.
    /// Made only where the booking never had one: a KV `create` would succeed over an
    /// erased key, so the key is published expecting no message at all on its subject
    /// (one round trip, as a create); an erased booking gets no new key (what would be
    /// sealed for it after its erasure would be readable again).
    async fn key_for_new(&self, id: BookingId) -> Result<Vec<u8>, SealError> {
        let mut key = [0_u8; 32];
        random(&mut key)?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
        let published = async {
            self.js
                .publish_with_headers(
                    format!("$KV.{BUCKET}.{id}"),
                    headers,
                    Bytes::copy_from_slice(&key),
                )
                .await?
                .await
        }
        .await;
        let refusal = match published {
            Ok(_) => return Ok(key.to_vec()),
            Err(refusal) => refusal,
        };
        match self.kv.entry(id.to_string()).await.map_err(unavailable)? {
            Some(entry) if entry.operation == kv::Operation::Put => Ok(entry.value.to_vec()),
            Some(_) => Err(SealError::Corrupt(format!("the key of {id} was erased"))),
            None => Err(unavailable(refusal)),
        }
    }
}

/// `plain` sealed with `key` for the booking `id` (AES-256-GCM, a random nonce, the
/// booking id as associated data): `v1:<nonce hex>:<ciphertext and tag hex>`.
fn seal_with(key: &[u8], id: BookingId, plain: &[u8]) -> Result<String, SealError> {
    let mut nonce = [0_u8; aead::NONCE_LEN];
    random(&mut nonce)?;
    let mut sealed = plain.to_vec();
    aead_key(key)?
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(id.to_string().as_bytes()),
            &mut sealed,
        )
        .map_err(|_| SealError::Corrupt("sealing failed".to_owned()))?;
    Ok(format!("{SEALED}{}:{}", hex(&nonce), hex(&sealed)))
}

/// What `sealed` holds, if it was sealed with `key` for the booking `id` and not changed
/// since; [`SealError::Corrupt`] otherwise.
fn open_with(key: &[u8], id: BookingId, sealed: &str) -> Result<Vec<u8>, SealError> {
    let corrupt = || SealError::Corrupt(format!("a sealed value of {id}"));
    let mut parts = sealed.strip_prefix(SEALED).ok_or_else(corrupt)?.split(':');
    let nonce: [u8; aead::NONCE_LEN] = parts
        .next()
        .and_then(unhex)
        .and_then(|n| n.try_into().ok())
        .ok_or_else(corrupt)?;
    let mut data = parts.next().and_then(unhex).ok_or_else(corrupt)?;
    if parts.next().is_some() {
        return Err(corrupt());
    }
    let plain = aead_key(key)?
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(id.to_string().as_bytes()),
            &mut data,
        )
        .map_err(|_| corrupt())?;
    Ok(plain.to_vec())
}

fn random(bytes: &mut [u8]) -> Result<(), SealError> {
    SystemRandom::new()
        .fill(bytes)
        .map_err(|_| SealError::Corrupt("the OS random generator failed".to_owned()))
}

fn aead_key(key: &[u8]) -> Result<aead::LessSafeKey, SealError> {
    aead::UnboundKey::new(&aead::AES_256_GCM, key)
        .map(aead::LessSafeKey::new)
        .map_err(|_| SealError::Corrupt("a data key is not 32 bytes".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn booking() -> BookingId {
        BookingId::new()
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_for_its_booking() {
        let id = booking();
        let sealed = seal_with(&KEY, id, b"Ada Lovelace").expect("sealed");
        assert!(sealed.starts_with(SEALED), "{sealed}");
        assert!(!sealed.contains("Ada"), "{sealed}");
        assert_eq!(
            open_with(&KEY, id, &sealed).expect("opens"),
            b"Ada Lovelace"
        );
    }

    #[test]
    fn the_same_value_sealed_twice_looks_different() {
        let id = booking();
        let first = seal_with(&KEY, id, b"ada@example.com").expect("sealed");
        let second = seal_with(&KEY, id, b"ada@example.com").expect("sealed");
        assert_ne!(first, second, "a fresh nonce each time");
    }

    #[test]
    fn given_a_box_sealed_for_one_booking_when_opened_for_another_then_it_does_not_open() {
        let sealed = seal_with(&KEY, booking(), b"Ada").expect("sealed");
        let moved = open_with(&KEY, booking(), &sealed);
        assert!(matches!(moved, Err(SealError::Corrupt(_))), "{moved:?}");
    }

    #[test]
    fn given_another_key_when_opened_then_it_does_not_open() {
        let id = booking();
        let sealed = seal_with(&KEY, id, b"Ada").expect("sealed");
        assert!(matches!(
            open_with(&[8; 32], id, &sealed),
            Err(SealError::Corrupt(_))
        ));
    }

    #[test]
    fn a_tampered_box_is_detected_wherever_it_was_changed() {
        let id = booking();
        let sealed = seal_with(&KEY, id, b"Ada Lovelace").expect("sealed");
        for at in SEALED.len()..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            if bytes[at] == b':' {
                continue;
            }
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).expect("hex stays text");
            assert!(
                open_with(&KEY, id, &tampered).is_err(),
                "a change at {at} went unnoticed"
            );
        }
        for broken in ["", "v1:", "v2:00:00", "v1:zz:zz", &format!("{sealed}:00")] {
            assert!(open_with(&KEY, id, broken).is_err(), "{broken:?} opened");
        }
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        assert!(matches!(
            seal_with(&[1; 16], booking(), b"Ada"),
            Err(SealError::Corrupt(_))
        ));
    }
}
