//! The Booking aggregate: one customer's request for a table in a slot, from initiated to
//! confirmed, rejected or cancelled.

use std::collections::BTreeSet;

use events::{
    BookingEvent, BookingId, BookingPlace, BookingPlace as Place, BookingStatus, CancellationCause,
    ChangeRejectionReason, CombinationId, LockFailureReason, PartySize, RejectionReason, Revision,
    TableBookingCancelled, TableBookingChangeRequested, TableBookingConfirmed,
    TableBookingCustomerErased, TableBookingInitiated, TableBookingReassigned,
    TableBookingRejected, TableId, TimeSlot,
};
use jiff::Timestamp;

use crate::Aggregate;

/// What can be asked of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingCommand {
    /// A customer asks for a table (validated at the edge).
    Initiate(TableBookingInitiated),
    /// One of the booking's tables was locked for it.
    Confirm {
        table_id: TableId,
        time_slot: TimeSlot,
    },
    /// The booking can never be confirmed (timed out, or refused as it was made).
    Reject { reason: RejectionReason },
    /// A table of the booking could not be locked for it. A booking whose place the
    /// restaurant gave is given `next` instead, while it has places left to try.
    LockFailed {
        table_id: TableId,
        reason: RejectionReason,
        next: NextPlace,
    },
    /// The customer or staff give the booking up before its slot starts.
    Cancel {
        cause: CancellationCause,
        now: Timestamp,
    },
    /// The customer's personal data is erased (its key is gone); the booking stands.
    EraseCustomer,
    /// The guest or staff ask to move a confirmed booking to `to`, at `now` (ADR 0029).
    /// `assigned` when the restaurant picked its tables.
    RequestChange {
        to: BookingPlace,
        assigned: bool,
        now: Timestamp,
    },
    /// One of the new tables of the change `revision` was locked for it.
    ChangeLocked {
        table_id: TableId,
        time_slot: TimeSlot,
        revision: Revision,
    },
    /// A new table of the change `revision` could not be locked for it.
    ChangeLockFailed {
        table_id: TableId,
        reason: LockFailureReason,
        revision: Revision,
    },
    /// The change `revision` was not decided in time: the booking stays where it was.
    RollBackChange { revision: Revision },
}

/// How many times a booking may be changed: its history stays bounded.
pub const MAX_CHANGES: Revision = 10;

/// How many times a party booking by size is given another place after losing one.
pub const MAX_REASSIGNMENTS: usize = 2;

/// What the saga found for a booking whose place was lost (see
/// [`Booking::seeks_another_place`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPlace {
    /// Not looked for: the booking asked for its table, or has no places left to try.
    NotSought,
    /// Nothing fits the party any more.
    Nothing,
    /// The next place the restaurant gives.
    Place {
        tables: Vec<TableId>,
        combination: Option<CombinationId>,
    },
}

/// Why a booking command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingRejection {
    #[error("no such booking")]
    NotFound,
    /// The id is taken by a booking with other details.
    #[error("a different booking with this id exists")]
    AlreadyExists,
    /// Rejected or cancelled: a lock for it must be released, not confirmed.
    #[error("the booking is no longer live ({0:?})")]
    NotLive(BookingStatus),
    /// A confirmation for another table or slot than the one asked for.
    #[error("the lock does not match the booking's table and slot")]
    LockMismatch,
    /// Confirmed or cancelled bookings cannot be rejected.
    #[error("the booking is no longer pending ({0:?})")]
    NotPending(BookingStatus),
    #[error("the booking was rejected")]
    AlreadyRejected,
    #[error("the booking's slot has started")]
    SlotStarted,
    /// Only a confirmed booking can be changed.
    #[error("the booking is not confirmed ({0:?})")]
    NotConfirmed(BookingStatus),
    /// Another change of the booking is being decided.
    #[error("another change of the booking is pending")]
    ChangePending,
    /// The booking was changed [`MAX_CHANGES`] times.
    #[error("the booking was changed too many times")]
    TooManyChanges,
}

/// The state of one booking, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Booking {
    /// `None` while the booking does not exist (no events).
    pub status: Option<BookingStatus>,
    /// What was asked for; `None` while the booking does not exist.
    pub request: Option<TableBookingInitiated>,
    pub rejection: Option<RejectionReason>,
    pub cancellation: Option<CancellationCause>,
    /// The customer's personal data was erased.
    pub customer_erased: bool,
    /// The tables it holds or is being given, sorted.
    pub tables: Vec<TableId>,
    /// Tables of places it was given before and lost (their locks were released).
    pub given_up: BTreeSet<TableId>,
    /// How many times it was given another place.
    pub reassignments: usize,
    /// Its slot now: the one asked for, until a change moves it.
    pub time_slot: Option<TimeSlot>,
    /// Its party now (`None` for a table booked without one).
    pub people: Option<PartySize>,
    /// The combination its tables are, if declared one.
    pub combination: Option<CombinationId>,
    /// The change being decided, if any (ADR 0029).
    pub pending_change: Option<TableBookingChangeRequested>,
    /// How many changes were asked for: the revision of the last.
    pub revision: Revision,
    /// The last change that did not take effect, and why.
    pub change_refusal: Option<(Revision, ChangeRejectionReason)>,
}

impl Booking {
    /// Where the booking is now; `None` while it does not exist.
    pub fn place(&self) -> Option<Place> {
        Some(Place {
            time_slot: self.time_slot?,
            table_ids: self.tables.clone(),
            combination_id: self.combination.clone(),
            people: self.people,
        })
    }

    /// For a party booking by size whose table `table` could not be locked: the slot,
    /// the party and the tables no longer to give it (every table it was given: a table
    /// decides once per booking), when it may be given another place; else `None`.
    pub fn seeks_another_place(
        &self,
        table: &TableId,
    ) -> Option<(TimeSlot, PartySize, BTreeSet<TableId>)> {
        let request = self.request.as_ref()?;
        let wanted = self.status == Some(BookingStatus::Initiated)
            && request.assigned
            && self.reassignments < MAX_REASSIGNMENTS
            && self.tables.contains(table);
        let mut excluded = self.given_up.clone();
        excluded.extend(self.tables.iter().cloned());
        Some((request.time_slot, request.people?, excluded)).filter(|_| wanted)
    }

    /// The tables a rejection or cancellation releases: those held when confirmed; else
    /// every table it was ever given, as a late lock may come for any.
    fn released(&self) -> Vec<TableId> {
        if self.status == Some(BookingStatus::Confirmed) {
            return self.tables.clone();
        }
        let mut all = self.given_up.clone();
        all.extend(self.tables.iter().cloned());
        all.into_iter().collect()
    }
}

impl Aggregate for Booking {
    type Id = BookingId;
    type Command = BookingCommand;
    type Event = BookingEvent;
    type Rejection = BookingRejection;

    fn decide(&self, command: &BookingCommand) -> Result<Vec<BookingEvent>, BookingRejection> {
        use BookingStatus as S;
        let (Some(request), Some(status)) = (&self.request, self.status) else {
            return match command {
                BookingCommand::Initiate(initiated) => Ok(vec![initiated.clone().into()]),
                _ => Err(BookingRejection::NotFound),
            };
        };
        match command {
            // Whatever the booking's status: its slot and history stay, the person goes.
            BookingCommand::EraseCustomer if self.customer_erased => Ok(vec![]),
            BookingCommand::EraseCustomer => {
                Ok(vec![TableBookingCustomerErased { id: request.id }.into()])
            }
            // The same request again (a retry with the same Idempotency-Key) is a no-op,
            // whatever the edge found about the table this time.
            BookingCommand::Initiate(initiated) if initiated.same_request(request) => Ok(vec![]),
            BookingCommand::Initiate(_) => Err(BookingRejection::AlreadyExists),

            // A lock placed for one of its tables. table-manager locks a booking's tables
            // one by one in id order and releases them all on a refusal, so the lock of
            // the last of them means every one is held (ADR 0027).
            BookingCommand::Confirm {
                table_id,
                time_slot,
            } => {
                if time_slot != &request.time_slot
                    || !(self.tables.contains(table_id) || self.given_up.contains(table_id))
                {
                    return Err(BookingRejection::LockMismatch);
                }
                match status {
                    S::Initiated if self.tables.iter().max() == Some(table_id) => Ok(vec![
                        TableBookingConfirmed {
                            id: request.id,
                            table_id: events::single(&self.tables),
                            table_ids: self.tables.clone(),
                            time_slot: *time_slot,
                        }
                        .into(),
                    ]),
                    // Another of its tables, or one of a place it lost (released since).
                    S::Initiated | S::Confirmed => Ok(vec![]),
                    status => Err(BookingRejection::NotLive(status)),
                }
            }

            BookingCommand::Reject { reason } => match status {
                S::Initiated => Ok(vec![{
                    let released = self.released();
                    TableBookingRejected {
                        id: request.id,
                        reason: *reason,
                        table_id: events::single(&released),
                        table_ids: released,
                        time_slot: Some(request.time_slot),
                    }
                    .into()
                }]),
                S::Rejected => Ok(vec![]),
                status => Err(BookingRejection::NotPending(status)),
            },

            BookingCommand::LockFailed {
                table_id,
                reason,
                next,
            } => {
                if status != S::Initiated {
                    return Err(BookingRejection::NotPending(status));
                }
                if !self.tables.contains(table_id) {
                    // A table of a place it lost: that place was given up already.
                    return Ok(vec![]);
                }
                let reassign = self.seeks_another_place(table_id).is_some();
                let reason = match next {
                    NextPlace::Place {
                        tables,
                        combination,
                    } if reassign
                        && !tables.is_empty()
                        && tables
                            .iter()
                            .all(|t| !self.tables.contains(t) && !self.given_up.contains(t)) =>
                    {
                        let mut tables = tables.clone();
                        tables.sort();
                        return Ok(vec![
                            TableBookingReassigned {
                                id: request.id,
                                table_id: events::single(&tables),
                                table_ids: tables,
                                combination_id: combination.clone(),
                                time_slot: request.time_slot,
                            }
                            .into(),
                        ]);
                    }
                    NextPlace::Nothing if reassign => RejectionReason::NoTableAvailable,
                    _ => *reason,
                };
                self.decide(&BookingCommand::Reject { reason })
            }

            BookingCommand::Cancel { cause, now } => {
                let slot = self.time_slot.unwrap_or(request.time_slot);
                match status {
                    S::Cancelled => Ok(vec![]),
                    S::Rejected => Err(BookingRejection::AlreadyRejected),
                    _ if *now >= slot.from() => Err(BookingRejection::SlotStarted),
                    _ => {
                        // A change pending is given up first: its new tables are freed.
                        let mut events = self.give_up_change(ChangeRejectionReason::Cancelled);
                        let released = self.released();
                        events.push(
                            TableBookingCancelled {
                                id: request.id,
                                cause: *cause,
                                table_id: events::single(&released),
                                table_ids: released,
                                time_slot: Some(slot),
                            }
                            .into(),
                        );
                        Ok(events)
                    }
                }
            }

            BookingCommand::RequestChange { to, assigned, now } => {
                self.request_change(status, to, *assigned, *now)
            }
            BookingCommand::ChangeLocked {
                table_id,
                time_slot,
                revision,
            } => Ok(self.change_locked(table_id, time_slot, *revision)),
            BookingCommand::ChangeLockFailed {
                reason, revision, ..
            } => Ok(self.change_decided_against(*revision, (*reason).into())),
            BookingCommand::RollBackChange { revision } => {
                Ok(self.change_decided_against(*revision, ChangeRejectionReason::Timeout))
            }
        }
    }

    fn evolve(mut self, event: &BookingEvent) -> Self {
        match event {
            BookingEvent::Initiated(e) => {
                self.status = Some(BookingStatus::Initiated);
                self.request = Some(e.clone());
                self.tables = e.table_ids.clone();
                self.time_slot = Some(e.time_slot);
                self.people = e.people;
                self.combination = e.combination_id.clone();
            }
            BookingEvent::Reassigned(e) => {
                self.given_up.extend(std::mem::take(&mut self.tables));
                self.tables = e.table_ids.clone();
                self.combination = e.combination_id.clone();
                self.reassignments += 1;
            }
            BookingEvent::ChangeRequested(e) => {
                self.revision = e.revision;
                self.pending_change = Some(e.clone());
            }
            BookingEvent::Changed(e) => {
                self.pending_change = None;
                self.tables = e.to.table_ids.clone();
                self.time_slot = Some(e.to.time_slot);
                self.people = e.to.people;
                self.combination = e.to.combination_id.clone();
            }
            BookingEvent::ChangeRejected(e) => {
                self.pending_change = None;
                self.change_refusal = Some((e.revision, e.reason));
            }
            BookingEvent::Confirmed(e) => {
                self.status = Some(BookingStatus::Confirmed);
                // The tables it holds, whatever place it was given on the way.
                if !e.table_ids.is_empty() {
                    self.tables = e.table_ids.clone();
                }
            }
            BookingEvent::Rejected(e) => {
                self.status = Some(BookingStatus::Rejected);
                self.rejection = Some(e.reason);
            }
            BookingEvent::Cancelled(e) => {
                self.status = Some(BookingStatus::Cancelled);
                self.cancellation = Some(e.cause);
            }
            BookingEvent::CustomerErased(_) => {
                self.customer_erased = true;
                if let Some(request) = &mut self.request {
                    request.customer = None;
                    request.sealed_customer = None;
                }
            }
        }
        self
    }
}

mod change;
#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod tests;
