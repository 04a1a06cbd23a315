//! Floods from one client must not stop the read side for everyone: no read-model
//! document grows with one client's traffic.

use futures_util::future::join_all;
use serde_json::{Value, json};
use system_tests::{Slot, System};

/// The server's largest message in these tests: small, so that a document growing with
/// traffic hits it after a few hundred requests instead of twelve thousand.
const MAX_PAYLOAD: usize = 16 * 1024;

async fn book_as(system: &System, table: &str, slot: &Slot, email: &str) -> (u16, Value) {
    let body = json!({
        "tableId": table,
        "timeSlot": slot.json(),
        "people": 2,
        "customer": {"name": "Flo Od", "email": email},
    });
    system.post_json("/bookings?wait=0", &body).await
}

#[tokio::test]
async fn a_flood_of_bookings_with_one_email_leaves_the_read_side_working_for_everyone() {
    let system = System::builder().max_payload(MAX_PAYLOAD).start().await;
    system.add_table("t1", 4).await;
    // 300 bookings of a made-up table with one address: each answered 202, then rejected.
    let mut flood = Vec::new();
    let sys = &system;
    for round in 0..15 {
        let answers = join_all((0..20).map(|i| async move {
            let slot = Slot::dinner(1 + (round * 20 + i) % 60);
            book_as(sys, "made-up", &slot, "flood@example.com").await
        }))
        .await;
        for (status, booking) in answers {
            assert_eq!(status, 202, "{booking}");
            flood.push(booking);
        }
    }

    // Someone else books afterwards: the read side shows it.
    let (status, mine) = book_as(&system, "t1", &Slot::lunch(3), "ada@example.com").await;
    assert!([201, 202].contains(&status), "{mine}");
    let id = mine["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    // Lookups work, for the flooded address too.
    for (email, booking) in [("ada@example.com", &mine), ("flood@example.com", &flood[7])] {
        let code = booking["accessCode"].as_str().expect("code");
        let (status, found) = system
            .post_json(
                "/bookings/lookup",
                &json!({"email": email, "accessCode": code}),
            )
            .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["id"], booking["id"]);
    }
    system.stop().await;
}
