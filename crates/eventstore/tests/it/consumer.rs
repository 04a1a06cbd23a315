use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use events::TableEvent;
use eventstore::EventLog as _;
use eventstore::{Backoff, ConsumerSpec, Delivery, DurableConsumer, HandleError, Handler};
use tokio_util::sync::CancellationToken;

use crate::{added, context, env};

/// Records every delivery; fails the sequences it is told to, a given number of times,
/// panics on others, and takes its time on others still.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(u64, i64, String)>>,
    fail_times: Mutex<HashMap<u64, i64>>,
    panic_on: Mutex<Vec<u64>>,
    slow: Mutex<HashMap<u64, Duration>>,
    finished: Mutex<Vec<u64>>,
}

impl Handler for Recorder {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        let table = recorded.event.table_id().to_string();
        self.seen
            .lock()
            .expect("lock")
            .push((delivery.stream_sequence, delivery.delivered, table));
        let failures = *self
            .fail_times
            .lock()
            .expect("lock")
            .get(&delivery.stream_sequence)
            .unwrap_or(&0);
        if delivery.delivered <= failures {
            return Err(HandleError::Retry("told to fail".into()));
        }
        if self
            .panic_on
            .lock()
            .expect("lock")
            .contains(&delivery.stream_sequence)
        {
            panic!("told to panic");
        }
        let slow = self
            .slow
            .lock()
            .expect("lock")
            .get(&delivery.stream_sequence)
            .copied();
        if let Some(time) = slow {
            tokio::time::sleep(time).await;
        }
        self.finished
            .lock()
            .expect("lock")
            .push(delivery.stream_sequence);
        Ok(())
    }
}

fn spec(durable: &str) -> ConsumerSpec {
    ConsumerSpec {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        ..ConsumerSpec::new("TABLES", durable)
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nakd_message_is_redelivered_and_then_handled() {
    let env = env().await;
    let appended = env
        .store
        .append("tables.a", 0, &[added("a", 2)], &context("a"))
        .await
        .expect("append");
    let recorder = Arc::new(Recorder::default());
    recorder
        .fail_times
        .lock()
        .expect("lock")
        .insert(appended.last_sequence, 1);

    let consumer =
        DurableConsumer::ensure(env.store.jetstream(), spec("nak-test"), Default::default())
            .await
            .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(recorder.clone(), shutdown.clone()));

    wait_until("the message was delivered twice", || {
        recorder.seen.lock().expect("lock").len() >= 2
    })
    .await;
    let seen = recorder.seen.lock().expect("lock").clone();
    assert_eq!(seen[0], (appended.last_sequence, 1, "a".into()));
    assert_eq!(seen[1], (appended.last_sequence, 2, "a".into()));

    // Acked on the second delivery: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recorder.seen.lock().expect("lock").len(), 2);
    shutdown.cancel();
    task.await.expect("consumer stops on shutdown");
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_consumer_resumes_after_a_restart_without_redoing_acked_messages() {
    let env = env().await;
    let js = env.store.jetstream().clone();
    for (i, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
        env.store
            .append(
                &format!("tables.{id}"),
                0,
                &[added(id, 2)],
                &context(&format!("r{i}")),
            )
            .await
            .expect("append");
    }
    let first = Arc::new(Recorder::default());
    let consumer = DurableConsumer::ensure(&js, spec("resume"), Default::default())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(first.clone(), shutdown.clone()));
    wait_until("three handled", || {
        first.seen.lock().expect("lock").len() == 3
    })
    .await;
    // Let the acks reach the server before stopping.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shutdown.cancel();
    task.await.expect("stops");

    env.store
        .append("tables.r4", 0, &[added("r4", 2)], &context("r4"))
        .await
        .expect("append");
    let second = Arc::new(Recorder::default());
    let consumer = DurableConsumer::ensure(&js, spec("resume"), Default::default())
        .await
        .expect("same consumer again");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(second.clone(), shutdown.clone()));
    wait_until("the new message handled", || {
        !second.seen.lock().expect("lock").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = second.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "only the new message: {seen:?}");
    assert_eq!(seen[0].2, "r4");
    shutdown.cancel();
    task.await.expect("stops");
}

/// Takes its time on some subjects, records the order of each subject's deliveries, and
/// defers each message once.
#[derive(Default)]
struct SlowAndDeferring {
    order: Mutex<HashMap<String, Vec<u64>>>,
    deferred: Mutex<Vec<u64>>,
}

impl Handler for SlowAndDeferring {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        if delivery.subject == "tables.d" {
            let mut deferred = self.deferred.lock().expect("lock");
            if !deferred.contains(&delivery.stream_sequence) {
                deferred.push(delivery.stream_sequence);
                return Err(HandleError::Defer(Duration::from_millis(300)));
            }
        }
        // Earlier messages of a subject take longer: only per-subject order keeps them in
        // sequence.
        let pause = 20_u64.saturating_sub(delivery.stream_sequence % 20);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        self.order
            .lock()
            .expect("lock")
            .entry(delivery.subject.clone())
            .or_default()
            .push(delivery.stream_sequence);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_one_subject_are_handled_in_order_and_a_deferred_one_comes_back_later() {
    let env = env().await;
    let subjects = ["a", "b", "c"];
    for round in 0..10 {
        for subject in subjects {
            env.store
                .append_at(
                    &format!("tables.{subject}"),
                    None,
                    &[added(subject, 2)],
                    &context(&format!("{subject}-{round}")),
                )
                .await
                .expect("append");
        }
    }
    let deferred_at = env
        .store
        .append("tables.d", 0, &[added("d", 2)], &context("d"))
        .await
        .expect("append")
        .last_sequence;
    let handler = Arc::new(SlowAndDeferring::default());
    let consumer =
        DurableConsumer::ensure(env.store.jetstream(), spec("order"), Default::default())
            .await
            .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(handler.clone(), shutdown.clone()));
    let started = tokio::time::Instant::now();
    wait_until("every message is handled", || {
        let order = handler.order.lock().expect("lock");
        order.values().map(Vec::len).sum::<usize>() == 31
    })
    .await;
    let order = handler.order.lock().expect("lock").clone();
    for subject in subjects {
        let seen = &order[&format!("tables.{subject}")];
        assert_eq!(seen.len(), 10);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{subject}: {seen:?}");
    }
    assert_eq!(order["tables.d"], [deferred_at]);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the deferral was not waited"
    );
    shutdown.cancel();
    task.await.expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_by_a_header_messages_of_one_subject_with_different_values_do_not_wait_for_each_other()
 {
    let env = env().await;
    let js = env.store.jetstream().clone();
    // Two events on one subject, of two correlations (the `context` of each is new).
    let first = env
        .store
        .append("tables.shared", 0, &[added("shared", 2)], &context("h1"))
        .await
        .expect("append");
    let second = env
        .store
        .append_at("tables.shared", None, &[added("shared", 4)], &context("h2"))
        .await
        .expect("append");
    let recorder = Arc::new(Recorder::default());
    recorder
        .slow
        .lock()
        .expect("lock")
        .insert(first.last_sequence, Duration::from_secs(1));
    let spec = spec("by-header").ordered_by_header(events::names::headers::CORRELATION_ID);
    let consumer = DurableConsumer::ensure(&js, spec, Default::default())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(recorder.clone(), shutdown.clone()));
    wait_until("both are handled", || {
        recorder.finished.lock().expect("lock").len() == 2
    })
    .await;
    assert_eq!(
        *recorder.finished.lock().expect("lock"),
        [second.last_sequence, first.last_sequence],
        "the second waited for the first"
    );
    shutdown.cancel();
    task.await.expect("consumer stops");
}
