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
        Ok(Self { kv, client })
    }

    /// Seals each of `plains` for the booking `id` with the booking's key, made now (or,
    /// for a retried request, the one made the first time): one key, fetched once.
    pub async fn seal(&self, id: BookingId, plains: &[&[u8]]) -> Result<Vec<String>, SealError> {
        let key = aead_key(&self.key_for_new(id).await?)?;
        plains
            .iter()
            .map(|plain| {
                let mut nonce = [0_u8; aead::NONCE_LEN];
                random(&mut nonce)?;
                let mut sealed = plain.to_vec();
                key.seal_in_place_append_tag(
                    aead::Nonce::assume_unique_for_key(nonce),
                    aead::Aad::from(id.to_string().as_bytes()),
                    &mut sealed,
                )
                .map_err(|_| SealError::Corrupt("sealing failed".to_owned()))?;
                Ok(format!("{SEALED}{}:{}", hex(&nonce), hex(&sealed)))
            })
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
        let corrupt = || SealError::Corrupt(format!("a sealed value of {id}"));
        let mut parts = sealed.strip_prefix(SEALED).ok_or_else(corrupt)?.split(':');
        let nonce: [u8; aead::NONCE_LEN] = parts
            .next()
            .and_then(unhex)
            .and_then(|n| n.try_into().ok())
            .ok_or_else(corrupt)?;
        let mut data = parts.next().and_then(unhex).ok_or_else(corrupt)?;
        let plain = aead_key(&key)?
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(id.to_string().as_bytes()),
                &mut data,
            )
            .map_err(|_| corrupt())?;
        Ok(Some(plain.to_vec()))
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
    async fn key_for_new(&self, id: BookingId) -> Result<Vec<u8>, SealError> {
        let mut key = [0_u8; 32];
        random(&mut key)?;
        match self
            .kv
            .create(id.to_string(), Bytes::copy_from_slice(&key))
            .await
        {
            Ok(_) => Ok(key.to_vec()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => self
                .kv
                .get(id.to_string())
                .await
                .map_err(unavailable)?
                .map(|stored| stored.to_vec())
                .ok_or_else(|| SealError::Corrupt(format!("the key of {id} was erased"))),
            Err(e) => Err(unavailable(e)),
        }
    }
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
