//! Erase: a guest's details forgotten (crypto-shredding, ADR 0024). The booking's data key
//! goes first, so that nothing sealed with it (customer, access code, notes) can be read
//! again whatever happens next; then `table-booking-customer-erased` is recorded. Both
//! steps are idempotent: a retry after a failure in between completes the erasure.

use std::future::Future;

use domain::{Booking, BookingCommand, BookingRejection};
use events::BookingId;
use eventstore::{AppendContext, EventLog, ExecuteError, Repository};

use crate::adapters::customers::{CustomerError, Customers};

/// Destroys the data key of a booking.
pub trait Shredder: Send + Sync {
    fn shred(&self, booking: BookingId) -> impl Future<Output = Result<(), CustomerError>> + Send;
}

impl Shredder for Customers {
    async fn shred(&self, booking: BookingId) -> Result<(), CustomerError> {
        Customers::erase(self, booking).await
    }
}

/// Why an erasure did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error(transparent)]
    Key(#[from] CustomerError),
    #[error(transparent)]
    Booking(#[from] ExecuteError<BookingRejection>),
}

/// What erasing needs.
#[derive(Debug)]
pub struct Erase<'a, L: EventLog, S: Shredder> {
    pub bookings: &'a Repository<Booking, L>,
    pub keys: &'a S,
}

impl<L: EventLog, S: Shredder> Erase<'_, L, S> {
    /// The booking as the stream's leader has it: an erasure must not miss a recent one.
    pub async fn stored(&self, id: BookingId) -> Result<Booking, ExecuteError<BookingRejection>> {
        let (booking, _) = self
            .bookings
            .load_fresh(&id)
            .await
            .map_err(ExecuteError::Load)?;
        Ok(booking)
    }

    /// Erases the customer of booking `id`: the booking after (one erased already stays
    /// as it is, with nothing more written).
    pub async fn erase(&self, id: BookingId) -> Result<Booking, EraseError> {
        self.keys.shred(id).await?;
        let context = AppendContext::unique("erase-customer", id.into());
        let executed = self
            .bookings
            .execute(&id, &BookingCommand::EraseCustomer, &context)
            .await?;
        Ok(executed.into_state())
    }

    /// Erases the customer of every booking of `ids` that has one not erased yet (an id
    /// named twice counts once): how many were erased.
    pub async fn erase_all(&self, mut ids: Vec<BookingId>) -> Result<usize, EraseError> {
        ids.sort_unstable();
        ids.dedup();
        let mut erased = 0;
        for id in ids {
            let booking = self.stored(id).await?;
            if booking.request.is_some() && !booking.customer_erased {
                self.erase(id).await?;
                erased += 1;
            }
        }
        Ok(erased)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use events::fixtures::*;
    use events::{BookingEvent, TableBookingCustomerErased};
    use eventstore::InMemory;
    use eventstore::testing::Scenario;

    use super::*;

    /// The keys destroyed, in order.
    #[derive(Debug, Default)]
    struct Shredded(Mutex<Vec<BookingId>>);

    impl Shredder for Shredded {
        async fn shred(&self, booking: BookingId) -> Result<(), CustomerError> {
            self.0.lock().expect("not poisoned").push(booking);
            Ok(())
        }
    }

    impl Shredded {
        fn ids(&self) -> Vec<BookingId> {
            self.0.lock().expect("not poisoned").clone()
        }
    }

    fn erased(id: BookingId) -> BookingEvent {
        TableBookingCustomerErased { id }.into()
    }

    fn repository(scenario: &Scenario) -> Repository<Booking, InMemory> {
        Repository::new(scenario.log(), 100, 4)
    }

    #[tokio::test]
    async fn given_a_booking_when_its_customer_is_erased_then_its_key_goes_first_and_the_erasure_is_recorded()
     {
        let id = BookingId::new();
        let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id)]);
        scenario.mark();
        let (bookings, keys) = (repository(&scenario), Shredded::default());
        let erase = Erase {
            bookings: &bookings,
            keys: &keys,
        };
        let booking = erase.erase(id).await.expect("erased");
        assert!(booking.customer_erased);
        assert_eq!(keys.ids(), [id]);
        assert_eq!(scenario.then::<BookingEvent>(), vec![erased(id)]);
    }

    #[tokio::test]
    async fn given_an_erased_booking_when_erased_again_then_nothing_more_is_written() {
        let id = BookingId::new();
        let mut scenario =
            Scenario::new().given(&id, [initiated(id, 2), confirmed(id), erased(id)]);
        scenario.mark();
        let (bookings, keys) = (repository(&scenario), Shredded::default());
        let erase = Erase {
            bookings: &bookings,
            keys: &keys,
        };
        assert!(erase.erase(id).await.expect("answered").customer_erased);
        assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_bookings_of_one_email_when_all_are_erased_then_each_not_erased_yet_counts_once()
    {
        let (first, second, done, unknown) = (
            BookingId::new(),
            BookingId::new(),
            BookingId::new(),
            BookingId::new(),
        );
        let mut scenario = Scenario::new()
            .given(&first, [initiated(first, 2), confirmed(first)])
            .given(&second, [initiated(second, 4), cancelled(second)])
            .given(&done, [initiated(done, 2), erased(done)]);
        scenario.mark();
        let (bookings, keys) = (repository(&scenario), Shredded::default());
        let erase = Erase {
            bookings: &bookings,
            keys: &keys,
        };
        let ids = vec![first, second, first, done, unknown];
        assert_eq!(erase.erase_all(ids).await.expect("erased"), 2);
        let mut expected = vec![first, second];
        expected.sort_unstable();
        assert_eq!(keys.ids(), expected, "no key of a booking not to erase");
        let mut recorded = scenario.then::<BookingEvent>();
        recorded.sort_by_key(BookingEvent::booking_id);
        let mut wanted = vec![erased(first), erased(second)];
        wanted.sort_by_key(BookingEvent::booking_id);
        assert_eq!(recorded, wanted);
    }
}
