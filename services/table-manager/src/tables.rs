//! The Table aggregates as table-manager uses them: one repository, shared by the command
//! handler, the locking saga and the lock timers.

use std::sync::Arc;

use domain::{Table, TableCommand, TableStatus};
use events::{
    BookingId, LockFailureReason, PartySize, Revision, Step, TableEvent, TableId,
    TableLockPlacementFailed, TimeSlot, names,
};
use eventstore::snapshots::SnapshotStore;
use eventstore::{AppendContext, Clock, EventLog, EventStore, ExecuteError, Executed, Repository};
use jiff::Timestamp;

/// Tables kept in memory (two generations of this many at most).
const CACHE_CAPACITY: usize = 10_000;
/// A command meets a newer version at most this many times before giving up.
const MAX_ATTEMPTS: usize = 16;
/// A table's state is snapshotted once this many events were folded since the last
/// snapshot (ADR 0018).
pub const SNAPSHOT_EVERY: u64 = 200;

/// The table aggregates on the `TABLES` stream (or on an in-memory log in unit tests).
#[derive(Debug)]
pub struct Tables<L: EventLog = EventStore> {
    repository: Repository<Table, L>,
}

/// Whose lock a request is for: a booking's place at a revision (0 as booked, `n` for its
/// `n`-th change, ADR 0029). A table decides each once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub booking: BookingId,
    pub revision: Revision,
}

impl Holder {
    /// The place `booking` has at `revision`.
    pub fn new(booking: BookingId, revision: Revision) -> Self {
        Self { booking, revision }
    }
}

impl From<BookingId> for Holder {
    /// The place a booking was booked for.
    fn from(booking: BookingId) -> Self {
        Self::new(booking, 0)
    }
}

/// How a lock request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// Decided now or by an earlier delivery of the same request: the table holds the
    /// booking's lock.
    Held,
    /// Decided, and the table does not hold the booking's lock (refused, or released).
    NotHeld,
    /// The table never existed: recorded on the shared unknown-tables subject.
    UnknownTable,
}

impl<L: EventLog> Tables<L> {
    pub fn new(log: L) -> Self {
        Self::with_clock(log, Clock::system())
    }

    /// Tables deciding lock requests (and forgetting ended slots) by `clock`.
    pub fn with_clock(log: L, clock: Clock) -> Self {
        Self {
            repository: Repository::new(log, CACHE_CAPACITY, MAX_ATTEMPTS).with_clock(clock),
        }
    }

    /// The same tables, starting cold loads from the snapshots in `store` and keeping one
    /// every [`SNAPSHOT_EVERY`] events.
    #[must_use]
    pub fn with_snapshots(self, store: Arc<dyn SnapshotStore>) -> Self {
        Self {
            repository: self.repository.with_snapshots(store, SNAPSHOT_EVERY),
        }
    }

    /// The time lock requests are decided at.
    pub fn now(&self) -> Timestamp {
        self.repository.clock().now()
    }

    /// The table as the stream's leader has it.
    pub async fn state(&self, id: &TableId) -> Result<Table, eventstore::LoadError> {
        Ok(self.repository.load_fresh(id).await?.0)
    }

    /// The event log the tables are stored in.
    pub fn log(&self) -> &L {
        self.repository.log()
    }

    /// Runs a command on one table.
    pub async fn execute(
        &self,
        command: &TableCommand,
        context: &AppendContext,
    ) -> Result<Executed<Table>, ExecuteError<domain::TableRejection>> {
        self.repository
            .execute(table_of(command), command, context)
            .await
    }

    /// Whether the table has ever been added: from the cache when it knows the table,
    /// else from the stream (another replica may have added it a moment ago).
    async fn exists(&self, id: &TableId) -> Result<bool, eventstore::LoadError> {
        // Looked at in the cache, not copied: a table holds every lock of its horizon.
        let known = |state: &Table, _| state.status != TableStatus::Unknown;
        if self.repository.peek_with(id, known) == Some(true) {
            return Ok(true);
        }
        let (state, version) = self.repository.load_fresh(id).await?;
        Ok(known(&state, version))
    }

    /// Places a booking's lock, or records why it cannot be placed. A table id that was
    /// never added gets its failure on one shared subject, so bogus ids do not each leave
    /// a subject behind (ADR 0005).
    pub async fn place_lock(
        &self,
        id: &TableId,
        time_slot: TimeSlot,
        holder: impl Into<Holder>,
        people: Option<PartySize>,
        context: &AppendContext,
    ) -> Result<LockOutcome, ExecuteError<domain::TableRejection>> {
        let Holder {
            booking: booking_id,
            revision,
        } = holder.into();
        if !self.exists(id).await? {
            let failed: TableEvent = TableLockPlacementFailed {
                id: id.clone(),
                time_slot,
                booking_id,
                revision,
                reason: LockFailureReason::TableNotFound,
            }
            .into();
            self.repository
                .log()
                .append_at(names::UNKNOWN_TABLES_SUBJECT, None, &[failed], context)
                .await
                .map_err(ExecuteError::Append)?;
            return Ok(LockOutcome::UnknownTable);
        }
        let command = TableCommand::PlaceLock {
            id: id.clone(),
            time_slot,
            booking_id,
            revision,
            people,
            now: self.now(),
        };
        let executed = self.execute(&command, context).await?;
        Ok(
            if executed.state.lock_in(booking_id, &time_slot).is_some() {
                LockOutcome::Held
            } else {
                LockOutcome::NotHeld
            },
        )
    }

    /// Locks every one of `tables` for a booking, all or nothing (ADR 0027): one table
    /// with the party's size checked, as ever; several one by one in id order (the party
    /// was fitted to their combination), and on the first that is not held, every one of
    /// them is released: the lock of those placed removed, the rest barred, so that no
    /// partial lock survives and a redelivery that comes later places nothing. Run again
    /// after a crash at any point, it ends the same way. `context` gives the append
    /// context of a step (`place-lock`, `release-lock`) on a table: one command id per step
    /// and table, so that JetStream deduplicates a redelivery's appends, never two tables'.
    pub async fn lock_all(
        &self,
        tables: &[TableId],
        time_slot: TimeSlot,
        holder: Holder,
        people: Option<PartySize>,
        context: impl Fn(Step, &TableId) -> AppendContext,
    ) -> Result<(), ExecuteError<domain::TableRejection>> {
        if let [table] = tables {
            let context = context(Step::PlaceLock, table);
            return self
                .place_lock(table, time_slot, holder, people, &context)
                .await
                .map(drop);
        }
        let mut ordered = tables.to_vec();
        ordered.sort();
        ordered.dedup();
        for table in &ordered {
            let outcome = self
                .place_lock(
                    table,
                    time_slot,
                    holder,
                    None,
                    &context(Step::PlaceLock, table),
                )
                .await?;
            if outcome != LockOutcome::Held {
                let cause = if holder.revision == 0 {
                    events::LockRemovalCause::BookingRejected
                } else {
                    events::LockRemovalCause::ChangeRejected
                };
                return self
                    .release_all(&ordered, holder, time_slot, cause, &context)
                    .await;
            }
        }
        Ok(())
    }

    /// Frees every one of `tables` for a booking's slot (see [`Tables::remove_lock`]).
    pub async fn release_all(
        &self,
        tables: &[TableId],
        holder: Holder,
        time_slot: TimeSlot,
        cause: events::LockRemovalCause,
        context: impl Fn(Step, &TableId) -> AppendContext,
    ) -> Result<(), ExecuteError<domain::TableRejection>> {
        for table in tables {
            let context = context(Step::ReleaseLock, table);
            self.remove_lock(table, holder, time_slot, cause, &context)
                .await?;
        }
        Ok(())
    }

    /// Frees a table for a booking's slot: removes the lock the booking holds, or, if its
    /// lock request has not been decided yet, records the release so that the request
    /// places nothing when it arrives. Unknown tables are left alone: nothing is written
    /// for them.
    pub async fn remove_lock(
        &self,
        id: &TableId,
        holder: impl Into<Holder>,
        time_slot: TimeSlot,
        cause: events::LockRemovalCause,
        context: &AppendContext,
    ) -> Result<(), ExecuteError<domain::TableRejection>> {
        let Holder {
            booking: booking_id,
            revision,
        } = holder.into();
        let command = TableCommand::RemoveLock {
            id: id.clone(),
            booking_id,
            time_slot,
            revision,
            cause,
            now: self.now(),
        };
        // Deciding on an unknown table yields no event, so no subject is created.
        self.execute(&command, context).await.map(drop)
    }
}

/// The table a command is about.
pub fn table_of(command: &TableCommand) -> &TableId {
    match command {
        TableCommand::Add { id, .. }
        | TableCommand::Remove { id, .. }
        | TableCommand::PlaceLock { id, .. }
        | TableCommand::RemoveLock { id, .. } => id,
    }
}

#[cfg(test)]
mod tests {
    use events::fixtures::{added, dinner, lock_removed_in, placed_in, t1, ts};
    use events::{AggregateId as _, LockRemovalCause, TimeSlot};
    use eventstore::InMemory;
    use eventstore::snapshots::MemorySnapshots;
    use eventstore::testing::Scenario;

    use super::*;

    fn tables(scenario: &Scenario, snapshots: &MemorySnapshots) -> Tables<InMemory> {
        Tables::with_clock(scenario.log(), Clock::fixed(ts("2026-12-01T00:00:00Z")))
            .with_snapshots(Arc::new(snapshots.clone()))
    }

    /// A table with `bookings` bookings of ended slots behind it (placed, then removed
    /// at the slot's end): two events each.
    fn long_history(bookings: usize) -> Vec<TableEvent> {
        let mut history = vec![added(4)];
        for day in 0..bookings {
            let from =
                ts("2025-01-01T11:00:00Z") + jiff::SignedDuration::from_hours(24 * day as i64);
            let slot =
                TimeSlot::new(from, from + jiff::SignedDuration::from_hours(2)).expect("slot");
            let booking = BookingId::new();
            history.push(placed_in(slot, booking));
            history.push(lock_removed_in(slot, booking, LockRemovalCause::SlotEnded));
        }
        history
    }

    async fn place(tables: &Tables<InMemory>, booking: BookingId) -> LockOutcome {
        let context = AppendContext::for_request(
            Step::PlaceLock,
            uuid::Uuid::now_v7(),
            events::CorrelationId::new(),
        );
        tables
            .place_lock(&t1(), dinner(), booking, None, &context)
            .await
            .expect("place lock")
    }

    #[tokio::test]
    async fn given_a_long_history_when_a_cold_replica_decides_then_it_reads_a_snapshot_and_the_events_after_it()
     {
        let scenario = Scenario::new().given(&t1(), long_history(1_000));
        let snapshots = MemorySnapshots::default();
        // The first command reads the whole history once, and leaves a snapshot.
        place(&tables(&scenario, &snapshots), BookingId::new()).await;
        assert_eq!(snapshots.len(), 1);
        let first = scenario.log().events_read();
        assert!(first > 2_000, "{first}");

        // A replica with a cold cache: the snapshot and one event after it.
        let booking = BookingId::new();
        let cold = tables(&scenario, &snapshots);
        let before = scenario.log().events_read();
        assert_eq!(place(&cold, booking).await, LockOutcome::NotHeld);
        let read = scenario.log().events_read() - before;
        assert!(read <= 3, "read {read} events");
        let (state, _) = cold.repository.load(&t1()).await.expect("load");
        assert!(
            state.lock_of(booking).is_none(),
            "the slot was taken by the first"
        );
        assert_eq!(state.locks().count(), 1);
    }

    #[tokio::test]
    async fn given_an_unreadable_snapshot_when_a_replica_loads_the_table_then_it_reads_the_history()
    {
        let scenario = Scenario::new().given(&t1(), long_history(300));
        let snapshots = MemorySnapshots::default();
        snapshots.overwrite(
            &t1().subject(),
            b"{\"format\":1,\"version\":7,\"state\":[]}",
        );
        let booking = BookingId::new();
        assert_eq!(
            place(&tables(&scenario, &snapshots), booking).await,
            LockOutcome::Held
        );
        let (state, _) = tables(&scenario, &MemorySnapshots::default())
            .repository
            .load(&t1())
            .await
            .expect("load");
        assert!(state.lock_of(booking).is_some());
    }

    #[tokio::test]
    async fn given_a_snapshot_of_another_history_when_a_replica_loads_the_table_then_it_is_ignored()
    {
        // A snapshot that says "no such table" at a sequence that is not this table's.
        let scenario = Scenario::new()
            .given(&TableId::parse("other").expect("id"), long_history(1))
            .given(&t1(), [added(4)]);
        let snapshots = MemorySnapshots::default();
        let foreign = serde_json::json!({"format": 1, "version": 1,
            "state": serde_json::to_value(Table::default()).expect("state")});
        snapshots.overwrite(&t1().subject(), foreign.to_string().as_bytes());
        let booking = BookingId::new();
        assert_eq!(
            place(&tables(&scenario, &snapshots), booking).await,
            LockOutcome::Held
        );
        let (state, _) = tables(&scenario, &snapshots)
            .repository
            .load_fresh(&t1())
            .await
            .expect("load");
        assert!(
            state.lock_of(booking).is_some(),
            "the table exists and is locked"
        );
    }
}
