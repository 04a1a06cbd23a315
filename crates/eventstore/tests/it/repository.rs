use domain::Aggregate;
use events::{Seats, TableAdded, TableEvent, TableId, TableRemoved};
use eventstore::EventLog as _;
use eventstore::{ExecuteError, Repository};

use crate::{context, env};

/// A minimal table for exercising the repository: add once, remove once.
#[derive(Debug, Default, Clone, PartialEq)]
struct Table {
    seats: Option<u8>,
    removed: bool,
}

#[derive(Debug)]
enum Command {
    Add(TableId, Seats),
    Remove(TableId),
}

#[derive(Debug, PartialEq, thiserror::Error)]
enum Refused {
    #[error("table exists")]
    Exists,
    #[error("no such table")]
    Missing,
}

impl Aggregate for Table {
    type Id = TableId;
    type Command = Command;
    type Event = TableEvent;
    type Rejection = Refused;

    fn decide(&self, command: &Command) -> Result<Vec<TableEvent>, Refused> {
        match command {
            Command::Add(id, seats) => match self.seats {
                Some(existing) if existing == seats.get() && !self.removed => Ok(vec![]),
                Some(_) => Err(Refused::Exists),
                None => Ok(vec![
                    TableAdded {
                        id: id.clone(),
                        seats: *seats,
                    }
                    .into(),
                ]),
            },
            Command::Remove(id) => match (self.seats, self.removed) {
                (Some(_), false) => Ok(vec![TableRemoved { id: id.clone() }.into()]),
                _ => Err(Refused::Missing),
            },
        }
    }

    fn evolve(self, event: &TableEvent) -> Self {
        match event {
            TableEvent::Added(e) => Self {
                seats: Some(e.seats.get()),
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

fn id() -> TableId {
    TableId::parse("t9").expect("id")
}

fn seats(n: u64) -> Seats {
    Seats::new(n).expect("seats")
}

#[tokio::test]
async fn a_replica_with_a_stale_cache_reloads_on_conflict_and_decides_again() {
    let env = env().await;
    let replica_a = Repository::<Table>::new(env.store.clone(), 100, 3);
    let replica_b = Repository::<Table>::new(env.store.clone(), 100, 3);

    // Both replicas see the table, so both cache it.
    replica_a
        .execute(&id(), &Command::Add(id(), seats(4)), &context("add"))
        .await
        .expect("add");
    let (state, _) = replica_b.load(&id()).await.expect("load");
    assert_eq!(state.seats, Some(4));

    // A removes it; B's cache still says "present".
    replica_a
        .execute(&id(), &Command::Remove(id()), &context("remove-a"))
        .await
        .expect("remove");

    // B's decision on its stale state would append a second removal; the expected version
    // stops it, B reloads, and the fresh state refuses.
    let outcome = replica_b
        .execute(&id(), &Command::Remove(id()), &context("remove-b"))
        .await;
    assert!(
        matches!(outcome, Err(ExecuteError::Rejected(Refused::Missing))),
        "{outcome:?}"
    );
    let loaded = env
        .store
        .load::<TableEvent>("tables.t9")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 2, "no second removal was written");
}

#[tokio::test]
async fn a_redelivered_command_is_not_applied_twice() {
    let env = env().await;
    let repository = Repository::<Table>::new(env.store.clone(), 100, 3);
    let ctx = context("add-once");
    let first = repository
        .execute(&id(), &Command::Add(id(), seats(2)), &ctx)
        .await
        .expect("add");
    assert_eq!(first.events.len(), 1);

    // Another replica (empty cache) gets the same command again.
    let other = Repository::<Table>::new(env.store.clone(), 100, 3);
    let again = other
        .execute(&id(), &Command::Add(id(), seats(2)), &ctx)
        .await
        .expect("redelivery is fine");
    assert!(again.events.is_empty());
    assert_eq!(again.version, first.version);
    let loaded = env
        .store
        .load::<TableEvent>("tables.t9")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_through_separate_replicas_are_all_applied_exactly_once() {
    let env = env().await;
    // 8 replicas each add their own table and then race to remove a shared one.
    let shared = TableId::parse("shared").expect("id");
    Repository::<Table>::new(env.store.clone(), 10, 5)
        .execute(
            &shared,
            &Command::Add(shared.clone(), seats(2)),
            &context("add-shared"),
        )
        .await
        .expect("add shared");
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = env.store.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let repository = Repository::<Table>::new(store, 10, 5);
                repository
                    .execute(
                        &shared.clone(),
                        &Command::Remove(shared),
                        &context(&format!("remove-{n}")),
                    )
                    .await
            })
        })
        .collect();
    let mut removed = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(executed) if !executed.events.is_empty() => removed += 1,
            Err(ExecuteError::Rejected(Refused::Missing)) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((removed, refused), (1, 7));
}

#[tokio::test]
async fn executing_as_new_on_an_aggregate_that_exists_decides_again_on_the_stored_state() {
    let env = env().await;
    let writer = Repository::<Table>::new(env.store.clone(), 100, 3);
    writer
        .execute(&id(), &Command::Add(id(), seats(4)), &context("add"))
        .await
        .expect("add");

    // Another replica assumes the id is new: its decision on the empty state ("add") meets
    // a conflict, it reloads, and the stored state refuses a different table.
    let other = Repository::<Table>::new(env.store.clone(), 100, 3);
    let outcome = other
        .execute_new(&id(), &Command::Add(id(), seats(2)), &context("add-2"))
        .await;
    assert!(
        matches!(outcome, Err(ExecuteError::Rejected(Refused::Exists))),
        "{outcome:?}"
    );
    // And a command that is a no-op on the stored state is one.
    let same = other
        .execute_new(&id(), &Command::Add(id(), seats(4)), &context("add-3"))
        .await
        .expect("no-op");
    assert!(same.events.is_empty());
    let loaded = env
        .store
        .load::<TableEvent>("tables.t9")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 1, "nothing else was written");

    // On a new subject it appends at version 0 without reading first.
    let fresh = other
        .execute_new(
            &TableId::parse("t10").expect("id"),
            &Command::Add(TableId::parse("t10").expect("id"), seats(3)),
            &context("add-4"),
        )
        .await
        .expect("add new");
    assert_eq!(fresh.events.len(), 1);
}

#[tokio::test]
async fn an_append_whose_ack_is_lost_but_was_stored_is_reported_done() {
    let log = eventstore::InMemory::new();
    let repository = Repository::<Table, _>::new(log.clone(), 100, 3);
    log.lose_acks(1);
    let executed = repository
        .execute(&id(), &Command::Add(id(), seats(4)), &context("add"))
        .await
        .expect("the append was stored: the command is done");
    assert_eq!(executed.state.seats, Some(4));
    assert_eq!(executed.events.len(), 1);
    let stored = log.load_aggregate(&id()).await.expect("load");
    assert_eq!(stored.events.len(), 1);
    assert_eq!(executed.version, stored.version);
}

#[tokio::test]
async fn an_append_that_fails_with_nothing_stored_is_reported_unavailable() {
    let log = eventstore::InMemory::new();
    let repository = Repository::<Table, _>::new(log.clone(), 100, 3);
    repository
        .execute(&id(), &Command::Add(id(), seats(4)), &context("add"))
        .await
        .expect("add");
    // The store is back after the append failed, in time to be asked: nothing is there.
    log.set_unavailable(true);
    let back = {
        let log = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            log.set_unavailable(false);
        })
    };
    let outcome = repository
        .execute(&id(), &Command::Remove(id()), &context("remove"))
        .await;
    back.await.expect("store back");
    assert!(
        matches!(
            outcome,
            Err(ExecuteError::Append(eventstore::AppendError::Unavailable(
                _
            )))
        ),
        "{outcome:?}"
    );
    let stored = log.load_aggregate(&id()).await.expect("load");
    assert_eq!(stored.events.len(), 1, "the removal was not stored");
}
