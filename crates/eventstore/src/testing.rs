//! One given/when/then harness for command handlers and saga steps, over the in-memory
//! log: *given* the events already stored, *when* one event is delivered (or a command
//! runs), *then* these events were appended, and nothing else.
//!
//! ```text
//! let mut scenario = Scenario::new().given(&t1, [added(4)]);
//! let initiated = scenario.when(&booking, initiated_event);
//! saga.react(&initiated).await?;
//! assert_eq!(scenario.then::<TableEvent>(), vec![lock_placed]);
//! ```

use std::collections::HashMap;

use events::{AggregateId, CorrelationId, DomainEvent};

use crate::log::AppendContext;
use crate::memory::InMemory;
use crate::recorded::Recorded;

/// A scenario: the log, and where "then" starts in each stream.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    log: InMemory,
    marks: HashMap<&'static str, u64>,
}

impl Scenario {
    pub fn new() -> Self {
        Self::default()
    }

    /// The log the code under test gets.
    pub fn log(&self) -> InMemory {
        self.log.clone()
    }

    /// Stores `events` on the aggregate `id`, as earlier commands would have.
    #[must_use]
    pub fn given<I: AggregateId>(self, id: &I, events: impl IntoIterator<Item = I::Event>) -> Self {
        self.log.record(id, events, &given_context());
        self
    }

    /// Stores `event` on `id` and returns it as a consumer would get it; what is appended
    /// from now on is what [`then`](Self::then) shows.
    pub fn when<I: AggregateId>(&mut self, id: &I, event: I::Event) -> Recorded<I::Event> {
        let mut recorded = self.log.record(id, [event], &given_context());
        self.mark();
        // `record` returns exactly the one event it stored.
        recorded.remove(0)
    }

    /// Starts "then" here: for a command that is run rather than an event delivered.
    pub fn mark(&mut self) {
        for stream in [events::names::TABLES_STREAM, events::names::BOOKINGS_STREAM] {
            self.marks.insert(stream, self.log.last_sequence(stream));
        }
    }

    /// The events of `E`'s stream appended since the mark.
    pub fn then<E: DomainEvent>(&self) -> Vec<E> {
        self.then_recorded::<E>()
            .into_iter()
            .map(|recorded| recorded.event)
            .collect()
    }

    /// Like [`then`](Self::then), with subjects and metadata.
    pub fn then_recorded<E: DomainEvent>(&self) -> Vec<Recorded<E>> {
        let mark = self.marks.get(E::STREAM).copied().unwrap_or(0);
        self.log.recorded_after(mark)
    }
}

fn given_context() -> AppendContext {
    AppendContext::unique("given", CorrelationId::new())
}
