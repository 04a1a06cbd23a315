//! The Table aggregates as table-manager uses them: one repository, shared by the command
//! handler, the locking saga and the lock timers.

use domain::{Table, TableCommand, TableStatus};
use events::{
    BookingId, LockFailureReason, PartySize, TableEvent, TableId, TableLockPlacementFailed,
    TimeSlot, names,
};
use eventstore::{AppendContext, Clock, EventLog, EventStore, ExecuteError, Executed, Repository};
use jiff::Timestamp;

/// Tables kept in memory (two generations of this many at most).
const CACHE_CAPACITY: usize = 10_000;
/// A command meets a newer version at most this many times before giving up.
const MAX_ATTEMPTS: usize = 16;

/// The table aggregates on the `TABLES` stream (or on an in-memory log in unit tests).
#[derive(Debug)]
pub struct Tables<L: EventLog = EventStore> {
    repository: Repository<Table, L>,
}

/// How a lock request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// Recorded now, or by an earlier delivery of the same request.
    Decided,
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

    /// The time lock requests are decided at.
    pub fn now(&self) -> Timestamp {
        self.repository.clock().now()
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
        let known = |(state, _): &(Table, u64)| state.status != TableStatus::Unknown;
        if self.repository.peek(id).as_ref().is_some_and(known) {
            return Ok(true);
        }
        Ok(known(&self.repository.load_fresh(id).await?))
    }

    /// Places a booking's lock, or records why it cannot be placed. A table id that was
    /// never added gets its failure on one shared subject, so bogus ids do not each leave
    /// a subject behind (ADR 0005).
    pub async fn place_lock(
        &self,
        id: &TableId,
        time_slot: TimeSlot,
        booking_id: BookingId,
        people: Option<PartySize>,
        context: &AppendContext,
    ) -> Result<LockOutcome, ExecuteError<domain::TableRejection>> {
        if !self.exists(id).await? {
            let failed: TableEvent = TableLockPlacementFailed {
                id: id.clone(),
                time_slot,
                booking_id,
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
            people,
            now: self.now(),
        };
        self.execute(&command, context).await?;
        Ok(LockOutcome::Decided)
    }

    /// Frees a table for a booking's slot: removes the lock the booking holds, or, if its
    /// lock request has not been decided yet, records the release so that the request
    /// places nothing when it arrives. Unknown tables are left alone: nothing is written
    /// for them.
    pub async fn remove_lock(
        &self,
        id: &TableId,
        booking_id: BookingId,
        time_slot: TimeSlot,
        cause: events::LockRemovalCause,
        context: &AppendContext,
    ) -> Result<(), ExecuteError<domain::TableRejection>> {
        let command = TableCommand::RemoveLock {
            id: id.clone(),
            booking_id,
            time_slot,
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
