//! The read routes over HTTP, answered from the projector's read models.

use serde_json::{Value, json};

use system_tests::{ADMIN, Slot, System, fields};

fn ids(body: &Value) -> Vec<String> {
    body["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The date `days` days from now in the restaurant's zone, as `YYYY-MM-DD`.
fn local_date(days: i64) -> String {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
    let today = jiff::Timestamp::now().to_zoned_datetime(zone).date();
    today
        .checked_add(jiff::Span::new().days(days))
        .expect("date")
        .to_string()
}

fn slots_path(start: &str, end: &str, people: u8) -> String {
    format!("/booking-slots?startDate={start}&endDate={end}&people={people}")
}

/// The tables free in the slot starting at `from`, or `None` when the slot is left out.
fn free_tables(body: &Value, from: &str) -> Option<Vec<String>> {
    let from: jiff::Timestamp = from.parse().expect("instant");
    body["availabilities"]
        .as_array()?
        .iter()
        .flat_map(|day| day["slots"].as_array().into_iter().flatten())
        .find(|slot| {
            slot["startTime"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                == Some(from)
        })
        .map(|slot| {
            slot["availableTables"]
                .as_array()
                .expect("tables")
                .iter()
                .map(|t| t.as_str().expect("id").to_owned())
                .collect()
        })
}

#[tokio::test]
async fn tables_are_listed_sorted_by_id_without_the_removed_ones() {
    let system = System::start().await;
    for (id, seats) in [("t2", 2), ("t10", 6), ("t1", 4)] {
        system.add_table(id, seats).await;
    }
    let removed = system
        .http
        .delete(system.url("/tables/t10"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(removed.status(), 200);

    let (status, body) = system
        .wait_for_get("/tables", &[], |_, body| {
            body["tables"].as_array().is_some_and(|t| t.len() == 2)
        })
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["t1", "t2"]);
    assert_eq!(body["tables"][0], json!({"id": "t1", "seats": 4}));
    system.stop().await;
}

#[tokio::test]
async fn availability_refuses_each_bad_parameter_by_name() {
    let system = System::start().await;
    let today = local_date(1);
    let cases = [
        (
            "/booking-slots?endDate=2030-01-01&people=2".to_owned(),
            vec!["startDate"],
        ),
        (
            format!("/booking-slots?startDate=tomorrow&endDate={today}&people=2"),
            vec!["startDate"],
        ),
        (
            slots_path(&local_date(3), &local_date(2), 2),
            vec!["endDate"],
        ),
        (
            slots_path(&local_date(1), &local_date(16), 2),
            vec!["endDate"],
        ),
        (
            format!("/booking-slots?startDate={today}&endDate={today}"),
            vec!["people"],
        ),
        (slots_path(&today, &today, 0), vec!["people"]),
        (
            format!("/booking-slots?startDate={today}&endDate={today}&people=-1"),
            vec!["people"],
        ),
        (
            format!("{}&color=red", slots_path(&today, &today, 2)),
            vec!["color"],
        ),
        (
            "/booking-slots".to_owned(),
            vec!["startDate", "endDate", "people"],
        ),
    ];
    for (path, expected) in cases {
        let (status, body) = system.get(&path, &[]).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(fields(&body), expected, "{path}");
    }
    // 14 days apart is the longest range.
    let (status, body) = system
        .get(&slots_path(&local_date(1), &local_date(15), 2), &[])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["availabilities"].as_array().map(Vec::len), Some(15));
    system.stop().await;
}

#[tokio::test]
async fn a_confirmed_booking_leaves_availability_and_its_cancellation_puts_the_slot_back() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 2).await;
    system.add_table("t3", 8).await;
    let slot = Slot::dinner(3);
    let day = local_date(3);
    let path = slots_path(&day, &day, 2);

    let (status, body) = system
        .wait_for_get(&path, &[], |_, body| {
            free_tables(body, &slot.from).is_some_and(|t| t.len() == 3)
        })
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["startDate"], day);
    assert_eq!(body["people"], 2);
    assert_eq!(body["availabilities"][0]["day"], day);
    assert_eq!(
        free_tables(&body, &slot.from).expect("slot"),
        ["t1", "t2", "t3"]
    );
    // Tables too small for the party are not offered.
    let (_, body) = system.get(&slots_path(&day, &day, 5), &[]).await;
    assert_eq!(free_tables(&body, &slot.from).expect("slot"), ["t3"]);

    let (status, booking) = system.book("t1", &slot, Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    system
        .wait_for_get(&path, &[], |_, body| {
            free_tables(body, &slot.from).is_some_and(|t| t == ["t2", "t3"])
        })
        .await;

    system.cancel_ok(&booking).await;
    system
        .wait_for_get(&path, &[], |_, body| {
            free_tables(body, &slot.from).is_some_and(|t| t.len() == 3)
        })
        .await;
    system.stop().await;
}

#[tokio::test]
async fn a_fully_booked_slot_is_left_out_and_removed_tables_never_appear() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("gone", 4).await;
    let removed = system
        .http
        .delete(system.url("/tables/gone"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(removed.status(), 200);
    let lunch = Slot::lunch(4);
    let dinner = Slot::dinner(4);
    let (status, _) = system.book("t1", &lunch, None).await;
    assert_eq!(status, 201);

    let day = local_date(4);
    let (_, body) = system
        .wait_for_get(&slots_path(&day, &day, 1), &[], |_, body| {
            free_tables(body, &lunch.from).is_none() && free_tables(body, &dinner.from).is_some()
        })
        .await;
    assert_eq!(free_tables(&body, &dinner.from).expect("dinner"), ["t1"]);
    assert!(!body.to_string().contains("gone"), "{body}");
    system.stop().await;
}

#[tokio::test]
async fn only_future_slots_are_offered() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system
        .wait_for_get("/tables", &[], |_, body| !ids(body).is_empty())
        .await;
    let (status, body) = system
        .get(&slots_path(&local_date(-2), &local_date(1), 1), &[])
        .await;
    assert_eq!(status, 200);
    let days = body["availabilities"].as_array().expect("days");
    assert_eq!(days.len(), 4, "one entry per day, even past ones");
    let now = jiff::Timestamp::now();
    for slot in days
        .iter()
        .flat_map(|d| d["slots"].as_array().expect("slots"))
    {
        let start: jiff::Timestamp = slot["startTime"]
            .as_str()
            .expect("start")
            .parse()
            .expect("instant");
        assert!(start > now, "past slot offered: {slot}");
    }
    assert!(days[0]["slots"].as_array().expect("slots").is_empty());
    assert!(!days[3]["slots"].as_array().expect("slots").is_empty());
    system.stop().await;
}

#[tokio::test]
async fn slots_follow_the_restaurants_clock_across_a_daylight_saving_change() {
    // The next change of Europe/Paris's offset, within a year: the horizon must reach it.
    let zone = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .date();
    let offset_at_noon = |day: jiff::civil::Date| {
        day.at(12, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .expect("noon")
            .offset()
    };
    let change = (1..366)
        .map(|d| today.checked_add(jiff::Span::new().days(d)).expect("date"))
        .find(|day| offset_at_noon(*day) != offset_at_noon(day.yesterday().expect("date")))
        .expect("a change within a year");
    let before = change.yesterday().expect("date");

    let system = System::builder().horizon_days(400).start().await;
    system.add_table("t1", 4).await;
    system
        .wait_for_get("/tables", &[], |_, body| !ids(body).is_empty())
        .await;
    let (status, body) = system
        .get(
            &slots_path(&before.to_string(), &change.to_string(), 2),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (index, day) in [before, change].into_iter().enumerate() {
        let entry = &body["availabilities"][index];
        assert_eq!(entry["day"], day.to_string());
        let expected = day
            .at(12, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .expect("noon")
            .timestamp();
        assert_eq!(
            entry["slots"][0]["startTime"],
            format!("{expected:.3}"),
            "lunch at 12:00 local on {day}"
        );
    }
    system.stop().await;
}

#[tokio::test]
async fn a_booking_is_read_back_without_its_code_and_with_its_customer_only_for_those_allowed() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let (status, created) = system
        .post_json(
            "/bookings",
            &json!({"tableId": "t1", "timeSlot": Slot::dinner(2).json(), "people": 2,
                    "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id");
    let code = created["accessCode"].as_str().expect("code");
    let path = format!("/bookings/{id}");

    let (status, public) = system
        .wait_for_get(&path, &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    assert_eq!(status, 200);
    assert_eq!(public["id"], id);
    assert_eq!(public["tableId"], "t1");
    assert_eq!(public["tableIds"], json!(["t1"]), "the read side too");
    assert_eq!(public["people"], 2);
    assert_eq!(public["timeSlot"], created["timeSlot"]);
    assert!(public.get("accessCode").is_none(), "{public}");
    assert!(public.get("customer").is_none(), "{public}");

    let (_, wrong) = system.get(&path, &[("X-Access-Code", "ZZZZZ")]).await;
    assert!(wrong.get("customer").is_none(), "{wrong}");
    let bearer = format!("Bearer {ADMIN}");
    for headers in [
        [("X-Access-Code", code)],
        [("Authorization", bearer.as_str())],
    ] {
        let (status, allowed) = system.get(&path, &headers).await;
        assert_eq!(status, 200);
        assert_eq!(allowed["customer"]["email"], "ada@example.com");
        assert!(allowed.get("accessCode").is_none(), "{allowed}");
    }

    for unknown in [
        "/bookings/0193f0b4-0000-7000-8000-000000000000",
        "/bookings/not-a-uuid",
    ] {
        let (status, body) = system.get(unknown, &[]).await;
        assert_eq!(status, 404, "{unknown}: {body}");
    }
    system.stop().await;
}

#[tokio::test]
async fn lookup_finds_a_booking_by_email_and_code_and_answers_the_same_404_otherwise() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let (status, created) = system
        .post_json(
            "/bookings",
            &json!({"tableId": "t1", "timeSlot": Slot::dinner(2).json(),
                    "customer": {"name": "Ada", "email": "Ada@Example.com"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let code = created["accessCode"].as_str().expect("code");
    let id = created["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, _| status == 200)
        .await;

    let (status, found) = system
        .post_json(
            "/bookings/lookup",
            &json!({"email": " ada@example.COM", "accessCode": code.to_lowercase()}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["id"], id);
    assert_eq!(found["accessCode"], code);
    assert_eq!(found["customer"]["name"], "Ada");
    assert_eq!(found["status"], "confirmed");

    let wrong_code = if code == "AAAAA" { "BBBBB" } else { "AAAAA" };
    let (status_a, body_a) = system
        .post_json(
            "/bookings/lookup",
            &json!({"email": "ada@example.com", "accessCode": wrong_code}),
        )
        .await;
    let (status_b, body_b) = system
        .post_json(
            "/bookings/lookup",
            &json!({"email": "nobody@example.com", "accessCode": code}),
        )
        .await;
    assert_eq!((status_a, status_b), (404, 404));
    assert_eq!(
        body_a, body_b,
        "a wrong code and an unknown email look the same"
    );

    let (status, body) = system.post_json("/bookings/lookup", &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(fields(&body), ["email", "accessCode"]);
    system.stop().await;
}

#[tokio::test]
async fn the_history_lists_the_sagas_events_in_order_for_the_code_or_the_admin_only() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let (status, created) = system.book("t1", &Slot::dinner(2), None).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().expect("id");
    let code = created["accessCode"].as_str().expect("code");
    system.cancel_ok(&created).await;
    let path = format!("/bookings/{id}/history");

    let (status, history) = system
        .wait_for_get(&path, &[("X-Access-Code", code)], |status, body| {
            status == 200 && body["events"].as_array().is_some_and(|e| e.len() == 5)
        })
        .await;
    assert_eq!(status, 200);
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "table-booking-initiated",
            "table-lock-placed",
            "table-booking-confirmed",
            "table-booking-cancelled",
            "table-lock-removed",
        ]
    );
    for event in events {
        assert_eq!(event["correlationId"], id, "{event}");
        assert!(event["causationId"].is_string() && event["occurredAt"].is_string());
        assert!(event["data"].get("accessCodeDigest").is_none(), "{event}");
    }
    let bearer = format!("Bearer {ADMIN}");
    let (status, _) = system.get(&path, &[("Authorization", &bearer)]).await;
    assert_eq!(status, 200);
    for headers in [vec![], vec![("X-Access-Code", "ZZZZZ")]] {
        let (status, _) = system.get(&path, &headers).await;
        assert_eq!(status, 403);
    }
    let (status, _) = system
        .get(
            "/bookings/0193f0b4-0000-7000-8000-000000000000/history",
            &[("X-Access-Code", code)],
        )
        .await;
    assert_eq!(status, 404);
    system.stop().await;
}
