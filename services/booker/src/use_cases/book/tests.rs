//! Given/when/then tests of booking, over the in-memory event log, without HTTP.

use std::time::Duration;

use domain::SlotSchedule;
use events::fixtures::*;
use events::{BookingEvent, BookingStatus, Customer, RejectionReason};
use eventstore::InMemory;
use eventstore::testing::Scenario;

use super::*;
use crate::adapters::customers::Sealed;
use crate::edge::keys::ServerKey;
use crate::use_cases::testing::{Shown, table};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Customers are sealed as `sealed:<name>`: what is written shows they were sealed.
struct Plain;

impl Sealer for Plain {
    async fn seal(
        &self,
        _booking: BookingId,
        customer: &Customer,
        _code: &AccessCode,
    ) -> Result<Sealed, CustomerError> {
        Ok(Sealed {
            customer: format!("sealed:{}", customer.name),
            email_digest: "email-digest".to_owned(),
            access_code: "sealed-code".to_owned(),
        })
    }
}

/// The parts of a booker over the scenario's log, with the floor `shown`.
struct Booker {
    bookings: Repository<Booking, InMemory>,
    known_tables: KnownTables<InMemory>,
    floors: Shown,
    claims: Claims,
    outcomes: Arc<Outcomes>,
    keys: Keys,
    rules: SlotRules,
}

impl Booker {
    fn over(scenario: &Scenario, floors: Shown) -> Self {
        Self {
            bookings: Repository::new(scenario.log(), 100, 4),
            known_tables: KnownTables::new(scenario.log()),
            floors,
            claims: Claims::new(Duration::from_secs(40)),
            outcomes: Arc::default(),
            keys: Keys::new(ServerKey::parse(KEY).expect("key"), Vec::new()),
            rules: SlotRules {
                schedule: SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots"),
                zone: jiff::tz::TimeZone::get("Europe/Paris").expect("zone"),
                horizon_days: 90,
            },
        }
    }

    async fn book(&self, id: BookingId, request: &BookingRequest) -> Result<Booked, BookError> {
        let code = AccessCode::from_input("K7QX2");
        let who = Identity {
            id,
            access_code: &code,
            replayable: true,
        };
        let book = Book {
            bookings: &self.bookings,
            known_tables: &self.known_tables,
            floors: &self.floors,
            claims: &self.claims,
            outcomes: &self.outcomes,
            customers: &Plain,
            keys: &self.keys,
            rules: &self.rules,
        };
        // No wait: the outcome is the consumers' to decide.
        book.book(who, request, Duration::ZERO).await
    }
}

fn empty_floor() -> Shown {
    Shown {
        tables: Vec::new(),
        locks: Vec::new(),
    }
}

fn for_table(id: &str) -> BookingRequest {
    BookingRequest {
        table_id: Some(table(id)),
        time_slot: dinner(),
        people: Some(people(2)),
        customer: Some(Customer {
            name: "Ada".to_owned(),
            email: "ada@example.com".to_owned(),
        }),
    }
}

fn for_party(n: u64) -> BookingRequest {
    BookingRequest {
        table_id: None,
        people: Some(people(n)),
        ..for_table("t1")
    }
}

/// The one `table-booking-initiated` the scenario recorded.
fn initiated_recorded(scenario: &Scenario) -> TableBookingInitiated {
    let mut recorded = scenario.then::<BookingEvent>();
    assert!(!recorded.is_empty(), "nothing was recorded");
    match recorded.remove(0) {
        BookingEvent::Initiated(initiated) => initiated,
        other => panic!("recorded first: {other:?}"),
    }
}

#[tokio::test]
async fn given_a_table_added_when_a_guest_books_it_then_it_is_initiated_there_with_the_customer_sealed()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    scenario.mark();
    let booked = Booker::over(&scenario, empty_floor())
        .book(id, &for_table("t1"))
        .await
        .expect("booked");
    assert_eq!(booked.booking.status, Some(BookingStatus::Initiated));
    assert!(booked.alternatives.is_none());
    let initiated = initiated_recorded(&scenario);
    assert_eq!(initiated.table_ids, vec![t1()]);
    assert!(!initiated.assigned && !initiated.unknown_table);
    assert_eq!(initiated.customer, None, "never in the clear");
    assert_eq!(initiated.sealed_customer.as_deref(), Some("sealed:Ada"));
    assert_eq!(initiated.email_digest.as_deref(), Some("email-digest"));
}

#[tokio::test]
async fn given_no_such_table_when_a_guest_books_it_then_it_is_rejected_at_once_as_not_found() {
    let id = BookingId::new();
    let scenario = Scenario::new();
    let booked = Booker::over(&scenario, empty_floor())
        .book(id, &for_table("t9"))
        .await
        .expect("answered");
    assert_eq!(booked.booking.status, Some(BookingStatus::Rejected));
    assert_eq!(
        booked.booking.rejection,
        Some(RejectionReason::TableNotFound)
    );
    // Not for want of a place: no alternatives.
    assert!(booked.alternatives.is_none());
    let recorded = scenario.then::<BookingEvent>();
    assert_eq!(recorded.len(), 2, "initiated, then rejected: {recorded:?}");
    assert!(initiated_recorded(&scenario).unknown_table);
}

#[tokio::test]
async fn given_a_free_table_when_a_party_books_by_size_then_it_is_given_and_its_claim_stands() {
    let id = BookingId::new();
    let scenario = Scenario::new();
    let floor = Shown {
        tables: vec![("t1", 2), ("t2", 4)],
        locks: vec![("t2", dinner())],
    };
    let booker = Booker::over(&scenario, floor);
    let booked = booker.book(id, &for_party(2)).await.expect("booked");
    assert_eq!(booked.booking.status, Some(BookingStatus::Initiated));
    let initiated = initiated_recorded(&scenario);
    assert_eq!(initiated.table_ids, vec![t1()]);
    assert!(initiated.assigned);
    assert_eq!(
        booker.claims.len(),
        1,
        "claimed until the booking is decided"
    );
}

#[tokio::test]
async fn given_every_table_held_when_a_party_books_by_size_then_it_is_rejected_and_alternatives_are_sought()
 {
    let id = BookingId::new();
    let scenario = Scenario::new();
    let floor = Shown {
        tables: vec![("t1", 4)],
        locks: vec![("t1", dinner())],
    };
    let booker = Booker::over(&scenario, floor);
    let booked = booker.book(id, &for_party(2)).await.expect("answered");
    assert_eq!(booked.booking.status, Some(BookingStatus::Rejected));
    assert_eq!(
        booked.booking.rejection,
        Some(RejectionReason::NoTableAvailable)
    );
    assert!(
        booked.alternatives.is_some(),
        "a refusal for want of a place"
    );
    assert_eq!(booker.claims.len(), 0);
}

#[tokio::test]
async fn given_a_booking_made_when_its_retry_is_given_other_tables_then_it_keeps_its_own_and_the_claim_goes()
 {
    let id = BookingId::new();
    // Made earlier by this very request: given t1 by the restaurant.
    let earlier = TableBookingInitiated {
        assigned: true,
        ..request_for(&t1(), id, 2)
    };
    let mut scenario = Scenario::new().given(&id, [earlier.into()]);
    scenario.mark();
    let floor = Shown {
        tables: vec![("t2", 2)],
        locks: Vec::new(),
    };
    let booker = Booker::over(&scenario, floor);
    let mut retry = for_party(2);
    retry.customer = None;
    let booked = booker.book(id, &retry).await.expect("answered");
    assert_eq!(
        booked.booking.tables,
        vec![t1()],
        "the place it was given then"
    );
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    assert_eq!(booker.claims.len(), 0, "t2 is free for the next party");
}

#[tokio::test]
async fn given_a_booking_made_when_its_id_is_used_for_another_request_then_the_key_is_reused() {
    let id = BookingId::new();
    let mut scenario = Scenario::new()
        .given(&t1(), [added(4)])
        .given(&id, [initiated(id, 2)]);
    scenario.mark();
    let booker = Booker::over(&scenario, empty_floor());
    let mut other = for_table("t1");
    other.time_slot = lunch();
    let refused = booker.book(id, &other).await.expect_err("refused");
    assert!(matches!(refused, BookError::KeyReused), "{refused:?}");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}
