//! Operators list dead letters and replay them through the running consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use eventstore::{
    ConsumerSpec, Delivery, DurableConsumer, HandleError, Handler, StoreMetrics, dead_letters,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{added, context, env};

/// Refuses every message as poison while `broken` (a bug, a missing upgrade), then
/// handles them.
#[derive(Default)]
struct Fixable {
    broken: AtomicBool,
    handled: AtomicUsize,
}

impl Handler for Fixable {
    async fn handle(&self, _delivery: &Delivery) -> Result<(), HandleError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(HandleError::Poison("cannot handle this yet".into()));
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn metrics_text(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_counted_and_once_replayed_handled_and_deleted() {
    let env = env().await;
    let js = env.store.jetstream().clone();
    let metrics = StoreMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let appended = env
        .store
        .append("tables.d", 0, &[added("d", 2)], &context("d1"))
        .await
        .expect("append");

    let handler = Arc::new(Fixable::default());
    handler.broken.store(true, Ordering::SeqCst);
    let spec = ConsumerSpec::new("TABLES", "replay-test");
    let consumer = DurableConsumer::ensure(&js, spec, metrics.clone())
        .await
        .expect("consumer");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(handler.clone(), shutdown.clone()));

    let mut letters = Vec::new();
    eventually("the message is dead-lettered", async || {
        letters = dead_letters::list(&js, 100).await.expect("list");
        !letters.is_empty()
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter.consumer, "replay-test");
    assert_eq!(letter.stream, "TABLES");
    assert_eq!(letter.subject, "tables.d");
    assert_eq!(letter.original_sequence, appended.last_sequence);
    assert_eq!(letter.event_type.as_deref(), Some("table-added"));
    assert!(letter.reason.contains("cannot handle this yet"));
    // The gauge follows the stored dead letters (a moment later under load).
    eventually("the gauge shows the dead letter", async || {
        metrics_text(&registry).contains(r#"consumer_dead_letters{consumer="replay-test"} 1"#)
    })
    .await;

    // The fix is deployed; the operator replays the dead letter.
    handler.broken.store(false, Ordering::SeqCst);
    let replayed = dead_letters::replay(&js, letter.sequence)
        .await
        .expect("replay");
    assert_eq!(replayed.original_sequence, appended.last_sequence);
    eventually(
        "the replay is handled and its dead letter deleted",
        async || {
            handler.handled.load(Ordering::SeqCst) == 1
                && dead_letters::list(&js, 100).await.expect("list").is_empty()
        },
    )
    .await;
    eventually("the gauge shows no dead letter", async || {
        metrics_text(&registry).contains(r#"consumer_dead_letters{consumer="replay-test"} 0"#)
    })
    .await;
    // The original delivery is not handled again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    task.await.expect("consumer stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_what_is_not_a_dead_letter_is_refused() {
    let env = env().await;
    let js = env.store.jetstream().clone();
    assert!(dead_letters::replay(&js, 42).await.is_err());
    assert!(dead_letters::list(&js, 10).await.expect("list").is_empty());
}
