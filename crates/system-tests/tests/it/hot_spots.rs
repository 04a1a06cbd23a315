//! Hot spots: many bookings of one table and slot at once, and floods of made-up tables.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;
use system_tests::{Slot, System, read};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_bookings_of_one_table_and_slot_give_one_201_and_999_slot_taken() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let body = json!({"tableId": "t1", "timeSlot": Slot::dinner(4).json(), "people": 2});
    let url = system.url("/bookings?wait=30");
    let started = Instant::now();
    let answers = join_all((0..1000).map(|_| {
        let (http, url, body) = (&http, &url, &body);
        async move { read(http.post(url).json(body).send().await.expect("POST")).await }
    }))
    .await;
    let elapsed = started.elapsed();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for (status, booking) in &answers {
        let reason = booking["booking"]["reason"].as_str().unwrap_or("-");
        *outcomes.entry(format!("{status} {reason}")).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([("201 -".to_owned(), 1), ("409 slot-taken".to_owned(), 999)]),
        "after {elapsed:?}"
    );
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_tables_is_refused_by_the_booker_and_never_queues_for_table_manager() {
    let mut system = System::start().await;
    system.add_table("t1", 4).await;
    // With table-manager down, nothing but the booker can decide these bookings.
    system.stop_table_manager().await;
    let slot = Slot::dinner(3);
    let sys = &system;
    let answers = join_all((0..300).map(|i| {
        let body = json!({"tableId": format!("made-up-{i}"), "timeSlot": slot.json()});
        async move { sys.post_json("/bookings?wait=0", &body).await }
    }))
    .await;
    for (status, problem) in &answers {
        assert_eq!(status, &409, "{problem}");
        assert_eq!(problem["booking"]["status"], "rejected", "{problem}");
        assert_eq!(problem["booking"]["reason"], "table-not-found");
    }
    // Each booking is stored as made and rejected; table-manager got nothing to do.
    let id = answers[17].1["booking"]["id"].as_str().expect("id");
    let events = system.booking_events(id).await;
    assert_eq!(
        system_tests::types(&events),
        ["table-booking-initiated", "table-booking-rejected"]
    );
    system.start_table_manager().await;
    let (status, booking) = system.book("t1", &slot, Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(
        system.stream_subjects("TABLES").await,
        ["tables.t1"],
        "no lock request of a made-up table reached table-manager"
    );
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["reason"] == "table-not-found"
        })
        .await;
    system.stop().await;
}
