//! Booking by party size (API.md v2 "Booking by party size, joined tables"): the
//! restaurant gives the smallest free table that seats the party, else the smallest free
//! combination; joined tables are locked and freed together; requests that arrive at once
//! are given different tables.

use serde_json::{Value, json};

use system_tests::{Slot, System};

async fn book_party(system: &System, slot: &Slot, people: u8) -> (u16, Value) {
    system
        .post_json(
            "/bookings",
            &json!({"timeSlot": slot.json(), "people": people}),
        )
        .await
}

async fn declare(system: &System, id: &str, tables: &[&str], seats: u8) {
    let body = json!({"id": id, "tables": tables, "seats": seats});
    let (status, answer) = system.admin_post("/table-combinations", &body).await;
    assert_eq!(status, 201, "{answer}");
}

/// The slot starting at `slot` in `GET /booking-slots` for `people`, once the read side
/// shows `ready`.
async fn offered(
    system: &System,
    slot: &Slot,
    people: u8,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let day = &slot.from[..10];
    let path = format!("/booking-slots?startDate={day}&endDate={day}&people={people}");
    let find = |body: &Value| -> Value {
        body["availabilities"][0]["slots"]
            .as_array()
            .and_then(|slots| {
                slots
                    .iter()
                    .find(|s| {
                        s["startTime"]
                            .as_str()
                            .is_some_and(|t| t[..16] == slot.from[..16])
                    })
                    .cloned()
            })
            .unwrap_or(Value::Null)
    };
    system
        .wait_for_get(&path, &[], |status, body| {
            status == 200 && ready(&find(body))
        })
        .await;
    find(&system.get(&path, &[]).await.1)
}

#[tokio::test]
async fn a_party_gets_the_smallest_free_table_that_seats_it_then_the_next() {
    let system = System::start().await;
    for (table, seats) in [("t1", 2), ("t2", 4), ("t3", 6), ("t4", 4)] {
        system.add_table(table, seats).await;
    }
    let slot = Slot::dinner(3);
    let mut given = Vec::new();
    for _ in 0..3 {
        let (status, booking) = book_party(&system, &slot, 3).await;
        assert_eq!(status, 201, "{booking}");
        assert_eq!(booking["status"], "confirmed");
        assert_eq!(booking["tableIds"].as_array().map(Vec::len), Some(1));
        assert_eq!(booking["tableId"], booking["tableIds"][0]);
        given.push(booking["tableId"].as_str().expect("table").to_owned());
    }
    assert_eq!(
        given,
        ["t2", "t4", "t3"],
        "smallest first, ties by id; t1 seats two"
    );
    // Nothing left for three: rejected, with the reason, and the booking stands as such.
    let (status, problem) = book_party(&system, &slot, 3).await;
    assert_eq!(status, 409, "{problem}");
    let booking = &problem["booking"];
    assert_eq!(booking["status"], "rejected");
    assert_eq!(booking["reason"], "no-table-available");
    assert_eq!(booking["tableIds"], json!([]));
    // A party of two still has t1.
    let (status, booking) = book_party(&system, &slot, 2).await;
    assert_eq!((status, booking["tableId"].clone()), (201, json!("t1")));
    system.stop().await;
}

#[tokio::test]
async fn a_party_too_large_for_any_table_gets_a_combination_whose_tables_are_held_and_freed_together()
 {
    let system = System::start().await;
    for table in ["t8", "t9", "t10"] {
        system.add_table(table, 4).await;
    }
    declare(&system, "big", &["t8", "t9", "t10"], 10).await;
    declare(&system, "c1", &["t8", "t9"], 6).await;
    let slot = Slot::dinner(4);
    let listed = offered(&system, &slot, 6, |s| !s.is_null()).await;
    assert_eq!(listed["availableTables"], json!([]));
    let ids: Vec<&str> = listed["availableCombinations"]
        .as_array()
        .expect("combinations")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["big", "c1"]);

    let (status, booking) = book_party(&system, &slot, 6).await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(
        booking["tableIds"],
        json!(["t8", "t9"]),
        "the smaller combination"
    );
    assert_eq!(booking.get("tableId"), None, "two tables, no tableId");
    // Both tables are held: neither can be booked alone, nor the larger combination.
    for table in ["t8", "t9"] {
        let (status, answer) = system.book(table, &slot, Some(2)).await;
        assert_eq!(status, 409, "{table}: {answer}");
        assert_eq!(answer["booking"]["reason"], "slot-taken");
    }
    let listed = offered(&system, &slot, 2, |s| {
        s["availableTables"] == json!(["t10"])
    })
    .await;
    assert_eq!(listed["availableCombinations"], json!([]));
    let id = booking["id"].as_str().expect("id");
    let (_, read) = system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    assert_eq!(read["tableIds"], json!(["t8", "t9"]));

    // Cancelled: both are free again, together.
    system.cancel_ok(&booking).await;
    for table in ["t8", "t9"] {
        let (status, answer) = system.book(table, &slot, Some(2)).await;
        assert_eq!(status, 201, "{table}: {answer}");
    }
    system.stop().await;
}

#[tokio::test]
async fn parties_that_book_the_same_slot_at_once_are_each_given_another_table() {
    let system = System::start().await;
    let tables: Vec<String> = (1..=6).map(|n| format!("t{n}")).collect();
    for table in &tables {
        system.add_table(table, 2).await;
    }
    let slot = Slot::lunch(5);
    let answers =
        futures_util::future::join_all((0..8).map(|_| book_party(&system, &slot, 2))).await;
    let mut given: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, booking)| booking["tableId"].as_str().expect("table").to_owned())
        .collect();
    given.sort();
    let mut expected = tables.clone();
    expected.sort();
    assert_eq!(given, expected, "every table given once: {answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{answer}");
        assert_eq!(answer["booking"]["reason"], "no-table-available");
    }
    system.stop().await;
}

#[tokio::test]
async fn without_a_table_the_party_size_is_required() {
    let system = System::start().await;
    let slot = Slot::dinner(2);
    let (status, problem) = system
        .post_json("/bookings", &json!({"timeSlot": slot.json()}))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(system_tests::fields(&problem), ["tableId", "people"]);
    assert_eq!(system.stream_messages("BOOKINGS").await, 0);
    system.stop().await;
}

#[tokio::test]
async fn a_refusal_for_want_of_a_table_offers_the_nearest_slots_where_the_party_fits() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 2).await;
    let dinner = Slot::dinner(3);
    let (status, _) = system.book("t1", &dinner, Some(4)).await;
    assert_eq!(status, 201);
    // The same table again, and a party of four by size: both refused, both told where.
    let (status, taken) = system.book("t1", &dinner, Some(4)).await;
    assert_eq!(status, 409, "{taken}");
    let (status, none) = book_party(&system, &dinner, 4).await;
    assert_eq!(status, 409, "{none}");
    assert_eq!(none["booking"]["reason"], "no-table-available");
    for problem in [&taken, &none] {
        let alternatives = problem["alternatives"].as_array().expect("alternatives");
        assert_eq!(alternatives.len(), 5, "{problem}");
        // Nearest first: that day's lunch, at t1 (t2 seats two).
        let lunch = Slot::lunch(3);
        assert_eq!(
            alternatives[0]["timeSlot"]["from"]
                .as_str()
                .map(|f| &f[..16]),
            Some(&lunch.from[..16])
        );
        for alternative in alternatives {
            assert_eq!(alternative["tableIds"], json!(["t1"]), "{alternative}");
            assert_ne!(
                alternative["timeSlot"]["from"].as_str().map(|f| &f[..16]),
                Some(&dinner.from[..16])
            );
        }
    }
    // Nothing fits a party of twelve anywhere: an empty list.
    let (status, problem) = book_party(&system, &dinner, 12).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["alternatives"], json!([]));
    system.stop().await;
}

#[tokio::test]
async fn a_place_taken_behind_the_read_sides_back_is_replaced_by_the_next() {
    let mut system = System::start().await;
    system.add_table("t1", 2).await;
    system.add_table("t2", 4).await;
    system
        .wait_for_get("/tables", &[], |status, body| {
            status == 200 && body["tables"].as_array().map(Vec::len) == Some(2)
        })
        .await;
    // The read side stops seeing: t1 is booked without it knowing.
    system.stop_projector().await;
    let slot = Slot::dinner(6);
    let (status, _) = system.book("t1", &slot, Some(2)).await;
    assert_eq!(status, 201);
    // The party of two is given t1 (the smallest, free as far as the read side knows);
    // table-manager refuses it, and the booking is given t2 instead.
    let (status, booking) = book_party(&system, &slot, 2).await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(booking["tableIds"], json!(["t2"]));
    let id = booking["id"].as_str().expect("id");
    use events::DomainEvent as _;
    let types: Vec<&str> = system
        .booking_events(id)
        .await
        .iter()
        .map(|r| r.event.event_type())
        .collect();
    assert_eq!(
        types,
        [
            "table-booking-initiated",
            "table-booking-reassigned",
            "table-booking-confirmed"
        ]
    );
    system.start_projector().await;
    let (_, read) = system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    assert_eq!(read["tableIds"], json!(["t2"]));
    system.stop().await;
}
