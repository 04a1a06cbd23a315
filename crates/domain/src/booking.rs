//! The Booking aggregate: one customer's request for a table in a slot, from initiated to
//! confirmed, rejected or cancelled.

use events::{
    BookingEvent, BookingId, BookingStatus, CancellationCause, RejectionReason,
    TableBookingCancelled, TableBookingConfirmed, TableBookingCustomerErased,
    TableBookingInitiated, TableBookingRejected, TableId, TimeSlot,
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
    /// The booking can never be confirmed (lock refused, or timed out).
    Reject { reason: RejectionReason },
    /// The customer or staff give the booking up before its slot starts.
    Cancel {
        cause: CancellationCause,
        now: Timestamp,
    },
    /// The customer's personal data is erased (its key is gone); the booking stands.
    EraseCustomer,
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
                if !request.table_ids.contains(table_id) || time_slot != &request.time_slot {
                    return Err(BookingRejection::LockMismatch);
                }
                match status {
                    S::Initiated if request.table_ids.iter().max() == Some(table_id) => Ok(vec![
                        TableBookingConfirmed {
                            id: request.id,
                            table_id: events::single(&request.table_ids),
                            table_ids: request.table_ids.clone(),
                            time_slot: *time_slot,
                        }
                        .into(),
                    ]),
                    S::Initiated | S::Confirmed => Ok(vec![]),
                    status => Err(BookingRejection::NotLive(status)),
                }
            }

            BookingCommand::Reject { reason } => match status {
                S::Initiated => Ok(vec![
                    TableBookingRejected {
                        id: request.id,
                        reason: *reason,
                        table_id: events::single(&request.table_ids),
                        table_ids: request.table_ids.clone(),
                        time_slot: Some(request.time_slot),
                    }
                    .into(),
                ]),
                S::Rejected => Ok(vec![]),
                status => Err(BookingRejection::NotPending(status)),
            },

            BookingCommand::Cancel { cause, now } => match status {
                S::Cancelled => Ok(vec![]),
                S::Rejected => Err(BookingRejection::AlreadyRejected),
                _ if *now >= request.time_slot.from() => Err(BookingRejection::SlotStarted),
                _ => Ok(vec![
                    TableBookingCancelled {
                        id: request.id,
                        cause: *cause,
                        table_id: events::single(&request.table_ids),
                        table_ids: request.table_ids.clone(),
                        time_slot: Some(request.time_slot),
                    }
                    .into(),
                ]),
            },
        }
    }

    fn evolve(mut self, event: &BookingEvent) -> Self {
        match event {
            BookingEvent::Initiated(e) => {
                self.status = Some(BookingStatus::Initiated);
                self.request = Some(e.clone());
            }
            BookingEvent::Confirmed(_) => self.status = Some(BookingStatus::Confirmed),
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

#[cfg(test)]
mod tests;
