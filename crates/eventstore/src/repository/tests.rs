//! Given/when/then tests of the repository's cache on the in-memory log.

use std::cell::Cell;

use domain::Aggregate;
use events::{Seats, TableAdded, TableEvent, TableId, TableRemoved};

use super::Repository;
use crate::InMemory;
use crate::log::AppendContext;

thread_local! {
    /// How many times a [`Switch`] was copied on this thread.
    static COPIES: Cell<usize> = const { Cell::new(0) };
}

/// A table that is added and removed in turn, counting its copies; with a payload as
/// large as a table's locks, a copy per command would be a cost growing with history.
#[derive(Debug, Default)]
struct Switch {
    added: bool,
    history: Vec<u64>,
}

impl Clone for Switch {
    fn clone(&self) -> Self {
        COPIES.with(|copies| copies.set(copies.get() + 1));
        Self {
            added: self.added,
            history: self.history.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never refused")]
struct Never;

impl Aggregate for Switch {
    type Id = TableId;
    type Command = ();
    type Event = TableEvent;
    type Rejection = Never;

    fn decide(&self, (): &()) -> Result<Vec<TableEvent>, Never> {
        let id = table();
        Ok(vec![if self.added {
            TableRemoved { id }.into()
        } else {
            let seats = Seats::new(4).expect("seats");
            TableAdded { id, seats }.into()
        }])
    }

    fn evolve(mut self, event: &TableEvent) -> Self {
        self.added = matches!(event, TableEvent::Added(_));
        self.history.push(self.history.len() as u64);
        self
    }
}

fn table() -> TableId {
    TableId::parse("t1").expect("table id")
}

#[tokio::test]
async fn given_a_cached_aggregate_when_commands_follow_one_another_then_its_state_is_never_copied_nor_read_again()
 {
    let log = InMemory::new();
    let repository: Repository<Switch, InMemory> = Repository::new(log.clone(), 10, 4);
    let context = || AppendContext::unique("switch", events::CorrelationId::new());
    repository
        .execute(&table(), &(), &context())
        .await
        .expect("first");
    let read = log.events_read();
    COPIES.with(|copies| copies.set(0));
    for _ in 0..50 {
        let executed = repository
            .execute(&table(), &(), &context())
            .await
            .expect("executed");
        assert_eq!(executed.events.len(), 1);
    }
    assert_eq!(COPIES.with(Cell::get), 0, "copies of the state");
    assert_eq!(log.events_read(), read, "the cache served every command");
    let (state, version) = repository.load(&table()).await.expect("load");
    assert_eq!((state.history.len(), version), (51, 51));
}

#[tokio::test]
async fn given_an_executed_state_still_held_when_the_next_command_runs_then_it_works_on_a_copy_and_both_are_right()
 {
    let repository: Repository<Switch, InMemory> = Repository::new(InMemory::new(), 10, 4);
    let context = || AppendContext::unique("switch", events::CorrelationId::new());
    let first = repository
        .execute(&table(), &(), &context())
        .await
        .expect("first");
    let second = repository
        .execute(&table(), &(), &context())
        .await
        .expect("second");
    assert!(first.state.added && !second.state.added);
    assert_eq!(
        (first.state.history.len(), second.state.history.len()),
        (1, 2)
    );
}
