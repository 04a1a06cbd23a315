//! Failures in a consumer: what may pass is retried for as long as it takes, a slow handler
//! keeps its message, and only what can never be processed is dead-lettered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use eventstore::{ConsumerSpec, DurableConsumer};
use tokio_util::sync::CancellationToken;

use crate::consumer::{Recorder, spec, wait_until};
use crate::{added, context, env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_handling_keeps_failing_is_retried_as_long_as_it_takes_and_never_dead_lettered()
 {
    let env = env().await;
    let js = env.store.jetstream().clone();
    let failing = env
        .store
        .append("tables.f", 0, &[added("f", 2)], &context("f1"))
        .await
        .expect("append");
    let recorder = Arc::new(Recorder::default());
    // Far more failures than the five deliveries that used to end in the dead letters
    // (a leader election, a NATS restart).
    recorder
        .fail_times
        .lock()
        .expect("lock")
        .insert(failing.last_sequence, 12);
    let consumer = DurableConsumer::ensure(&js, spec("retry-test"), Default::default())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(recorder.clone(), shutdown.clone()));

    wait_until("the message is handled on its 13th delivery", || {
        recorder
            .seen
            .lock()
            .expect("lock")
            .iter()
            .any(|(seq, delivered, _)| *seq == failing.last_sequence && *delivered == 13)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorder.seen.lock().expect("lock").len(),
        13,
        "acked at last"
    );
    let mut dead_letters = js.get_stream("DEAD_LETTERS").await.expect("dlq stream");
    assert_eq!(dead_letters.info().await.expect("info").state.messages, 0);
    shutdown.cancel();
    task.await.expect("consumer stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_keeps_its_message_past_the_ack_wait() {
    let env = env().await;
    let js = env.store.jetstream().clone();
    let slow = env
        .store
        .append("tables.s", 0, &[added("s", 2)], &context("s1"))
        .await
        .expect("append");
    let recorder = Arc::new(Recorder::default());
    recorder
        .slow
        .lock()
        .expect("lock")
        .insert(slow.last_sequence, Duration::from_millis(2500));
    let spec = ConsumerSpec {
        ack_wait: Duration::from_millis(800),
        ..spec("slow-test")
    };
    let consumer = DurableConsumer::ensure(&js, spec, Default::default())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(recorder.clone(), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let deliveries: Vec<i64> = recorder
        .seen
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, delivered, _)| *delivered)
        .collect();
    assert_eq!(
        deliveries,
        [1],
        "the server redelivered a message still in hand"
    );
    shutdown.cancel();
    task.await.expect("consumer stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_lands_on_the_dead_letter_stream_and_the_next_message_is_still_processed()
{
    let env = env().await;
    let js = env.store.jetstream().clone();

    // 1: the handler panics on it -> it can never be processed.
    let panicking = env
        .store
        .append("tables.p", 0, &[added("p", 2)], &context("p1"))
        .await
        .expect("append");
    // 2: not an event at all -> undecodable, dead-lettered at once.
    let mut headers = HeaderMap::new();
    headers.insert("Event-Type", "table-exploded");
    let garbage = js
        .publish_with_headers("tables.garbage", headers, "{not json".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    // 3: fine.
    let good = env
        .store
        .append("tables.q", 0, &[added("q", 2)], &context("q1"))
        .await
        .expect("append");

    let recorder = Arc::new(Recorder::default());
    recorder
        .panic_on
        .lock()
        .expect("lock")
        .push(panicking.last_sequence);
    let consumer = DurableConsumer::ensure(&js, spec("poison-test"), Default::default())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(recorder.clone(), shutdown.clone()));

    let mut dead_letters = js.get_stream("DEAD_LETTERS").await.expect("dlq stream");
    wait_until("the good message is handled", || {
        let seen = recorder.seen.lock().expect("lock");
        seen.iter().any(|(seq, _, _)| *seq == good.last_sequence)
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while dead_letters.info().await.expect("info").state.messages < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no two dead letters in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // One delivery of the panicking message, none after dead-lettering.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = recorder.seen.lock().expect("lock").clone();
    let deliveries: Vec<_> = seen
        .iter()
        .filter(|(seq, _, _)| *seq == panicking.last_sequence)
        .map(|(_, delivered, _)| *delivered)
        .collect();
    assert_eq!(deliveries, [1]);

    let mut by_sequence = HashMap::new();
    for seq in 1..=2 {
        let message = dead_letters
            .get_raw_message(seq)
            .await
            .expect("dead letter");
        let headers = message.headers.clone();
        let original: u64 = headers
            .get("Dead-Letter-Sequence")
            .expect("sequence header")
            .as_str()
            .parse()
            .expect("number");
        assert_eq!(message.subject.as_str(), "deadletter.TABLES.poison-test");
        assert_eq!(
            headers.get("Dead-Letter-Consumer").map(|v| v.as_str()),
            Some("poison-test")
        );
        by_sequence.insert(original, (message, headers));
    }
    let (poison, headers) = &by_sequence[&panicking.last_sequence];
    assert!(
        headers
            .get("Dead-Letter-Reason")
            .expect("reason")
            .as_str()
            .contains("panicked: told to panic")
    );
    assert_eq!(
        headers.get("Event-Type").map(|v| v.as_str()),
        Some("table-added")
    );
    assert!(!poison.payload.is_empty());
    let (undecodable, headers) = &by_sequence[&garbage.sequence];
    assert_eq!(undecodable.payload.as_ref(), b"{not json");
    assert_eq!(
        headers.get("Dead-Letter-Subject").map(|v| v.as_str()),
        Some("tables.garbage")
    );
    assert_eq!(
        headers.get("Dead-Letter-Deliveries").map(|v| v.as_str()),
        Some("1")
    );

    shutdown.cancel();
    task.await.expect("consumer stops");
}
