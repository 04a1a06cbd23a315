//! An event log in memory, with the rules of the JetStream store: one sequence per stream,
//! an expected version per subject, dedup by event id, all-or-nothing batches. Payloads
//! are encoded and decoded like stored ones, so upcasters run too. For unit tests of
//! command handlers and saga steps without a nats-server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use events::{AggregateId, DomainEvent, EventId, Metadata};

use crate::log::{AppendContext, AppendError, Appended, EventLog, LoadError, Loaded};
use crate::recorded::Recorded;

/// One stored message.
#[derive(Debug, Clone)]
struct Stored {
    subject: String,
    sequence: u64,
    metadata: Metadata,
    payload: Vec<u8>,
}

#[derive(Debug, Default)]
struct Streams {
    messages: HashMap<&'static str, Vec<Stored>>,
    /// Where each event id was stored, by stream: the dedup window (unbounded here).
    ids: HashMap<(&'static str, EventId), u64>,
    unavailable: bool,
    /// Plain loads miss this many of the newest messages of each stream, as a follower
    /// of a replicated stream may; consistent loads see everything.
    lag: usize,
    /// Events handed out by loads so far.
    read: usize,
    /// Appends still to store whose ack is then lost (answered as unavailable).
    lost_acks: usize,
}

/// An in-memory [`EventLog`]; clones share the same events.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    streams: Arc<Mutex<Streams>>,
}

impl InMemory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        // A test that panicked while holding the lock has failed already.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on every append and load fails as if NATS were unreachable (or works
    /// again, with `false`).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// The next `appends` appends are stored, but answered as if NATS had not acked them
    /// in time (the writer cannot tell whether they were stored).
    pub fn lose_acks(&self, appends: usize) {
        self.lock().lost_acks = appends;
    }

    /// How many events loads have handed out so far (what a cold load cost).
    pub fn events_read(&self) -> usize {
        self.lock().read
    }

    /// From now on plain loads answer like a follower that has not yet applied the `lag`
    /// newest messages of each stream ([`EventLog::load_after_consistent`] sees them).
    pub fn set_follower_lag(&self, lag: usize) {
        self.lock().lag = lag;
    }

    /// Stores `events` on the aggregate `id` whatever its version: the "given" of a test.
    pub fn record<I: AggregateId>(
        &self,
        id: &I,
        events: impl IntoIterator<Item = I::Event>,
        context: &AppendContext,
    ) -> Vec<Recorded<I::Event>> {
        let events: Vec<I::Event> = events.into_iter().collect();
        let subject = id.subject();
        let from = self.last_sequence(<I::Event as DomainEvent>::STREAM);
        // Encoding only fails for a broken Serialize impl: a test bug, so say so loudly.
        self.store(&subject, None, &events, context)
            .unwrap_or_else(|e| panic!("cannot record the given events: {e}"));
        self.recorded_after::<I::Event>(from)
    }

    /// The last sequence of `stream` (0 when empty).
    pub fn last_sequence(&self, stream: &str) -> u64 {
        self.lock()
            .messages
            .get(stream)
            .and_then(|messages| messages.last())
            .map_or(0, |stored| stored.sequence)
    }

    /// Every event of `E`'s stream stored after `sequence`, in order.
    pub fn recorded_after<E: DomainEvent>(&self, sequence: u64) -> Vec<Recorded<E>> {
        let streams = self.lock();
        let messages = streams
            .messages
            .get(E::STREAM)
            .map_or(&[][..], Vec::as_slice);
        messages
            .iter()
            .filter(|stored| stored.sequence > sequence)
            .map(|stored| decode(stored).unwrap_or_else(|e| panic!("undecodable event: {e}")))
            .collect()
    }

    fn store<E: DomainEvent>(
        &self,
        subject: &str,
        expected: Option<u64>,
        events: &[E],
        context: &AppendContext,
    ) -> Result<Appended, AppendError> {
        let now = jiff::Timestamp::now();
        let mut encoded = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            encoded.push((context.metadata(index, event, now), event.encode()?));
        }
        let mut streams = self.lock();
        if streams.unavailable {
            return Err(AppendError::Unavailable(
                "the in-memory log is unavailable".into(),
            ));
        }
        let event_ids: Vec<EventId> = encoded.iter().map(|(m, _)| m.event_id).collect();
        let Some(first) = event_ids.first() else {
            return Ok(Appended {
                last_sequence: expected.unwrap_or(0),
                duplicate: false,
                event_ids,
            });
        };
        if let Some(&earlier) = streams.ids.get(&(E::STREAM, *first)) {
            let last_sequence = earlier + event_ids.len() as u64 - 1;
            return Ok(Appended {
                last_sequence,
                duplicate: true,
                event_ids,
            });
        }
        let messages = streams.messages.entry(E::STREAM).or_default();
        let version = messages
            .iter()
            .rev()
            .find(|stored| stored.subject == subject)
            .map_or(0, |stored| stored.sequence);
        if let Some(expected) = expected.filter(|expected| *expected != version) {
            return Err(AppendError::Conflict {
                subject: subject.to_owned(),
                expected,
            });
        }
        let mut sequence = messages.last().map_or(0, |stored| stored.sequence);
        let mut stored_ids = Vec::with_capacity(encoded.len());
        for (metadata, payload) in encoded {
            sequence += 1;
            stored_ids.push((metadata.event_id, sequence));
            messages.push(Stored {
                subject: subject.to_owned(),
                sequence,
                metadata,
                payload,
            });
        }
        for (id, at) in stored_ids {
            streams.ids.insert((E::STREAM, id), at);
        }
        Ok(Appended {
            last_sequence: sequence,
            duplicate: false,
            event_ids,
        })
    }
}

fn decode<E: DomainEvent>(stored: &Stored) -> Result<Recorded<E>, events::DecodeError> {
    let event = E::decode(
        &stored.metadata.event_type,
        stored.metadata.schema_version,
        &stored.payload,
    )?;
    Ok(Recorded {
        subject: stored.subject.clone(),
        sequence: stored.sequence,
        metadata: stored.metadata.clone(),
        event,
    })
}

impl EventLog for InMemory {
    async fn append_at<E: DomainEvent>(
        &self,
        subject: &str,
        expected: Option<u64>,
        events: &[E],
        context: &AppendContext,
    ) -> Result<Appended, AppendError> {
        let appended = self.store(subject, expected, events, context)?;
        let mut streams = self.lock();
        if streams.lost_acks > 0 {
            streams.lost_acks -= 1;
            return Err(AppendError::Unavailable("the ack was lost".into()));
        }
        Ok(appended)
    }

    async fn load_after<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> Result<Loaded<E>, LoadError> {
        self.load(subject, after, false)
    }

    async fn load_after_consistent<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
    ) -> Result<Loaded<E>, LoadError> {
        self.load(subject, after, true)
    }
}

impl InMemory {
    fn load<E: DomainEvent>(
        &self,
        subject: &str,
        after: u64,
        consistent: bool,
    ) -> Result<Loaded<E>, LoadError> {
        let mut streams = self.lock();
        if streams.unavailable {
            return Err(LoadError::Unavailable(
                "the in-memory log is unavailable".into(),
            ));
        }
        let streams = &mut *streams;
        let messages = streams
            .messages
            .get(E::STREAM)
            .map_or(&[][..], Vec::as_slice);
        let lag = if consistent { 0 } else { streams.lag };
        let applied = &messages[..messages.len().saturating_sub(lag)];
        let mut loaded = Loaded {
            events: Vec::new(),
            version: after,
        };
        for stored in applied
            .iter()
            .filter(|stored| stored.subject == subject && stored.sequence > after)
        {
            let recorded = decode(stored).map_err(|source| LoadError::Undecodable {
                subject: subject.to_owned(),
                sequence: stored.sequence,
                source,
            })?;
            loaded.version = stored.sequence;
            loaded.events.push(recorded);
        }
        streams.read += loaded.events.len();
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use events::{CorrelationId, Seats, TableAdded, TableEvent, TableId, TableRemoved};

    use super::*;

    fn t1() -> TableId {
        TableId::parse("t1").expect("id")
    }

    fn added() -> TableEvent {
        TableAdded {
            id: t1(),
            seats: Seats::new(4).expect("seats"),
        }
        .into()
    }

    /// A new request (its own id) each call.
    fn context() -> AppendContext {
        AppendContext::for_request(
            events::Step::TableCommand,
            uuid::Uuid::now_v7(),
            CorrelationId::new(),
        )
    }

    #[tokio::test]
    async fn an_append_at_a_stale_version_is_a_conflict_and_stores_nothing() {
        let log = InMemory::new();
        let subject = t1().subject();
        let first = log
            .append_at(&subject, Some(0), &[added()], &context())
            .await
            .expect("append");
        assert_eq!(first.last_sequence, 1);
        let stale = log
            .append_at(&subject, Some(0), &[added()], &context())
            .await;
        assert!(matches!(
            stale,
            Err(AppendError::Conflict { expected: 0, .. })
        ));
        assert_eq!(log.last_sequence(TableEvent::STREAM), 1);
    }

    #[tokio::test]
    async fn the_same_command_appended_twice_is_a_duplicate_that_stores_nothing() {
        let log = InMemory::new();
        let subject = t1().subject();
        let command = context();
        log.append_at(&subject, Some(0), &[added()], &command)
            .await
            .expect("append");
        let again = log
            .append_at(&subject, Some(0), &[added()], &command)
            .await
            .expect("deduplicated");
        assert!(again.duplicate);
        assert_eq!(again.last_sequence, 1);
        assert_eq!(log.recorded_after::<TableEvent>(0).len(), 1);
    }

    #[tokio::test]
    async fn several_events_get_consecutive_sequences_and_load_back_in_order() {
        let log = InMemory::new();
        let removed: TableEvent = TableRemoved { id: t1() }.into();
        let appended = log
            .append_at(
                &t1().subject(),
                Some(0),
                &[added(), removed.clone()],
                &context(),
            )
            .await
            .expect("append");
        assert_eq!(appended.last_sequence, 2);
        let loaded = log.load_aggregate(&t1()).await.expect("load");
        assert_eq!(loaded.version, 2);
        let events: Vec<TableEvent> = loaded.events.into_iter().map(|r| r.event).collect();
        assert_eq!(events, vec![added(), removed]);
        let other = TableId::parse("t2").expect("id");
        assert_eq!(log.load_aggregate(&other).await.expect("load").version, 0);
    }
}
