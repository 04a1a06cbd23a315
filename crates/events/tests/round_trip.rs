//! Every event survives encode -> decode unchanged, keeps its DESIGN.md type name and wire
//! shape, and bad input decodes to a typed error.

use events::*;
use serde_json::json;

fn slot() -> TimeSlot {
    TimeSlot::new(
        "2026-12-24T18:00:00Z".parse().expect("from"),
        "2026-12-24T20:00:00Z".parse().expect("to"),
    )
    .expect("slot")
}

fn table() -> TableId {
    TableId::parse("t1").expect("table id")
}

fn booking() -> BookingId {
    BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("booking id")
}

fn table_events() -> Vec<TableEvent> {
    vec![
        TableAdded {
            id: table(),
            seats: Seats::new(4).expect("seats"),
        }
        .into(),
        TableRemoved { id: table() }.into(),
        TableLockPlaced {
            id: table(),
            time_slot: slot(),
            booking_id: booking(),
            revision: 0,
        }
        .into(),
        TableLockPlacementFailed {
            id: table(),
            time_slot: slot(),
            booking_id: booking(),
            revision: 0,
            reason: LockFailureReason::SlotTaken,
        }
        .into(),
        TableLockRemoved {
            id: table(),
            time_slot: slot(),
            booking_id: booking(),
            revision: 0,
            cause: LockRemovalCause::SlotEnded,
        }
        .into(),
        TableCombinationAdded {
            id: CombinationId::parse("c1").expect("combination id"),
            tables: vec![table(), TableId::parse("t2").expect("table id")],
            seats: Seats::new(6).expect("seats"),
        }
        .into(),
        TableCombinationRemoved {
            id: CombinationId::parse("c1").expect("combination id"),
        }
        .into(),
    ]
}

fn booking_events() -> Vec<BookingEvent> {
    vec![
        TableBookingInitiated {
            id: booking(),
            table_id: Some(table()),
            table_ids: vec![table()],
            combination_id: None,
            assigned: false,
            time_slot: slot(),
            people: Some(PartySize::new(4).expect("people")),
            customer: Some(Customer {
                name: "Ada Lovelace".into(),
                email: "ada@example.com".into(),
            }),
            access_code_digest: AccessCodeDigest::new("ab12"),
            unknown_table: false,
            sealed_customer: None,
            email_digest: None,
            sealed_access_code: None,
        }
        .into(),
        TableBookingInitiated {
            id: booking(),
            table_id: None,
            table_ids: vec![table(), TableId::parse("t2").expect("table id")],
            combination_id: Some(CombinationId::parse("c1").expect("combination id")),
            assigned: true,
            time_slot: slot(),
            people: None,
            customer: None,
            access_code_digest: AccessCodeDigest::new("ab12"),
            unknown_table: true,
            sealed_customer: Some("v1:00:11".to_owned()),
            email_digest: Some("ab".repeat(32)),
            sealed_access_code: None,
        }
        .into(),
        TableBookingConfirmed {
            id: booking(),
            table_id: Some(table()),
            table_ids: vec![table()],
            time_slot: slot(),
        }
        .into(),
        TableBookingRejected {
            id: booking(),
            reason: RejectionReason::Timeout,
            table_id: Some(table()),
            table_ids: vec![table()],
            time_slot: Some(slot()),
        }
        .into(),
        TableBookingCancelled {
            id: booking(),
            cause: CancellationCause::Customer,
            table_id: Some(table()),
            table_ids: vec![table()],
            time_slot: Some(slot()),
        }
        .into(),
        TableBookingCustomerErased { id: booking() }.into(),
        TableBookingReassigned {
            id: booking(),
            table_id: None,
            table_ids: vec![table(), TableId::parse("t2").expect("table id")],
            combination_id: Some(CombinationId::parse("c1").expect("combination id")),
            time_slot: slot(),
        }
        .into(),
        TableBookingChangeRequested {
            id: booking(),
            revision: 1,
            from: place(&["t1"]),
            to: place(&["t2", "t3"]),
            assigned: true,
        }
        .into(),
        TableBookingChanged {
            id: booking(),
            revision: 1,
            from: place(&["t1"]),
            to: place(&["t2", "t3"]),
        }
        .into(),
        TableBookingChangeRejected {
            id: booking(),
            revision: 2,
            reason: ChangeRejectionReason::Timeout,
            from: place(&["t1"]),
            to: place(&["t2"]),
        }
        .into(),
    ]
}

fn place(tables: &[&str]) -> BookingPlace {
    BookingPlace {
        time_slot: slot(),
        table_ids: tables
            .iter()
            .map(|t| TableId::parse(t).expect("table id"))
            .collect(),
        combination_id: None,
        people: Some(PartySize::new(4).expect("people")),
    }
}

/// Booking events as the release before schema v2 of `table-booking-rejected` and
/// `-cancelled` wrote them (type, schema version, payload).
fn recorded_v1() -> Vec<(String, u32, Vec<u8>)> {
    recorded(include_str!("fixtures/bookings-v1.json"))
}

/// A fixture file's events: type, schema version, payload.
fn recorded(fixture: &str) -> Vec<(String, u32, Vec<u8>)> {
    let fixture: serde_json::Value = serde_json::from_str(fixture).expect("fixture");
    fixture
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type").to_owned(),
                u32::try_from(e["schemaVersion"].as_u64().expect("version")).expect("u32"),
                serde_json::to_vec(&e["payload"]).expect("payload"),
            )
        })
        .collect()
}

#[test]
fn booking_events_written_as_v1_are_read_as_the_current_version() {
    let decoded: Vec<BookingEvent> = recorded_v1()
        .iter()
        .map(|(event_type, version, payload)| {
            BookingEvent::decode(event_type, *version, payload).expect("upcast")
        })
        .collect();
    assert_eq!(decoded.len(), 4);
    let BookingEvent::Initiated(initiated) = &decoded[0] else {
        panic!("not an initiation: {:?}", decoded[0]);
    };
    assert!(
        !initiated.unknown_table,
        "a v1 booking's table was left to table-manager"
    );
    let BookingEvent::Rejected(rejected) = &decoded[2] else {
        panic!("not a rejection: {:?}", decoded[2]);
    };
    assert_eq!(rejected.reason, RejectionReason::Timeout);
    assert_eq!(
        rejected.lock(),
        None,
        "a v1 rejection does not know its lock"
    );
    let BookingEvent::Cancelled(cancelled) = &decoded[3] else {
        panic!("not a cancellation: {:?}", decoded[3]);
    };
    assert_eq!(cancelled.cause, CancellationCause::Customer);
    assert_eq!(cancelled.lock(), None);
}

/// Booking events as the previous release wrote them (initiated v2 with a sealed customer,
/// confirmed v1, rejected and cancelled v2 with their table, customer-erased v1).
fn recorded_v2() -> Vec<(String, u32, Vec<u8>)> {
    recorded(include_str!("fixtures/bookings-v2.json"))
}

#[test]
fn booking_events_of_the_previous_release_are_read_with_their_one_table_as_table_ids() {
    let decoded: Vec<BookingEvent> = recorded_v2()
        .iter()
        .map(|(event_type, version, payload)| {
            BookingEvent::decode(event_type, *version, payload).expect("upcast")
        })
        .collect();
    assert_eq!(decoded.len(), 5);
    let t1 = vec![table()];
    let BookingEvent::Initiated(initiated) = &decoded[0] else {
        panic!("not an initiation: {:?}", decoded[0]);
    };
    assert_eq!(initiated.table_ids, t1);
    assert_eq!(initiated.table_id, Some(table()));
    assert!(!initiated.assigned && initiated.combination_id.is_none());
    assert!(initiated.sealed_customer.is_some() && initiated.email_digest.is_some());
    let BookingEvent::Confirmed(confirmed) = &decoded[1] else {
        panic!("not a confirmation: {:?}", decoded[1]);
    };
    assert_eq!(confirmed.table_ids, t1);
    for event in &decoded[2..4] {
        let lock = match event {
            BookingEvent::Rejected(e) => e.lock(),
            BookingEvent::Cancelled(e) => e.lock(),
            other => panic!("not a release: {other:?}"),
        };
        assert_eq!(lock, Some((&t1[..], slot())));
    }
    // Written again, they are the current version and decode to the same events.
    decoded.iter().for_each(round_trip);
}

#[test]
fn one_table_is_also_written_as_table_id_and_several_only_as_table_ids() {
    let encoded = |event: &BookingEvent| -> serde_json::Value {
        serde_json::from_slice(&event.encode().expect("encode")).expect("json")
    };
    let events = booking_events();
    assert_eq!(encoded(&events[0])["tableId"], "t1");
    assert_eq!(encoded(&events[0])["tableIds"], json!(["t1"]));
    let joined = encoded(&events[1]);
    assert_eq!(joined.get("tableId"), None);
    assert_eq!(joined["tableIds"], json!(["t1", "t2"]));
    assert_eq!(joined["combinationId"], "c1");
    assert_eq!(joined["assigned"], true);
}

#[test]
fn rejections_and_cancellations_carry_their_tables_and_slot() {
    for event in booking_events() {
        let lock = match &event {
            BookingEvent::Rejected(e) => e.lock(),
            BookingEvent::Cancelled(e) => e.lock(),
            _ => continue,
        };
        assert_eq!(event.schema_version(), 3);
        assert_eq!(lock, Some((&[table()][..], slot())));
        let payload: serde_json::Value =
            serde_json::from_slice(&event.encode().expect("encode")).expect("json");
        assert_eq!(payload["tableId"], "t1");
        assert_eq!(payload["timeSlot"]["from"], "2026-12-24T18:00:00Z");
    }
}

fn round_trip<E: DomainEvent + PartialEq>(event: &E) {
    let payload = event.encode().expect("encode");
    let back = E::decode(event.event_type(), event.schema_version(), &payload).expect("decode");
    assert_eq!(&back, event);
}

#[test]
fn every_table_event_survives_a_round_trip() {
    let events = table_events();
    let types: Vec<_> = events.iter().map(DomainEvent::event_type).collect();
    assert_eq!(types, TableEvent::type_names(), "one sample per type");
    events.iter().for_each(round_trip);
}

#[test]
fn every_booking_event_survives_a_round_trip() {
    let events = booking_events();
    for name in BookingEvent::type_names() {
        assert!(
            events.iter().any(|e| e.event_type() == *name),
            "no sample of {name}"
        );
    }
    events.iter().for_each(round_trip);
}

#[test]
fn event_type_names_are_the_ones_of_the_design() {
    assert_eq!(
        TableEvent::type_names(),
        [
            "table-added",
            "table-removed",
            "table-lock-placed",
            "table-lock-placement-failed",
            "table-lock-removed",
            "table-combination-added",
            "table-combination-removed"
        ]
    );
    assert_eq!(
        BookingEvent::type_names(),
        [
            "table-booking-initiated",
            "table-booking-confirmed",
            "table-booking-rejected",
            "table-booking-cancelled",
            "table-booking-customer-erased",
            "table-booking-reassigned",
            "table-booking-change-requested",
            "table-booking-changed",
            "table-booking-change-rejected"
        ]
    );
    assert_eq!(TableEvent::STREAM, "TABLES");
    assert_eq!(BookingEvent::STREAM, "BOOKINGS");
}

#[test]
fn a_lock_decision_names_its_revision_only_for_a_change() {
    let TableEvent::LockPlaced(mut placed) = table_events()[2].clone() else {
        panic!("the third table event is a placed lock");
    };
    let value: serde_json::Value =
        serde_json::from_slice(&TableEvent::from(placed.clone()).encode().expect("encode"))
            .expect("json");
    assert_eq!(value.get("revision"), None, "left out as before changes");
    placed.revision = 3;
    let value: serde_json::Value =
        serde_json::from_slice(&TableEvent::from(placed).encode().expect("encode")).expect("json");
    assert_eq!(value["revision"], 3);
}

#[test]
fn a_change_request_carries_both_places() {
    let requested = &booking_events()[7];
    let value: serde_json::Value =
        serde_json::from_slice(&requested.encode().expect("encode")).expect("json");
    assert_eq!(value["revision"], 1);
    assert_eq!(value["from"]["tableIds"], json!(["t1"]));
    assert_eq!(value["to"]["tableIds"], json!(["t2", "t3"]));
    assert_eq!(value["to"]["people"], 4);
    assert_eq!(value["assigned"], true);
}

#[test]
fn a_move_locks_the_new_tables_and_releases_the_old_keeping_those_of_both_in_the_same_slot() {
    let from = place(&["t1", "t2"]);
    let to = place(&["t2", "t3"]);
    let ids = |names: &[&str]| -> Vec<TableId> {
        names
            .iter()
            .map(|t| TableId::parse(t).expect("id"))
            .collect()
    };
    let moved = from.move_to(&to);
    assert_eq!(moved.kept, ids(&["t2"]));
    assert_eq!(moved.to_lock, ids(&["t3"]));
    assert_eq!(moved.to_release, ids(&["t1"]));

    // Another slot: every table is locked anew and every old one released.
    let later = BookingPlace {
        time_slot: TimeSlot::new(
            "2026-12-25T18:00:00Z".parse().expect("from"),
            "2026-12-25T20:00:00Z".parse().expect("to"),
        )
        .expect("slot"),
        ..to.clone()
    };
    let moved = from.move_to(&later);
    assert!(moved.kept.is_empty());
    assert_eq!(moved.to_lock, ids(&["t2", "t3"]));
    assert_eq!(moved.to_release, ids(&["t1", "t2"]));

    // Only the party changes: nothing to lock or release.
    let moved = from.move_to(&BookingPlace {
        people: None,
        ..from.clone()
    });
    assert_eq!(moved.kept, ids(&["t1", "t2"]));
    assert!(moved.to_lock.is_empty() && moved.to_release.is_empty());
}

#[test]
fn payloads_have_the_camel_case_wire_shape() {
    let placed = &table_events()[3];
    let value: serde_json::Value =
        serde_json::from_slice(&placed.encode().expect("encode")).expect("json");
    assert_eq!(
        value,
        json!({
            "id": "t1",
            "timeSlot": { "from": "2026-12-24T18:00:00Z", "to": "2026-12-24T20:00:00Z" },
            "bookingId": "0193f0b4-7c1e-7000-8000-000000000001",
            "reason": "slot-taken"
        })
    );
    let initiated = &booking_events()[0];
    let value: serde_json::Value =
        serde_json::from_slice(&initiated.encode().expect("encode")).expect("json");
    assert_eq!(value["tableId"], "t1");
    assert_eq!(value["accessCodeDigest"], "ab12");
    assert_eq!(value["customer"]["email"], "ada@example.com");
    assert_eq!(value.get("unknownTable"), None, "left out when false");
    let unknown = &booking_events()[1];
    let value: serde_json::Value =
        serde_json::from_slice(&unknown.encode().expect("encode")).expect("json");
    assert_eq!(value["unknownTable"], true);
    let combination = &table_events()[5];
    let value: serde_json::Value =
        serde_json::from_slice(&combination.encode().expect("encode")).expect("json");
    assert_eq!(
        value,
        json!({"id": "c1", "tables": ["t1", "t2"], "seats": 6})
    );
}

#[test]
fn the_combinations_subject_is_no_table_s() {
    assert_eq!(AllCombinations.subject(), "tables.~combinations");
    assert!(TableId::parse("~combinations").is_err());
}

#[test]
fn an_unknown_event_type_is_a_typed_error() {
    let err = TableEvent::decode("table-exploded", 1, b"{}").expect_err("unknown type");
    assert_eq!(
        err,
        DecodeError::UnknownType {
            event_type: "table-exploded".into()
        }
    );
    // A booking event is unknown in the table family, and the other way round.
    assert!(TableEvent::decode("table-booking-confirmed", 1, b"{}").is_err());
}

#[test]
fn a_payload_that_does_not_match_the_schema_is_a_typed_error() {
    for payload in [
        &b"not json"[..],
        br#"{"id":"t1"}"#,
        br#"{"id":"bad id","seats":4}"#,
        br#"{"id":"t1","seats":0}"#,
        br#"{"id":"t1","seats":4,"extra":true}"#,
        b"",
    ] {
        let err = TableEvent::decode("table-added", 1, payload).expect_err("bad payload");
        assert!(matches!(err, DecodeError::BadPayload { .. }), "{err:?}");
    }
}

#[test]
fn a_schema_version_this_build_does_not_know_is_a_typed_error() {
    let payload = br#"{"id":"t1","seats":4}"#;
    for version in [0, 2, 99] {
        let err = TableEvent::decode("table-added", version, payload).expect_err("version");
        assert_eq!(
            err,
            DecodeError::UnsupportedSchemaVersion {
                event_type: "table-added".into(),
                version
            }
        );
    }
}

#[test]
fn status_and_reason_names_are_their_wire_names() {
    for status in [
        BookingStatus::Initiated,
        BookingStatus::Confirmed,
        BookingStatus::Rejected,
        BookingStatus::Cancelled,
    ] {
        assert_eq!(serde_json::to_value(status).expect("json"), status.name());
    }
    for reason in [
        RejectionReason::TableNotFound,
        RejectionReason::TableRemoved,
        RejectionReason::SlotTaken,
        RejectionReason::TooSmall,
        RejectionReason::Timeout,
    ] {
        assert_eq!(serde_json::to_value(reason).expect("json"), reason.name());
    }
}
