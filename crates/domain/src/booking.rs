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
    /// The table was locked for this booking.
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

            BookingCommand::Confirm {
                table_id,
                time_slot,
            } => {
                if table_id != &request.table_id || time_slot != &request.time_slot {
                    return Err(BookingRejection::LockMismatch);
                }
                match status {
                    S::Initiated => Ok(vec![
                        TableBookingConfirmed {
                            id: request.id,
                            table_id: table_id.clone(),
                            time_slot: *time_slot,
                        }
                        .into(),
                    ]),
                    S::Confirmed => Ok(vec![]),
                    status => Err(BookingRejection::NotLive(status)),
                }
            }

            BookingCommand::Reject { reason } => match status {
                S::Initiated => Ok(vec![
                    TableBookingRejected {
                        id: request.id,
                        reason: *reason,
                        table_id: Some(request.table_id.clone()),
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
                        table_id: Some(request.table_id.clone()),
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
mod tests {
    use super::*;
    use events::fixtures::{
        cancelled, confirmed, dinner, initiated, rejected, request_for, t1, ts,
    };

    fn request(id: BookingId) -> TableBookingInitiated {
        request_for(&t1(), id, 2)
    }

    fn confirm() -> BookingCommand {
        BookingCommand::Confirm {
            table_id: t1(),
            time_slot: dinner(),
        }
    }

    fn cancel_at(now: &str) -> BookingCommand {
        BookingCommand::Cancel {
            cause: CancellationCause::Customer,
            now: ts(now),
        }
    }

    fn given(events: &[BookingEvent]) -> Booking {
        Booking::replay(events)
    }

    #[test]
    fn given_no_booking_when_a_customer_initiates_one_then_it_is_initiated() {
        let id = BookingId::new();
        let events = given(&[]).decide(&BookingCommand::Initiate(request(id)));
        assert_eq!(events, Ok(vec![initiated(id, 2)]));
        assert_eq!(
            given(&[initiated(id, 2)]).status,
            Some(BookingStatus::Initiated)
        );
    }

    #[test]
    fn given_an_initiated_booking_when_the_same_request_comes_again_then_nothing_changes() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2)]);
        assert_eq!(
            booking.decide(&BookingCommand::Initiate(request(id))),
            Ok(vec![])
        );
    }

    #[test]
    fn given_a_booking_made_by_an_earlier_release_when_its_keyed_request_is_retried_then_nothing_changes()
     {
        // The earlier release kept the customer in clear; this one seals it.
        let id = BookingId::new();
        let mut earlier = request(id);
        earlier.customer = Some(events::Customer {
            name: "Ada".into(),
            email: "ada@example.com".into(),
        });
        let mut retried = request(id);
        retried.access_code_digest = events::AccessCodeDigest::new("hmac-sha256:0a0b0c0d:ff");
        retried.sealed_customer = Some("v1:00:11".to_owned());
        retried.email_digest = Some("ab".repeat(32));
        let booking = given(&[earlier.into()]);
        assert_eq!(
            booking.decide(&BookingCommand::Initiate(retried)),
            Ok(vec![])
        );
    }

    #[test]
    fn given_a_booking_rejected_for_an_unknown_table_when_the_request_is_retried_then_nothing_changes()
     {
        // The table may have been added since: the retry is still the same request.
        let id = BookingId::new();
        let unknown = TableBookingInitiated {
            unknown_table: true,
            ..request(id)
        };
        let booking = given(&[unknown.into(), rejected(id, RejectionReason::TableNotFound)]);
        assert_eq!(
            booking.decide(&BookingCommand::Initiate(request(id))),
            Ok(vec![])
        );
    }

    #[test]
    fn given_a_confirmed_booking_when_its_customer_is_erased_then_the_person_goes_and_the_booking_stays()
     {
        let id = BookingId::new();
        let mut request = request(id);
        request.sealed_customer = Some("sealed".to_owned());
        let booking = given(&[request.into(), confirmed(id)]);
        let events = booking.decide(&BookingCommand::EraseCustomer);
        let erased: BookingEvent = TableBookingCustomerErased { id }.into();
        assert_eq!(events, Ok(vec![erased.clone()]));
        let after = booking.evolve(&erased);
        assert!(after.customer_erased);
        assert_eq!(after.status, Some(BookingStatus::Confirmed));
        let kept = after.request.as_ref().expect("request");
        assert_eq!(
            (kept.customer.clone(), kept.sealed_customer.clone()),
            (None, None)
        );
        assert_eq!(kept.table_id, t1());
        // Erasing again changes nothing.
        assert_eq!(after.decide(&BookingCommand::EraseCustomer), Ok(vec![]));
    }

    #[test]
    fn given_no_booking_when_its_customer_is_erased_then_it_is_not_found() {
        assert_eq!(
            given(&[]).decide(&BookingCommand::EraseCustomer),
            Err(BookingRejection::NotFound)
        );
    }

    #[test]
    fn given_a_booking_when_a_different_request_uses_its_id_then_it_is_refused() {
        let id = BookingId::new();
        let mut other = request(id);
        other.people = None;
        let result = given(&[initiated(id, 2)]).decide(&BookingCommand::Initiate(other));
        assert_eq!(result, Err(BookingRejection::AlreadyExists));
    }

    #[test]
    fn given_no_booking_when_anything_but_initiate_arrives_then_it_is_not_found() {
        for command in [
            confirm(),
            BookingCommand::Reject {
                reason: RejectionReason::Timeout,
            },
            cancel_at("2026-12-01T00:00:00Z"),
        ] {
            assert_eq!(given(&[]).decide(&command), Err(BookingRejection::NotFound));
        }
    }

    #[test]
    fn given_an_initiated_booking_when_its_lock_is_placed_then_it_is_confirmed() {
        let id = BookingId::new();
        assert_eq!(
            given(&[initiated(id, 2)]).decide(&confirm()),
            Ok(vec![confirmed(id)])
        );
    }

    #[test]
    fn given_a_confirmed_booking_when_the_confirmation_is_redelivered_then_nothing_changes() {
        let id = BookingId::new();
        assert_eq!(
            given(&[initiated(id, 2), confirmed(id)]).decide(&confirm()),
            Ok(vec![])
        );
    }

    #[test]
    fn given_a_booking_when_a_lock_for_another_slot_confirms_it_then_it_is_refused() {
        let id = BookingId::new();
        let other_slot =
            TimeSlot::new(ts("2026-12-25T18:00:00Z"), ts("2026-12-25T20:00:00Z")).expect("slot");
        let command = BookingCommand::Confirm {
            table_id: t1(),
            time_slot: other_slot,
        };
        assert_eq!(
            given(&[initiated(id, 2)]).decide(&command),
            Err(BookingRejection::LockMismatch)
        );
    }

    #[test]
    fn given_a_rejected_or_cancelled_booking_when_a_late_lock_confirms_it_then_it_is_not_live() {
        let id = BookingId::new();
        let rejected_booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
        assert_eq!(
            rejected_booking.decide(&confirm()),
            Err(BookingRejection::NotLive(BookingStatus::Rejected))
        );
        let cancelled_booking = given(&[initiated(id, 2), cancelled(id)]);
        assert_eq!(
            cancelled_booking.decide(&confirm()),
            Err(BookingRejection::NotLive(BookingStatus::Cancelled))
        );
        assert!(!rejected_booking.status.is_some_and(BookingStatus::is_live));
        assert!(!cancelled_booking.status.is_some_and(BookingStatus::is_live));
    }

    #[test]
    fn given_an_initiated_booking_when_its_lock_fails_or_it_times_out_then_it_is_rejected_with_the_reason()
     {
        let id = BookingId::new();
        for reason in [RejectionReason::SlotTaken, RejectionReason::Timeout] {
            let events = given(&[initiated(id, 2)]).decide(&BookingCommand::Reject { reason });
            assert_eq!(events, Ok(vec![rejected(id, reason)]));
        }
        let state = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
        assert_eq!(state.rejection, Some(RejectionReason::SlotTaken));
    }

    #[test]
    fn given_a_confirmed_booking_when_a_timeout_arrives_then_it_stays_confirmed() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), confirmed(id)]);
        let result = booking.decide(&BookingCommand::Reject {
            reason: RejectionReason::Timeout,
        });
        assert_eq!(
            result,
            Err(BookingRejection::NotPending(BookingStatus::Confirmed))
        );
    }

    #[test]
    fn given_a_rejected_booking_when_the_rejection_is_redelivered_then_nothing_changes() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
        let result = booking.decide(&BookingCommand::Reject {
            reason: RejectionReason::Timeout,
        });
        assert_eq!(result, Ok(vec![]));
    }

    #[test]
    fn given_a_confirmed_booking_when_cancelled_before_its_slot_then_it_is_cancelled() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), confirmed(id)]);
        assert_eq!(
            booking.decide(&cancel_at("2026-12-24T17:59:59Z")),
            Ok(vec![cancelled(id)])
        );
    }

    #[test]
    fn given_a_pending_booking_when_cancelled_then_it_is_cancelled_and_a_late_lock_is_not_live() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2)]);
        assert_eq!(
            booking.decide(&cancel_at("2026-12-01T00:00:00Z")),
            Ok(vec![cancelled(id)])
        );
    }

    #[test]
    fn given_a_confirmed_booking_when_cancelled_once_its_slot_started_then_it_is_refused() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), confirmed(id)]);
        assert_eq!(
            booking.decide(&cancel_at("2026-12-24T18:00:00Z")),
            Err(BookingRejection::SlotStarted)
        );
    }

    #[test]
    fn given_a_rejected_booking_when_cancelled_then_it_is_refused_as_already_rejected() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
        assert_eq!(
            booking.decide(&cancel_at("2026-12-01T00:00:00Z")),
            Err(BookingRejection::AlreadyRejected)
        );
    }

    #[test]
    fn given_a_cancelled_booking_when_cancelled_again_then_nothing_changes() {
        let id = BookingId::new();
        let booking = given(&[initiated(id, 2), confirmed(id), cancelled(id)]);
        assert_eq!(
            booking.decide(&cancel_at("2026-12-24T19:00:00Z")),
            Ok(vec![])
        );
    }
}
