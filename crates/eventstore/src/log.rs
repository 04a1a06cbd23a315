//! The seam between the code that runs commands and where events are kept: a small
//! event-log trait, with the JetStream store and an in-memory log behind it, and the
//! append contexts that say why an append happens.

use std::future::Future;

use events::{
    AggregateId, CausationId, CommandId, CorrelationId, DecodeError, DomainEvent, EncodeError,
    EventId, Metadata, StepName,
};
use jiff::Timestamp;

use crate::BoxError;
use crate::recorded::Recorded;

/// Why an append happens: identifies the command (for dedup ids) and its saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendContext {
    pub command_id: CommandId,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
}

impl AppendContext {
    /// A saga step `step` caused by a recorded event: the same event redelivered always
    /// gives the same command id (so JetStream drops the second append), the correlation
    /// id carries over and the event is the cause.
    pub fn caused_by(step: impl Into<StepName>, cause: &Metadata) -> Self {
        Self::caused_by_event(step, cause.event_id, cause.correlation_id)
    }

    /// [`caused_by`](Self::caused_by) for a step that knows only the id of the event it
    /// follows (the one it appended itself a moment ago).
    pub fn caused_by_event(
        step: impl Into<StepName>,
        cause: EventId,
        correlation: CorrelationId,
    ) -> Self {
        Self {
            command_id: CommandId::caused_by(step.into().as_str(), cause),
            correlation_id: correlation,
            causation_id: cause.into(),
        }
    }

    /// A request that carries its own id (a table command, a booking made over HTTP): a
    /// retry of the same request gives the same command id. `correlation` is the saga the
    /// request belongs to.
    pub fn for_request(
        step: impl Into<StepName>,
        request: uuid::Uuid,
        correlation: CorrelationId,
    ) -> Self {
        Self {
            command_id: CommandId::caused_by(step.into().as_str(), EventId::from_uuid(request)),
            correlation_id: correlation,
            causation_id: CausationId::from_uuid(request),
        }
    }

    /// A command that is never retried as the same command (each call is new), in the saga
    /// `correlation`: its id is random, `kind` only labels it (and so may be any name).
    pub fn unique(step: &str, correlation: CorrelationId) -> Self {
        Self {
            command_id: CommandId::unique(step),
            correlation_id: correlation,
            causation_id: CausationId::new(),
        }
    }

    /// The metadata of the `index`-th event this context appends, at `now`.
    pub fn metadata<E: DomainEvent>(&self, index: usize, event: &E, now: Timestamp) -> Metadata {
        Metadata {
            event_id: self.command_id.event_id(index),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            occurred_at: now,
        }
    }
}

/// The result of a successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Stream sequence of the last event: the aggregate's new version. For a duplicate,
    /// the sequence of the copy stored earlier.
    pub last_sequence: u64,
    /// JetStream had already stored these events (same `Nats-Msg-Id`); nothing was added.
    pub duplicate: bool,
    /// Ids of the appended events, in order.
    pub event_ids: Vec<EventId>,
}

/// An append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The aggregate is no longer at the expected version: reload and decide again.
    #[error("{subject} is no longer at version {expected}")]
    Conflict { subject: String, expected: u64 },
    /// NATS did not answer in time or is unreachable. The append may or may not have been
    /// stored; retrying the same command is safe (deduplicated).
    #[error("event store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// JetStream answered with an error other than a conflict.
    #[error("event store refused the append: {0}")]
    Refused(#[source] BoxError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Loading an aggregate failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("event store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    #[error("event {sequence} of {subject} cannot be decoded: {source}")]
    Undecodable {
        subject: String,
        sequence: u64,
        #[source]
        source: DecodeError,
    },
}

/// The events of one aggregate from some version on.
#[derive(Debug, Clone)]
pub struct Loaded<E> {
    pub events: Vec<Recorded<E>>,
    /// Stream sequence of the aggregate's last event (0 if it has none).
    pub version: u64,
}

/// Where events are kept: one subject per aggregate in the stream of its event family.
///
/// An append states the subject's expected version (stream sequence of its last event, 0
/// for a new aggregate), or `None` for a plain log; events get their ids from the context,
/// and an append whose first event id is already stored is reported as a duplicate and
/// stores nothing. Several events are stored all or none.
pub trait EventLog: Clone + Send + Sync + 'static {
    /// Appends `events` to `subject` if its version is still `expected`.
    fn append_at<E: DomainEvent>(
        &self,
        subject: &str,
        expected: Option<u64>,
        events: &[E],
        context: &AppendContext,
    ) -> impl Future<Output = Result<Appended, AppendError>> + Send;

    /// The events of `subject` stored after stream sequence `after`, in order.
    fn load_after<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> impl Future<Output = Result<Loaded<E>, LoadError>> + Send;

    /// Like [`load_after`](Self::load_after), but sure to hold every event the stream had
    /// stored on `subject` when it was asked (a replicated stream's followers may answer
    /// plain loads from behind). For a decision that a negative answer makes final: "no
    /// such aggregate", "nothing to do".
    fn load_after_consistent<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> impl Future<Output = Result<Loaded<E>, LoadError>> + Send {
        self.load_after(subject, after)
    }

    /// The version of `subject` (the stream sequence of its last event, 0 if it has none)
    /// as the stream's leader knows it: whether an aggregate exists, without loading it.
    fn version_consistent<E: DomainEvent>(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<u64, LoadError>> + Send {
        async move {
            let loaded = self.load_after_consistent::<E>(subject, 0).await?;
            Ok(loaded.version)
        }
    }

    /// Every event of the aggregate `id`, in order, and its version.
    fn load_aggregate<I: AggregateId>(
        &self,
        id: &I,
    ) -> impl Future<Output = Result<Loaded<I::Event>, LoadError>> + Send {
        let subject = id.subject();
        async move { self.load_after::<I::Event>(&subject, 0).await }
    }
}
