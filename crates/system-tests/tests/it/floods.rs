//! Floods from one client must not stop the read side for everyone: no read-model
//! document grows with one client's traffic, and a write that can never succeed is
//! dead-lettered instead of retried for ever.

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
    // 300 bookings with one address (most of them then rejected: slot taken).
    let mut flood = Vec::new();
    let sys = &system;
    for round in 0..15 {
        let answers = join_all((0..20).map(|i| async move {
            let slot = Slot::dinner(1 + (round * 20 + i) % 60);
            book_as(sys, "t1", &slot, "flood@example.com").await
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

#[tokio::test]
async fn a_document_too_large_to_store_is_dead_lettered_and_projection_goes_on() {
    let system = System::builder().max_payload(8 * 1024).start().await;
    // Enough tables that one day's locks outgrow what the server takes in one write.
    let tables: Vec<String> = (0..90).map(|n| format!("t{n:02}")).collect();
    for table in &tables {
        system.add_table(table, 4).await;
    }
    let sys = &system;
    let slot = Slot::dinner(2);
    for chunk in tables.chunks(15) {
        let answers = join_all(chunk.iter().map(|table| {
            let slot = &slot;
            async move { sys.book(table, slot, Some(2)).await }
        }))
        .await;
        for (status, booking) in answers {
            assert_eq!(status, 201, "{booking}");
        }
    }

    // Later events still reach the read side, from both streams.
    system.add_table("late", 2).await;
    let (status, later) = system.book("late", &Slot::lunch(5), Some(2)).await;
    assert_eq!(status, 201, "{later}");
    let id = later["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    system
        .wait_for_get("/tables", &[], |status, body| {
            status == 200 && body.to_string().contains("\"late\"")
        })
        .await;
    system.wait_until_projected().await;
    // What could not be stored is counted and kept.
    let metrics = system.projector_metrics().await;
    let dead = metrics
        .lines()
        .find(|line| line.starts_with("projector_dead_lettered_total{stream=\"TABLES\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_default();
    assert!(dead > 0, "{metrics}");
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let mut dead_letters = ops.get_stream("DEAD_LETTERS").await.expect("stream");
    let info = dead_letters.info().await.expect("info");
    assert!(info.state.messages >= dead, "{:?}", info.state);
    system.stop().await;
}
