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
