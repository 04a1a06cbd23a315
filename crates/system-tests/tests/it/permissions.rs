//! The per-service NATS users of deploy/nats/users.conf: the system works with nothing
//! more than they allow, and each user is refused what its service must never do.

use std::time::Duration;

use system_tests::{Slot, System, password};

/// Permission violations the server logged.
pub(crate) fn violations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("Violation"))
        .collect()
}

#[tokio::test]
async fn the_services_work_end_to_end_as_their_least_privileged_nats_users() {
    let system = System::builder().nats_users().start().await;
    system.add_table("t1", 4).await;
    let (status, booking) = system.book("t1", &Slot::dinner(3), Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    let id = booking["id"].as_str().expect("id").to_owned();
    let code = booking["accessCode"].as_str().expect("code").to_owned();

    // The projector wrote the read models; the booker reads them.
    let path = format!("/bookings/{id}");
    let (status, view) = system
        .wait_for_get(&path, &[("X-Access-Code", &code)], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    assert_eq!(status, 200, "{view}");
    let (status, history) = system
        .get(&format!("{path}/history"), &[("X-Access-Code", &code)])
        .await;
    assert_eq!(status, 200, "{history}");

    // A second booking of the slot is refused by table-manager through the saga.
    let (status, refused) = system.book("t1", &Slot::dinner(3), Some(2)).await;
    assert_eq!(status, 409, "{refused}");
    system.cancel_ok(&booking).await;
    let removal = system.wait_for_lock_removal("t1").await;
    assert!(!removal.is_empty());
    // Removing a table goes over request/reply to table-manager.
    let response = system
        .http
        .delete(system.url("/tables/t1"))
        .bearer_auth(system_tests::ADMIN)
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success(), "{}", response.status());
    system
        .wait_for_get("/tables", &[], |status, body| {
            status == 200 && body["tables"].as_array().is_some_and(Vec::is_empty)
        })
        .await;

    let log = system.nats.log();
    assert_eq!(
        violations(&log),
        Vec::<&str>::new(),
        "the services needed more rights"
    );
    system.stop().await;
}

#[tokio::test]
async fn the_projector_rebuilds_and_retires_old_generations_as_its_own_nats_user() {
    let system = System::builder().nats_users().start().await;
    system.add_table("t1", 4).await;
    let (status, booking) = system.book("t1", &Slot::dinner(3), Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    system.wait_until_projected().await;
    let before = system.current_bucket().await;

    let rebuilt = projector::rebuild(&system.projector_config())
        .await
        .expect("a rebuild with the projector's credentials");
    assert!(rebuilt.events > 0);
    assert_ne!(system.current_bucket().await.name, before.name);

    // The generation the queries left is deleted a few seconds after the switch.
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let old_stream = format!("KV_{}", before.name);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while ops.get_stream(&old_stream).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{old_stream} was never retired; violations: {:#?}",
            violations(&system.nats.log())
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let id = booking["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    let log = system.nats.log();
    assert_eq!(
        violations(&log),
        Vec::<&str>::new(),
        "the projector needed more rights"
    );
    system.stop().await;
}

/// Connects as `user` with its inbox prefix, as the services do.
pub(crate) async fn connect_as(url: &str, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.to_owned(), password(user).to_owned())
        .custom_inbox_prefix(format!("_INBOX_{user}"))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect as {user}: {e}"))
}

/// A JetStream publish that must not be stored.
async fn refused_publish(js: &async_nats::jetstream::Context, subject: &str) -> bool {
    let attempt = async {
        js.publish(subject.to_owned(), "{}".into())
            .await?
            .await
            .map_err(Into::into)
    };
    let result: Result<_, Box<dyn std::error::Error + Send + Sync>> =
        tokio::time::timeout(Duration::from_millis(500), attempt)
            .await
            .unwrap_or_else(|_| Err("no answer".into()));
    result.is_err()
}

#[tokio::test]
async fn each_nats_user_is_refused_what_its_service_must_never_do() {
    // The services' first start creates the streams and buckets.
    let system = System::builder().nats_users().start().await;
    let url = system.nats.url();
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let before = [
        system.last_sequence("TABLES").await,
        system.last_sequence("BOOKINGS").await,
    ];

    let cases: [(&str, &[&str]); 3] = [
        (
            "booker",
            &[
                "tables.t1",
                "tables.~unknown",
                "deadletter.BOOKINGS.table-locking",
                "$KV.table_snapshots.tables.t1",
            ],
        ),
        (
            "table-manager",
            &["bookings.b1", "deadletter.TABLES.booking-saga"],
        ),
        (
            "projector",
            &[
                "tables.t1",
                "bookings.b1",
                "$KV.booker_idempotency.key",
                "$KV.table_snapshots.tables.t1",
            ],
        ),
    ];
    for (user, subjects) in cases {
        let js = async_nats::jetstream::new(connect_as(&url, user).await);
        for subject in subjects {
            assert!(
                refused_publish(&js, subject).await,
                "{user} could publish {subject}"
            );
        }
        // Nobody but ops deletes an event stream.
        for stream in ["TABLES", "BOOKINGS"] {
            let deleted =
                tokio::time::timeout(Duration::from_millis(500), js.delete_stream(stream)).await;
            assert!(
                !matches!(deleted, Ok(Ok(_))),
                "{user} could delete the {stream} stream"
            );
        }
    }
    // Receiving on another service's inbox is refused: the client accepts the
    // subscription, the server refuses it and logs the violation.
    let booker = connect_as(&url, "booker").await;
    let _sub = booker
        .subscribe("_INBOX_table-manager.>")
        .await
        .expect("subscribe");
    booker.flush().await.expect("flush");

    let after = [
        system.last_sequence("TABLES").await,
        system.last_sequence("BOOKINGS").await,
    ];
    assert_eq!(before, after, "a refused publish was stored");
    assert!(ops.get_stream("TABLES").await.is_ok(), "TABLES was deleted");
    let log = system.nats.log();
    let refused = violations(&log);
    assert!(
        refused
            .iter()
            .any(|line| line.contains("Subscription Violation")
                && line.contains("_INBOX_table-manager")),
        "{refused:#?}"
    );
    assert!(
        refused
            .iter()
            .any(|line| line.contains("Publish Violation") && line.contains("tables.t1")),
        "{refused:#?}"
    );
    system.stop().await;
}
