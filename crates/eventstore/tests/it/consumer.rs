use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use events::TableEvent;
use eventstore::EventLog as _;
use eventstore::{Backoff, ConsumerSpec, Delivery, DurableConsumer, HandleError, Handler};
use tokio_util::sync::CancellationToken;

use crate::{added, context, env};

/// Records every delivery; fails the sequences it is told to, a given number of times,
/// panics on others, and takes its time on others still.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<(u64, i64, String)>>,
    pub fail_times: Mutex<HashMap<u64, i64>>,
    pub panic_on: Mutex<Vec<u64>>,
    pub slow: Mutex<HashMap<u64, Duration>>,
    pub finished: Mutex<Vec<u64>>,
}

impl Handler for Recorder {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        let table = recorded
            .event
            .table_id()
            .expect("a table event")
            .to_string();
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

pub fn spec(durable: &str) -> ConsumerSpec {
    ConsumerSpec {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        ..ConsumerSpec::new("TABLES", durable)
    }
}

pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
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

#[tokio::test]
async fn a_consumer_made_from_now_leaves_the_history_alone_and_takes_what_comes_next() {
    let env = env().await;
    env.store
        .append(
            "tables.h1",
            0,
            &[crate::added("h1", 4)],
            &crate::context("history"),
        )
        .await
        .expect("history");
    let spec = ConsumerSpec {
        from_now: true,
        ..spec("from-now")
    };
    DurableConsumer::ensure(env.store.jetstream(), spec, Default::default())
        .await
        .expect("consumer");
    let mut consumer = env
        .store
        .jetstream()
        .get_stream("TABLES")
        .await
        .expect("stream")
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>("from-now")
        .await
        .expect("consumer");
    assert_eq!(consumer.info().await.expect("info").num_pending, 0);
    env.store
        .append(
            "tables.h2",
            0,
            &[crate::added("h2", 4)],
            &crate::context("next"),
        )
        .await
        .expect("next");
    assert_eq!(consumer.info().await.expect("info").num_pending, 1);
}

/// Hands over only what it does not ignore: `table-removed`.
struct IgnoresRemovals(Arc<Recorder>);

impl Handler for IgnoresRemovals {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        self.0.handle(delivery).await
    }

    fn ignores(&self) -> &'static [&'static str] {
        &[<events::TableRemoved as events::EventType>::TYPE]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_of_a_type_the_handler_ignores_is_acked_without_being_handed_over() {
    let env = env().await;
    let removed: TableEvent = events::TableRemoved {
        id: crate::table("i1"),
    }
    .into();
    env.store
        .append("tables.i1", 0, &[added("i1", 2)], &context("add"))
        .await
        .expect("added");
    env.store
        .append("tables.i1", 1, &[removed], &context("remove"))
        .await
        .expect("removed");
    env.store
        .append("tables.i2", 0, &[added("i2", 2)], &context("add-2"))
        .await
        .expect("added");
    let recorder = Arc::new(Recorder::default());
    let consumer =
        DurableConsumer::ensure(env.store.jetstream(), spec("ignores"), Default::default())
            .await
            .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(
        Arc::new(IgnoresRemovals(recorder.clone())),
        shutdown.clone(),
    ));
    wait_until("both additions were handled", || {
        recorder.finished.lock().expect("lock").len() == 2
    })
    .await;
    let mut info = env
        .store
        .jetstream()
        .get_stream("TABLES")
        .await
        .expect("stream")
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>("ignores")
        .await
        .expect("consumer");
    wait_until_async_acked(&mut info).await;
    let seen: Vec<String> = recorder
        .seen
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, _, table)| table.clone())
        .collect();
    assert_eq!(seen, ["i1", "i2"], "the removal was never handed over");
    shutdown.cancel();
    task.await.expect("consumer stops on shutdown");
}

/// Waits until the consumer has nothing pending and nothing unacknowledged.
async fn wait_until_async_acked(
    consumer: &mut async_nats::jetstream::consumer::Consumer<
        async_nats::jetstream::consumer::pull::Config,
    >,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let info = consumer.info().await.expect("info");
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never all acked: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
