//! Least privilege on JetStream's API (issue 12): no service changes a stream's
//! configuration (only ops: a lowered limit evicts events, a seal cannot be undone), and
//! the projector, which reads everything, cannot touch the other services' durable
//! consumers (pending timers), read or make their buckets, or pull their messages. Each
//! refusal is checked twice: the server logs it, and ops sees nothing changed.

use std::time::Duration;

use system_tests::System;

use crate::permissions::{connect_as, violations};

/// A JetStream API request as `client`: whether it went unanswered or was refused.
async fn refused(client: &async_nats::Client, subject: &str, body: &str) -> bool {
    let request = client.request(subject.to_owned(), body.to_owned().into());
    match tokio::time::timeout(Duration::from_millis(500), request).await {
        Err(_) | Ok(Err(_)) => true,
        // An API answer: refused only if it is an error.
        Ok(Ok(reply)) => String::from_utf8_lossy(&reply.payload).contains("\"error\""),
    }
}

#[tokio::test]
async fn no_service_changes_a_stream_nor_touches_another_services_consumers_or_buckets() {
    let system = System::builder().nats_users().start().await;
    let url = system.nats.url();
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let mut tables = ops.get_stream("TABLES").await.expect("TABLES");
    let config = tables.info().await.expect("info").config.clone();

    // Lowering a limit or sealing the stream: refused to every service.
    let mut sealed = config.clone();
    sealed.sealed = true;
    sealed.max_messages = 1;
    let update = serde_json::to_string(&sealed).expect("config");
    let mut expected: Vec<(&str, String)> = Vec::new();
    for user in ["booker", "table-manager", "projector"] {
        let client = connect_as(&url, user).await;
        for stream in ["TABLES", "BOOKINGS", "DEAD_LETTERS"] {
            let subject = format!("$JS.API.STREAM.UPDATE.{stream}");
            assert!(
                refused(&client, &subject, &update).await,
                "{user}: {subject}"
            );
            expected.push((user, subject));
        }
    }

    // The projector and the other services' consumers and buckets.
    let projector = connect_as(&url, "projector").await;
    let attempts = [
        // Deleting a durable consumer loses every timer pending in it.
        ("$JS.API.CONSUMER.DELETE.TABLES.booking-saga", ""),
        ("$JS.API.CONSUMER.DELETE.BOOKINGS.table-locking", ""),
        // Pulling takes messages away from their service.
        (
            "$JS.API.CONSUMER.MSG.NEXT.BOOKINGS.booking-timeouts",
            "{\"batch\":1}",
        ),
        (
            "$JS.API.CONSUMER.MSG.NEXT.TABLES.table-lock-timers",
            "{\"batch\":1}",
        ),
        // Making a consumer of that name would take the place of the service's.
        ("$JS.API.CONSUMER.CREATE.BOOKINGS.table-locking", "{}"),
        // Reading, watching or making the booker's buckets and streams.
        ("$JS.API.DIRECT.GET.KV_booker_idempotency", "{\"seq\":1}"),
        (
            "$JS.API.STREAM.MSG.GET.KV_booker_idempotency",
            "{\"seq\":1}",
        ),
        ("$JS.API.CONSUMER.CREATE.KV_booker_idempotency", "{}"),
        ("$JS.API.DIRECT.GET.ACCESS_GUARD", "{\"seq\":1}"),
        ("$JS.API.DIRECT.GET.KV_customer_keys", "{\"seq\":1}"),
        ("$JS.API.STREAM.CREATE.ACCESS_GUARD", "{}"),
        ("$JS.API.STREAM.DELETE.KV_table_snapshots", ""),
        // No stream but its own named buckets: not one of a made-up name, not a
        // numbered generation of an earlier release's naming.
        (
            "$JS.API.STREAM.CREATE.ANY_STREAM",
            "{\"name\":\"ANY_STREAM\",\"subjects\":[\"any.>\"]}",
        ),
        (
            "$JS.API.STREAM.CREATE.KV_read_model_g7",
            "{\"name\":\"KV_read_model_g7\",\"subjects\":[\"$KV.read_model_g7.>\"]}",
        ),
        ("$JS.API.STREAM.DELETE.KV_read_models", ""),
    ];
    for (subject, body) in attempts {
        assert!(
            refused(&projector, subject, body).await,
            "projector: {subject}"
        );
        expected.push(("projector", subject.to_owned()));
    }

    // Ops sees nothing changed.
    for made_up in ["ANY_STREAM", "KV_read_model_g7"] {
        assert!(
            ops.get_stream(made_up).await.is_err(),
            "the projector made the stream {made_up}"
        );
    }
    let now = tables.info().await.expect("info").config.clone();
    assert!(!now.sealed, "TABLES was sealed");
    assert_eq!(
        now.max_messages, config.max_messages,
        "a TABLES limit changed"
    );
    for (stream, consumer) in [
        ("TABLES", "booking-saga"),
        ("BOOKINGS", "table-locking"),
        ("BOOKINGS", "booking-timeouts"),
        ("TABLES", "table-lock-timers"),
    ] {
        let stream = ops.get_stream(stream).await.expect("stream");
        if let Err(error) = stream.consumer_info(consumer).await {
            panic!("{consumer} is gone: {error}");
        }
    }
    // And the server logged each refusal.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = system.nats.log();
    let refusals = violations(&log);
    for (user, subject) in &expected {
        assert!(
            refusals
                .iter()
                .any(|line| line.contains(&format!("user:{user}\""))
                    && line.contains(subject.as_str())),
            "no refusal logged for {user} {subject}: {refusals:#?}"
        );
    }
    system.stop().await;
}
