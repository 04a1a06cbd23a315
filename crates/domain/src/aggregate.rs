//! The aggregate abstraction shared by the Table and Booking aggregates.

use events::{AggregateId, DomainEvent};
use jiff::Timestamp;

/// An event-sourced aggregate: its state is the fold of its events.
///
/// `decide` must be deterministic and idempotent where a command can be redelivered: a
/// command whose effect is already in the state decides no events (an empty `Vec`), rather
/// than a rejection or a second event.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    /// Its id, which also names where its events are stored.
    type Id: AggregateId<Event = Self::Event>;
    /// What can be asked of the aggregate.
    type Command: Send + Sync;
    /// What it records.
    type Event: DomainEvent;
    /// Why a command was refused (a 4xx, never retried).
    type Rejection: std::error::Error + Send + Sync + 'static;

    /// Decides what happens when `command` meets the current state.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Rejection>;

    /// The state after `event`.
    fn evolve(self, event: &Self::Event) -> Self;

    /// The state without what can no longer change a decision made at `now` or later, so
    /// that a long-lived aggregate stays small. The repository prunes what it keeps.
    fn prune(self, _now: Timestamp) -> Self {
        self
    }

    /// The state after all of `events`, from the initial state.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{Seats, TableAdded, TableEvent, TableId, TableRemoved};

    /// A tiny aggregate to exercise the provided methods: counts table-added events and
    /// refuses to add once removed.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Counter {
        added: u32,
        removed: bool,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("removed")]
    struct Removed;

    impl Aggregate for Counter {
        type Id = TableId;
        type Command = TableId;
        type Event = TableEvent;
        type Rejection = Removed;

        fn decide(&self, id: &TableId) -> Result<Vec<TableEvent>, Removed> {
            if self.removed {
                return Err(Removed);
            }
            let seats = Seats::new(2).map_err(|_| Removed)?;
            Ok(vec![
                TableAdded {
                    id: id.clone(),
                    seats,
                }
                .into(),
            ])
        }

        fn evolve(self, event: &TableEvent) -> Self {
            match event {
                TableEvent::Added(_) => Self {
                    added: self.added + 1,
                    ..self
                },
                TableEvent::Removed(_) => Self {
                    removed: true,
                    ..self
                },
                _ => self,
            }
        }
    }

    #[test]
    fn replaying_events_folds_them_in_order_from_the_initial_state() {
        let id = TableId::parse("t1").expect("id");
        let mut events = Counter::default().decide(&id).expect("decide");
        events.push(TableRemoved { id: id.clone() }.into());
        let state = Counter::replay(&events);
        assert_eq!(
            state,
            Counter {
                added: 1,
                removed: true
            }
        );
        assert!(state.decide(&id).is_err());
    }
}
