//! Appending to and loading from aggregate subjects.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use events::{DomainEvent, EventId};
use serde::Deserialize;

use crate::disconnects::Disconnects;
use crate::log::{AppendContext, AppendError, Appended, EventLog, LoadError, Loaded};
use crate::metrics::StoreMetrics;
use crate::recorded::Recorded;

mod direct;
pub use direct::direct_get_batch;

/// How long one JetStream request (an append's ack, one page of a load) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Events asked for per direct-get request when loading.
const LOAD_PAGE: usize = 256;

const MSG_ID: &str = "Nats-Msg-Id";
const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
const BATCH_ID: &str = "Nats-Batch-Id";
const BATCH_SEQUENCE: &str = "Nats-Batch-Sequence";
const BATCH_COMMIT: &str = "Nats-Batch-Commit";
/// JetStream's error codes for a failed `Nats-Expected-Last-Subject-Sequence` check: with
/// the sequence found, and the constant form a clustered stream answers while other
/// appends to the subject are still being replicated.
const ERR_WRONG_LAST_SEQUENCE: [u64; 2] = [10071, 10164];
/// JetStream's error code for a message get that finds nothing.
const ERR_NO_MESSAGE: u64 = 10037;

/// A handle on the event store; cheap to clone, share one per process.
#[derive(Debug, Clone)]
pub struct EventStore {
    client: Client,
    js: jetstream::Context,
    metrics: StoreMetrics,
    disconnects: Disconnects,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PubAckResponse {
    Err {
        error: ApiError,
    },
    Ok {
        seq: u64,
        #[serde(default)]
        duplicate: bool,
    },
}

impl EventStore {
    pub fn new(client: Client, metrics: StoreMetrics) -> Self {
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .max_ack_inflight(4096)
            // Wait for an ack slot instead of failing under load.
            .backpressure_on_inflight(true)
            .build(client.clone());
        Self {
            client,
            js,
            metrics,
            disconnects: Disconnects::never(),
        }
    }

    /// The same store, whose waits for answers end when `disconnects` reports the
    /// connection lost (then an append is [`AppendError::Unavailable`], to retry).
    pub fn with_disconnects(mut self, disconnects: Disconnects) -> Self {
        self.disconnects = disconnects;
        self
    }

    /// What ends waits on this store's connection when it is lost.
    pub fn disconnects(&self) -> &Disconnects {
        &self.disconnects
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    /// Appends `events` to the aggregate at `subject`, if its version is still `expected`
    /// (0 for a new aggregate). Several events are appended atomically: all or none.
    pub async fn append<E: DomainEvent>(
        &self,
        subject: &str,
        expected: u64,
        events: &[E],
        context: &AppendContext,
    ) -> Result<Appended, AppendError> {
        self.append_at(subject, Some(expected), events, context)
            .await
    }

    async fn append_one(
        &self,
        subject: &str,
        expected: Option<u64>,
        (event_id, mut headers, payload): (EventId, HeaderMap, Bytes),
    ) -> Result<Appended, AppendError> {
        if let Some(expected) = expected {
            headers.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, expected.to_string());
        }
        let ack = self
            .js
            .publish_with_headers(subject.to_owned(), headers, payload)
            .await
            .map_err(|e| AppendError::Unavailable(Box::new(e)))?;
        let ack = self
            .disconnects
            .cut_short(ack.into_future())
            .await
            .map_err(|lost| AppendError::Unavailable(Box::new(lost)))?;
        match ack {
            Ok(ack) => Ok(Appended {
                last_sequence: ack.sequence,
                duplicate: ack.duplicate,
                event_ids: vec![event_id],
            }),
            Err(e) => Err(match e.kind() {
                _ if is_wrong_last_sequence(&e) => AppendError::Conflict {
                    subject: subject.to_owned(),
                    expected: expected.unwrap_or(0),
                },
                PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound
                | PublishErrorKind::MaxAckPending => AppendError::Unavailable(Box::new(e)),
                _ => AppendError::Refused(Box::new(e)),
            }),
        }
    }

    /// Atomic batch publish (JetStream ADR-50): every message carries the batch id and its
    /// position, the last one commits; the server stores all or nothing and acks the commit.
    async fn append_batch(
        &self,
        subject: &str,
        expected: Option<u64>,
        messages: Vec<(EventId, HeaderMap, Bytes)>,
    ) -> Result<Appended, AppendError> {
        let batch_id = uuid::Uuid::new_v4().simple().to_string();
        let count = messages.len();
        let event_ids = messages.iter().map(|(id, _, _)| *id).collect();
        let mut commit = None;
        for (index, (_, mut headers, payload)) in messages.into_iter().enumerate() {
            headers.insert(BATCH_ID, batch_id.as_str());
            headers.insert(BATCH_SEQUENCE, (index + 1).to_string());
            if let (0, Some(expected)) = (index, expected) {
                headers.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, expected.to_string());
            }
            if index + 1 < count {
                self.client
                    .publish_with_headers(subject.to_owned(), headers, payload)
                    .await
                    .map_err(|e| AppendError::Unavailable(Box::new(e)))?;
            } else {
                headers.insert(BATCH_COMMIT, "1");
                commit = Some(self.client.request_with_headers(
                    subject.to_owned(),
                    headers,
                    payload,
                ));
            }
        }
        let request = commit.ok_or_else(|| AppendError::Refused("empty batch".into()))?;
        let reply = self
            .disconnects
            .cut_short(tokio::time::timeout(REQUEST_TIMEOUT, request))
            .await
            .map_err(|lost| AppendError::Unavailable(Box::new(lost)))?
            .map_err(|_| AppendError::Unavailable("timed out waiting for the batch ack".into()))?
            .map_err(|e| AppendError::Unavailable(Box::new(e)))?;
        match serde_json::from_slice::<PubAckResponse>(&reply.payload) {
            Ok(PubAckResponse::Ok { seq, duplicate }) => Ok(Appended {
                last_sequence: seq,
                duplicate,
                event_ids,
            }),
            Ok(PubAckResponse::Err { error })
                if ERR_WRONG_LAST_SEQUENCE.contains(&error.err_code) =>
            {
                Err(AppendError::Conflict {
                    subject: subject.to_owned(),
                    expected: expected.unwrap_or(0),
                })
            }
            Ok(PubAckResponse::Err { error }) => Err(AppendError::Refused(
                format!("{} (code {})", error.description, error.err_code).into(),
            )),
            Err(e) => Err(AppendError::Refused(Box::new(e))),
        }
    }

    /// All events stored on `subject`, in order, and its version.
    pub async fn load<E: DomainEvent>(&self, subject: &str) -> Result<Loaded<E>, LoadError> {
        EventLog::load_after(self, subject, 0).await
    }

    /// One batched direct get: up to [`LOAD_PAGE`] messages of `subject` from `from_seq` on,
    /// from a replica that has stored at least up to `min_last`.
    async fn direct_get_page(
        &self,
        stream: &str,
        subject: &str,
        from_seq: u64,
        min_last: Option<u64>,
    ) -> Result<Vec<(u64, Option<HeaderMap>, Bytes)>, LoadError> {
        self.disconnects
            .cut_short(direct_get_batch(
                &self.client,
                stream,
                subject,
                from_seq,
                LOAD_PAGE,
                min_last,
            ))
            .await
            .map_err(|lost| LoadError::Unavailable(Box::new(lost)))?
    }
}

impl EventStore {
    /// The stream sequence of the last message on `subject`, as the stream's leader knows
    /// it (`None`: no message). A plain message get is answered by the leader only.
    async fn last_sequence_on(
        &self,
        stream: &str,
        subject: &str,
    ) -> Result<Option<u64>, LoadError> {
        #[derive(Deserialize)]
        struct Stored {
            seq: u64,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Reply {
            Err { error: ApiError },
            Ok { message: Stored },
        }
        let unavailable = LoadError::Unavailable;
        let request = serde_json::json!({ "last_by_subj": subject });
        let reply = self
            .disconnects
            .cut_short(tokio::time::timeout(
                REQUEST_TIMEOUT,
                self.client.request(
                    format!("$JS.API.STREAM.MSG.GET.{stream}"),
                    Bytes::from(request.to_string()),
                ),
            ))
            .await
            .map_err(|lost| unavailable(Box::new(lost)))?
            .map_err(|_| unavailable("timed out asking the stream leader".into()))?
            .map_err(|e| unavailable(Box::new(e)))?;
        match serde_json::from_slice::<Reply>(&reply.payload) {
            Ok(Reply::Ok { message }) => Ok(Some(message.seq)),
            Ok(Reply::Err { error }) if error.err_code == ERR_NO_MESSAGE => Ok(None),
            Ok(Reply::Err { error }) => Err(unavailable(
                format!("{} (code {})", error.description, error.err_code).into(),
            )),
            Err(e) => Err(unavailable(Box::new(e))),
        }
    }

    /// The events of `subject` after `after`, paged, from a replica at `min_last` at least.
    async fn load_pages<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
        min_last: Option<u64>,
    ) -> Result<Loaded<E>, LoadError> {
        self.metrics
            .loads
            .get_or_create_owned(&StoreMetrics::stream(E::STREAM))
            .inc();
        let mut loaded = Loaded {
            events: Vec::new(),
            version: after,
        };
        loop {
            let page = self
                .direct_get_page(E::STREAM, subject, loaded.version + 1, min_last)
                .await?;
            let full = page.len() == LOAD_PAGE;
            for (sequence, headers, payload) in page {
                let recorded = Recorded::decode(subject, sequence, headers.as_ref(), &payload)
                    .map_err(|source| LoadError::Undecodable {
                        subject: subject.to_owned(),
                        sequence,
                        source,
                    })?;
                loaded.version = sequence;
                loaded.events.push(recorded);
            }
            if !full {
                return Ok(loaded);
            }
        }
    }
}

/// Whether a publish failed on its expected last subject sequence, in either of the
/// forms JetStream answers (the client names only the first).
fn is_wrong_last_sequence(error: &async_nats::jetstream::context::PublishError) -> bool {
    error.kind() == PublishErrorKind::WrongLastSequence
        || std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<async_nats::jetstream::Error>())
            .is_some_and(|e| ERR_WRONG_LAST_SEQUENCE.contains(&e.error_code().0))
}

impl EventLog for EventStore {
    /// Appends `events` to `subject` if its version is still `expected` (any version
    /// for `None`). Several events are appended atomically: all or none.
    async fn append_at<E: DomainEvent>(
        &self,
        subject: &str,
        expected: Option<u64>,
        events: &[E],
        context: &AppendContext,
    ) -> Result<Appended, AppendError> {
        if events.is_empty() {
            return Ok(Appended {
                last_sequence: expected.unwrap_or(0),
                duplicate: false,
                event_ids: Vec::new(),
            });
        }
        let now = jiff::Timestamp::now();
        let mut messages = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let metadata = context.metadata(index, event, now);
            let event_id = metadata.event_id;
            let mut headers = HeaderMap::new();
            for (name, value) in metadata.to_headers() {
                headers.insert(name, value);
            }
            headers.insert(MSG_ID, event_id.to_string());
            messages.push((event_id, headers, Bytes::from(event.encode()?)));
        }

        let started = Instant::now();
        let result = match <[_; 1]>::try_from(messages) {
            Ok([message]) => self.append_one(subject, expected, message).await,
            Err(messages) => self.append_batch(subject, expected, messages).await,
        };
        self.metrics
            .append_seconds
            .observe(started.elapsed().as_secs_f64());

        let labels = StoreMetrics::stream(E::STREAM);
        match &result {
            Ok(appended) if appended.duplicate => {
                self.metrics.duplicates.get_or_create_owned(&labels).inc();
            }
            Ok(appended) => {
                let count = appended.event_ids.len() as u64;
                self.metrics
                    .appended
                    .get_or_create_owned(&labels)
                    .inc_by(count);
            }
            Err(AppendError::Conflict { .. }) => {
                self.metrics.conflicts.get_or_create_owned(&labels).inc();
            }
            Err(_) => {}
        }
        result
    }

    /// The events of the aggregate at `subject` stored after stream sequence `after`, for
    /// refreshing a cached state. Reads with batched direct gets: one request per
    /// `LOAD_PAGE` (256) events, so a typical aggregate loads in one round trip. Any
    /// replica may answer, the leader or a follower a little behind it.
    async fn load_after<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> Result<Loaded<E>, LoadError> {
        self.load_pages(subject, after, None).await
    }

    /// One request to the stream's leader; nothing is loaded.
    async fn version_consistent<E: DomainEvent>(&self, subject: &str) -> Result<u64, LoadError> {
        Ok(self
            .last_sequence_on(E::STREAM, subject)
            .await?
            .unwrap_or(0))
    }

    /// Asks the stream's leader for the subject's last sequence, then reads up to it from a
    /// replica that has it: one round trip more than a plain load, none when nothing is
    /// new.
    async fn load_after_consistent<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> Result<Loaded<E>, LoadError> {
        match self.last_sequence_on(E::STREAM, subject).await? {
            Some(last) if last > after => self.load_pages(subject, after, Some(last)).await,
            _ => Ok(Loaded {
                events: Vec::new(),
                version: after,
            }),
        }
    }
}
