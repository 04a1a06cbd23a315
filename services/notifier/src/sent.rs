//! Which emails were sent: one record per email, keyed by the event it answers (and for a
//! reminder by the booking and slot), in the bucket `notifier_sent`. An email with a record
//! is not sent again, whatever is redelivered or restarted. Records expire after
//! [`KEEP`]: long after any redelivery.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;

/// The bucket of the sent records.
pub const BUCKET: &str = "notifier_sent";
/// How long a record is kept.
pub const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// What became of an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The mail server took it.
    Sent,
    /// The mail server refused it for good (5xx), or it could not be made.
    Refused,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Refused => "refused",
        }
    }
}

/// The sent records.
#[derive(Debug, Clone)]
pub struct SentRecords {
    kv: kv::Store,
}

impl SentRecords {
    /// Opens the bucket, creating it if missing.
    pub async fn open(js: &jetstream::Context, replicas: usize) -> anyhow::Result<Self> {
        let kv = eventstore::key_value(
            js,
            kv::Config {
                bucket: BUCKET.to_owned(),
                description: "Emails the notifier sent, by the event they answer".to_owned(),
                history: 1,
                max_age: KEEP,
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the {BUCKET} bucket: {e}"))?;
        Ok(Self { kv })
    }

    /// What became of the email `key`, if it was decided.
    pub async fn outcome(&self, key: &str) -> anyhow::Result<Option<String>> {
        let entry = self
            .kv
            .get(key)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the sent record {key}: {e}"))?;
        Ok(entry.map(|value| String::from_utf8_lossy(&value).into_owned()))
    }

    /// Records what became of the email `key`.
    pub async fn record(&self, key: &str, outcome: Outcome) -> anyhow::Result<()> {
        self.kv
            .put(key, Bytes::from_static(outcome.name().as_bytes()))
            .await
            .map_err(|e| anyhow::anyhow!("cannot write the sent record {key}: {e}"))?;
        Ok(())
    }
}
