//! Given/when/then tests of the read models.

use events::{
    AccessCodeDigest, BookingId, CausationId, CorrelationId, Customer, EventId, LockRemovalCause,
    PartySize, RejectionReason, Seats, TableAdded, TableBookingConfirmed, TableBookingInitiated,
    TableBookingRejected, TableId, TableLockPlaced, TableLockRemoved, TableRemoved, TimeSlot,
};
use jiff::Timestamp;

use super::*;

fn metadata(event_type: &str, booking: BookingId) -> Metadata {
    Metadata {
        event_id: EventId::new(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        correlation_id: CorrelationId::from_uuid(booking.as_uuid()),
        causation_id: CausationId::new(),
        occurred_at: Timestamp::UNIX_EPOCH,
    }
}

fn slot() -> TimeSlot {
    TimeSlot::new(
        "2026-12-24T18:00:00Z".parse().expect("from"),
        "2026-12-24T20:00:00Z".parse().expect("to"),
    )
    .expect("slot")
}

fn table(id: &str) -> TableId {
    TableId::parse(id).expect("table id")
}

fn initiated(id: BookingId) -> BookingEvent {
    BookingEvent::Initiated(TableBookingInitiated {
        id,
        table_id: Some(table("t1")),
        table_ids: vec![table("t1")],
        combination_id: None,
        assigned: false,
        time_slot: slot(),
        people: PartySize::new(2).ok(),
        customer: Some(Customer {
            name: "Ada".to_owned(),
            email: "Ada@Example.com".to_owned(),
        }),
        access_code_digest: AccessCodeDigest::new("ab".repeat(32)),
        unknown_table: false,
        sealed_customer: None,
        email_digest: None,
        sealed_access_code: None,
    })
}

fn booking(docs: &mut Docs, sequence: u64, event: &BookingEvent) {
    let meta = metadata(event.event_type(), event.booking_id());
    for key in booking_keys(event) {
        if !docs.has(&key) {
            docs.load(&key, None).expect("load");
        }
    }
    apply_booking(docs, sequence, &meta, event);
}

fn table_event(docs: &mut Docs, sequence: u64, event: &TableEvent) {
    let meta = metadata(event.event_type(), BookingId::new());
    for key in table_keys(event) {
        if !docs.has(&key) {
            docs.load(&key, None).expect("load");
        }
    }
    apply_table(docs, sequence, &meta, event);
}

#[test]
fn given_an_initiated_booking_when_it_is_confirmed_then_the_view_says_confirmed_with_both_events() {
    let id = BookingId::new();
    let mut docs = Docs::default();
    booking(&mut docs, 1, &initiated(id));
    let confirmed = BookingEvent::Confirmed(TableBookingConfirmed {
        id,
        table_id: Some(table("t1")),
        table_ids: vec![table("t1")],
        time_slot: slot(),
    });
    booking(&mut docs, 5, &confirmed);

    let view = docs.booking(id).expect("booking");
    assert_eq!(view.status, BookingStatus::Confirmed);
    assert_eq!(view.sequence, 5);
    let types: Vec<&str> = view.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["table-booking-initiated", "table-booking-confirmed"]
    );
    assert!(view.events[0].data.get("accessCodeDigest").is_none());
}

#[test]
fn given_a_rejected_booking_when_its_initiated_event_is_replayed_then_nothing_changes() {
    let id = BookingId::new();
    let mut docs = Docs::default();
    booking(&mut docs, 1, &initiated(id));
    let rejected = BookingEvent::Rejected(TableBookingRejected {
        id,
        reason: RejectionReason::SlotTaken,
        table_id: Some(TableId::parse("t1").expect("id")),
        table_ids: vec![table("t1")],
        time_slot: Some(slot()),
    });
    booking(&mut docs, 3, &rejected);
    let before = docs.booking(id).cloned();

    booking(&mut docs, 1, &initiated(id));
    booking(&mut docs, 3, &rejected);

    assert_eq!(docs.booking(id).cloned(), before);
    assert_eq!(
        docs.booking(id).map(|b| (b.status, b.reason)),
        Some((BookingStatus::Rejected, Some(RejectionReason::SlotTaken)))
    );
}

#[test]
fn given_a_booking_with_a_customer_then_a_locator_entry_of_its_own_holds_its_code_digest() {
    let id = BookingId::new();
    let mut docs = Docs::default();
    booking(&mut docs, 1, &initiated(id));
    let entry = docs.locator(" ada@example.COM", id).expect("locator entry");
    assert_eq!(
        entry.access_code_digest,
        AccessCodeDigest::new("ab".repeat(32))
    );
}

#[test]
fn given_many_bookings_of_one_email_then_each_has_its_own_small_locator_document() {
    let mut docs = Docs::default();
    for sequence in 1..=500 {
        booking(&mut docs, sequence, &initiated(BookingId::new()));
    }
    let locators: Vec<(Key, Vec<u8>)> = docs
        .changed()
        .expect("encode")
        .into_iter()
        .filter(|(key, _)| matches!(key, Key::Locator { .. }))
        .collect();
    assert_eq!(locators.len(), 500);
    let largest = locators.iter().map(|(_, doc)| doc.len()).max();
    assert!(largest < Some(200), "{largest:?}");
}

#[test]
fn given_a_lock_when_another_bookings_removal_arrives_then_the_lock_stays_and_its_own_frees_it() {
    let (mine, other) = (BookingId::new(), BookingId::new());
    let mut docs = Docs::default();
    let placed = TableEvent::LockPlaced(TableLockPlaced {
        id: table("t1"),
        time_slot: slot(),
        booking_id: mine,
        revision: 0,
    });
    table_event(&mut docs, 2, &placed);
    let removal = |booking_id| {
        TableEvent::LockRemoved(TableLockRemoved {
            id: table("t1"),
            time_slot: slot(),
            booking_id,
            revision: 0,
            cause: LockRemovalCause::BookingCancelled,
        })
    };
    let day = day_of(&slot());
    table_event(&mut docs, 3, &removal(other));
    assert_eq!(docs.day(day).map(|d| d.locks.len()), Some(1));
    table_event(&mut docs, 4, &removal(mine));
    assert_eq!(docs.day(day).map(|d| d.locks.len()), Some(0));
    assert_eq!(
        docs.booking_locks(mine).map(|l| l.events.len()),
        Some(2),
        "placed and removed, once each"
    );
}

#[test]
fn given_tables_when_one_is_removed_then_it_stays_known_but_flagged() {
    let mut docs = Docs::default();
    let added = |id: &str| {
        TableEvent::Added(TableAdded {
            id: table(id),
            seats: Seats::new(4).expect("seats"),
        })
    };
    table_event(&mut docs, 1, &added("t2"));
    table_event(&mut docs, 2, &added("t1"));
    table_event(
        &mut docs,
        3,
        &TableEvent::Removed(TableRemoved { id: table("t2") }),
    );
    table_event(&mut docs, 1, &added("t2"));

    let tables = docs.tables().expect("tables");
    let listed: Vec<(&str, bool)> = tables
        .tables
        .iter()
        .map(|(id, t)| (id.as_str(), t.removed))
        .collect();
    assert_eq!(listed, [("t1", false), ("t2", true)]);
}

#[test]
fn changed_documents_are_reported_once_until_written() {
    let mut docs = Docs::default();
    booking(&mut docs, 1, &initiated(BookingId::new()));
    let keys: Vec<String> = docs
        .changed()
        .expect("encode")
        .iter()
        .map(|(k, _)| k.name().split('.').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(keys, ["booking", "locator"]);
    docs.written();
    assert!(docs.changed().expect("encode").is_empty());
}

#[test]
fn given_a_combination_when_it_is_removed_and_its_events_replayed_then_it_stays_removed() {
    let mut docs = Docs::default();
    let c1 = events::CombinationId::parse("c1").expect("id");
    let added = TableEvent::CombinationAdded(events::TableCombinationAdded {
        id: c1.clone(),
        tables: vec![table("t1"), table("t2")],
        seats: Seats::new(6).expect("seats"),
    });
    let removed =
        TableEvent::CombinationRemoved(events::TableCombinationRemoved { id: c1.clone() });
    table_event(&mut docs, 5, &added);
    table_event(&mut docs, 7, &removed);
    // Replayed after a crash before the checkpoint: nothing goes back.
    table_event(&mut docs, 5, &added);

    let combination = &docs.tables().expect("tables").combinations[&c1];
    assert_eq!(
        (combination.removed, combination.seats, combination.sequence),
        (true, 6, 7)
    );
    assert_eq!(combination.tables, [table("t1"), table("t2")]);
}

#[test]
fn given_a_confirmed_booking_when_a_change_is_requested_then_it_shows_pending_and_once_changed_the_new_place()
 {
    use events::{BookingPlace, TableBookingChangeRequested, TableBookingChanged};
    let id = BookingId::new();
    let mut docs = Docs::default();
    booking(&mut docs, 1, &initiated(id));
    let lunch = TimeSlot::new(
        "2026-12-24T11:00:00Z".parse().expect("from"),
        "2026-12-24T13:00:00Z".parse().expect("to"),
    )
    .expect("slot");
    let from = BookingPlace {
        time_slot: slot(),
        table_ids: vec![table("t1")],
        combination_id: None,
        people: PartySize::new(2).ok(),
    };
    let to = BookingPlace {
        time_slot: lunch,
        table_ids: vec![table("t2"), table("t3")],
        combination_id: None,
        people: PartySize::new(6).ok(),
    };
    let requested = BookingEvent::ChangeRequested(TableBookingChangeRequested {
        id,
        revision: 1,
        from: from.clone(),
        to: to.clone(),
        assigned: true,
    });
    booking(&mut docs, 3, &requested);
    let view = docs.booking(id).expect("booking");
    assert_eq!(view.pending_change.as_ref(), Some(&to));
    assert_eq!(view.time_slot, slot(), "not moved yet");

    let changed = BookingEvent::Changed(TableBookingChanged {
        id,
        revision: 1,
        from,
        to,
    });
    booking(&mut docs, 6, &changed);
    // Replayed (a redelivery, a rebuild that meets it again): the same view.
    booking(&mut docs, 6, &changed);
    let view = docs.booking(id).expect("booking");
    assert_eq!(view.pending_change, None);
    assert_eq!(view.time_slot, lunch);
    assert_eq!(view.tables(), vec![table("t2"), table("t3")]);
    assert_eq!(view.table_id, None);
    assert_eq!(view.people, PartySize::new(6).ok());
    assert_eq!(view.events.len(), 3);
}
