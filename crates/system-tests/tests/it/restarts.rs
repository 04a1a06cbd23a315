//! The services under NATS restarts: every watcher and consumer resumes, no service exits,
//! with nothing more than their NATS users allow.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use system_tests::{Slot, System, read};

/// Books (and cancels half of what it got) until `stop`, tolerating errors: the gateway
/// answers 503 while NATS is down. Counts the answers it got.
async fn load(base: String, stop: Arc<AtomicBool>, answered: Arc<AtomicU64>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut round = 0_i64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let table = ["t1", "t2", "t3"][(round % 3) as usize];
        let slot = Slot::dinner(1 + round % 30);
        let body = json!({"tableId": table, "timeSlot": slot.json(), "people": 2});
        let Ok(response) = http
            .post(format!("{base}/bookings?wait=1"))
            .json(&body)
            .send()
            .await
        else {
            continue;
        };
        let (status, booking) = read(response).await;
        answered.fetch_add(1, Ordering::Relaxed);
        if status == 201 && round % 2 == 0 {
            let id = booking["id"].as_str().unwrap_or_default();
            let code = booking["accessCode"].as_str().unwrap_or_default();
            let _ = http
                .post(format!("{base}/bookings/{id}/cancel"))
                .json(&json!({"accessCode": code}))
                .send()
                .await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_service_rides_out_twenty_nats_restarts_under_load_as_its_nats_user() {
    // The clients recover in ways a quiet run never shows (an ordered consumer that missed
    // its heartbeats asks for its info), so the users' permissions are checked here too.
    let mut system = System::builder().nats_users().start().await;
    for id in ["t1", "t2", "t3"] {
        system.add_table(id, 4).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let loader = tokio::spawn(load(system.base.clone(), stop.clone(), answered.clone()));

    for restart in 0..20_u64 {
        // Up for 0.3 to 2.3 s, down for 0 to 1.5 s: long enough for idle heartbeats of
        // watchers and consumers to be missed.
        tokio::time::sleep(Duration::from_millis(300 + (restart * 733) % 2000)).await;
        system.nats.kill();
        tokio::time::sleep(Duration::from_millis((restart * 389) % 1500)).await;
        system.nats.start_again().await;
        assert_eq!(
            system.ended(),
            Vec::<&str>::new(),
            "after restart {restart}"
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    loader.await.expect("load");
    assert!(
        answered.load(Ordering::Relaxed) > 0,
        "the load got no answer"
    );

    assert_eq!(system.ended(), Vec::<&str>::new(), "a service exited");
    system.wait_until_ready().await;
    // And the whole path still works: booked, confirmed, projected.
    let (status, booking) = system.book("t1", &Slot::lunch(40), Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    let id = booking["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    let log = system.nats.log();
    let violations: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("Violation"))
        .collect();
    assert_eq!(violations, Vec::<&str>::new(), "permissions violated");
    system.stop().await;
}

/// Books `count` bookings of tables `t1`..`t3` on days `first..` without waiting: writes
/// the projector is busy with.
async fn burst(system: &System, first: i64, count: i64) {
    let writes = (0..count).map(|n| {
        let table = ["t1", "t2", "t3"][(n % 3) as usize];
        let body = json!({"tableId": table, "timeSlot": Slot::lunch(first + n / 3).json(),
            "people": 2});
        system
            .http
            .post(system.url("/bookings?wait=0"))
            .json(&body)
            .send()
    });
    for answer in futures_util::future::join_all(writes).await {
        answer.expect("the burst is answered while NATS runs");
    }
}

#[tokio::test]
async fn after_a_nats_restart_mid_write_the_read_side_is_current_within_three_seconds() {
    let mut system = System::start().await;
    for id in ["t1", "t2", "t3"] {
        system.add_table(id, 4).await;
    }
    let mut slowest = Duration::ZERO;
    for round in 0..6_i64 {
        // A booking confirmed to its client, then writes in flight, then NATS goes.
        let body =
            json!({"tableId": "t1", "timeSlot": Slot::dinner(1 + round).json(), "people": 2});
        let (status, booking) = system.post_json("/bookings?wait=20", &body).await;
        assert_eq!(status, 201, "round {round}: {booking}");
        let id = booking["id"].as_str().expect("id").to_owned();
        burst(&system, 10 + round * 10, 24).await;
        system.nats.kill();
        tokio::time::sleep(Duration::from_millis(((round * 347) % 1200) as u64)).await;
        system.nats.start_again().await;
        let answering = tokio::time::Instant::now();
        let deadline = answering + Duration::from_secs(3);
        let mut last;
        loop {
            let answer = system
                .http
                .get(system.url(&format!("/bookings/{id}")))
                .timeout(Duration::from_millis(500))
                .send()
                .await;
            match answer {
                Ok(response) => {
                    let (status, body) = read(response).await;
                    if status == 200 && body["status"] == "confirmed" {
                        break;
                    }
                    last = format!("{status} {body}");
                }
                Err(error) => last = error.to_string(),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: booking {id}, confirmed before the restart, not read as \
                 confirmed within 3 s of NATS answering again; last answer: {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slowest = slowest.max(answering.elapsed());
    }
    eprintln!("slowest: read side current {slowest:?} after NATS answered again");
    assert_eq!(system.ended(), Vec::<&str>::new(), "a service exited");
    system.stop().await;
}
