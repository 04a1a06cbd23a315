//! Customers' personal data, sealed per booking (crypto-shredding, ADR 0024).
//!
//! Events and read models keep the customer only sealed with the booking's own data key
//! (crate `sealing`), and the email only as a keyed digest with the server key (lookups
//! find bookings by it). Erasure deletes the data key, so every copy of the sealed
//! customer, in events, read models and dead letters, is unreadable at once. The access
//! code is sealed the same way for the notifier's email (ADR 0031).

use async_nats::jetstream;
use events::{BookingId, Customer};
use sealing::{DataKeys, SealError};

use crate::edge::access::AccessCode;
use crate::edge::keys::Keys;

/// A customer could not be sealed, opened or erased.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("the customers' keys cannot be reached: {0}")]
    Unavailable(#[source] anyhow::Error),
    #[error("a sealed customer or its key is damaged: {0}")]
    Corrupt(String),
}

impl From<SealError> for CustomerError {
    fn from(error: SealError) -> Self {
        match error {
            SealError::Unavailable(cause) => Self::Unavailable(cause),
            SealError::Corrupt(what) => Self::Corrupt(what),
        }
    }
}

/// A customer as events keep it.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// `v1:<nonce hex>:<sealed hex>`.
    pub customer: String,
    /// The keyed digest of the email (hex), for lookups.
    pub email_digest: String,
    /// The access code, sealed the same way: only for the email that tells the guest.
    pub access_code: String,
}

/// The bookings' customers, sealed with their bookings' data keys.
#[derive(Debug, Clone)]
pub struct Customers {
    keys_of_bookings: DataKeys,
    keys: Keys,
}

impl Customers {
    /// Opens the data keys' bucket, creating it if missing.
    pub async fn open(
        client: async_nats::Client,
        js: &jetstream::Context,
        replicas: usize,
        keys: Keys,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            keys_of_bookings: DataKeys::open(client, js, replicas).await?,
            keys,
        })
    }

    /// Seals `customer` of the booking `id`, and its access `code`, with the booking's key,
    /// made now (or, for a retried request, the one made the first time).
    pub async fn seal(
        &self,
        id: BookingId,
        customer: &Customer,
        code: &AccessCode,
    ) -> Result<Sealed, CustomerError> {
        let plain =
            serde_json::to_vec(customer).map_err(|e| CustomerError::Corrupt(e.to_string()))?;
        let sealed = self
            .keys_of_bookings
            .seal(id, &[&plain, code.expose().as_bytes()])
            .await?;
        let [sealed_customer, access_code] = <[String; 2]>::try_from(sealed)
            .map_err(|_| CustomerError::Corrupt("sealing gave the wrong count".to_owned()))?;
        Ok(Sealed {
            customer: sealed_customer,
            email_digest: self.email_digests(&customer.email)[0].clone(),
            access_code,
        })
    }

    /// The customer sealed in `sealed` for the booking `id`; `None` once erased.
    pub async fn open_sealed(
        &self,
        id: BookingId,
        sealed: &str,
    ) -> Result<Option<Customer>, CustomerError> {
        let Some(plain) = self.keys_of_bookings.open_sealed(id, sealed).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| CustomerError::Corrupt(format!("the sealed customer of {id}")))
    }

    /// Deletes the booking's key for good (see [`DataKeys::erase`]).
    pub async fn erase(&self, id: BookingId) -> Result<(), CustomerError> {
        Ok(self.keys_of_bookings.erase(id).await?)
    }

    /// The digests an email may have been found by: with the current server key first,
    /// then with earlier keys, then the plain digest of releases before keyed digests.
    pub fn email_digests(&self, email: &str) -> Vec<String> {
        let normalized = email.trim().to_lowercase();
        self.keys
            .all()
            .map(|key| key.digest("email", normalized.as_bytes()))
            .chain([events::read_model::email_digest(email)])
            .collect()
    }
}
