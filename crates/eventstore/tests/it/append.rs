use std::sync::Arc;

use events::{DomainEvent, TableEvent, TableRemoved};
use eventstore::EventLog as _;
use eventstore::{AppendError, EventStore, Loaded, StoreMetrics, StreamSettings};
use tokio::sync::Barrier;

use crate::{added, context, env, table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_appends_at_the_same_version_have_exactly_one_winner_per_round() {
    let env = env().await;
    let store = env.store.clone();
    let mut version = 0;
    for round in 0..5 {
        let barrier = Arc::new(Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|task| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let event = added("race", task + 1);
                    store
                        .append(
                            "tables.race",
                            version,
                            &[event],
                            &context(&format!("r{round}t{task}")),
                        )
                        .await
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(appended) => winners.push(appended),
                Err(AppendError::Conflict { expected, .. }) => {
                    assert_eq!(expected, version);
                    conflicts += 1;
                }
                Err(other) => panic!("round {round}: unexpected error {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        assert_eq!(conflicts, 31, "round {round}: everyone else conflicts");
        assert!(!winners[0].duplicate);
        version = winners[0].last_sequence;
    }
    let loaded: Loaded<TableEvent> = store.load("tables.race").await.expect("load");
    assert_eq!(loaded.events.len(), 5, "one event per round, nothing more");
    assert_eq!(loaded.version, version);
}

#[tokio::test]
async fn a_duplicate_message_id_appends_nothing() {
    let env = env().await;
    let ctx = context("add-t1");
    let first = env
        .store
        .append("tables.t1", 0, &[added("t1", 4)], &ctx)
        .await
        .expect("first append");
    assert!(!first.duplicate);

    // The same command again at the current version: JetStream drops it as a duplicate
    // and answers with the sequence of the stored copy.
    let again = env
        .store
        .append("tables.t1", first.last_sequence, &[added("t1", 4)], &ctx)
        .await
        .expect("a retry is not an error");
    assert!(again.duplicate);
    assert_eq!(again.last_sequence, first.last_sequence);
    assert_eq!(again.event_ids, first.event_ids);

    // With the stale version it had before, the expected-sequence check answers first
    // (nats-server checks it before dedup): a conflict, and still nothing written. The
    // repository then reloads, and the aggregate decides the command is already applied.
    let stale = env
        .store
        .append("tables.t1", 0, &[added("t1", 4)], &ctx)
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { .. })),
        "{stale:?}"
    );

    let loaded = env
        .store
        .load::<TableEvent>("tables.t1")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 1);
}

#[tokio::test]
async fn load_returns_what_was_appended_in_order_with_its_metadata_and_version() {
    let env = env().await;
    let mut version = 0;
    let mut expected = Vec::new();
    // More than one load page (256), interleaved with another aggregate.
    for i in 0..300u64 {
        let ctx = context(&format!("cmd-{i}"));
        let event = added("many", i % 50 + 1);
        let appended = env
            .store
            .append("tables.many", version, std::slice::from_ref(&event), &ctx)
            .await
            .expect("append");
        version = appended.last_sequence;
        expected.push((event, ctx, appended.event_ids[0]));
        env.store
            .append(
                "tables.other",
                i,
                &[added("other", 2)],
                &context(&format!("other-{i}")),
            )
            .await
            .ok();
    }
    let loaded = env
        .store
        .load::<TableEvent>("tables.many")
        .await
        .expect("load");
    assert_eq!(loaded.version, version);
    assert_eq!(loaded.events.len(), 300);
    let mut last_sequence = 0;
    for (recorded, (event, ctx, event_id)) in loaded.events.iter().zip(&expected) {
        assert_eq!(&recorded.event, event);
        assert!(recorded.sequence > last_sequence, "in stream order");
        last_sequence = recorded.sequence;
        assert_eq!(recorded.subject, "tables.many");
        assert_eq!(recorded.metadata.event_id, *event_id);
        assert_eq!(recorded.metadata.event_id, ctx.command_id.event_id(0));
        assert_eq!(recorded.metadata.event_type, "table-added");
        assert_eq!(recorded.metadata.schema_version, 1);
        assert_eq!(recorded.metadata.correlation_id, ctx.correlation_id);
        assert_eq!(recorded.metadata.causation_id, ctx.causation_id);
    }

    // Loading after a version returns only what came later.
    let tail = env
        .store
        .load_after::<TableEvent>("tables.many", expected.len() as u64)
        .await
        .expect("load after");
    assert!(tail.events.len() < 300 && !tail.events.is_empty());
    assert_eq!(tail.version, version);

    // An aggregate that does not exist loads empty at version 0.
    let none = env
        .store
        .load::<TableEvent>("tables.nobody")
        .await
        .expect("load");
    assert!(none.events.is_empty());
    assert_eq!(none.version, 0);
}

#[tokio::test]
async fn several_events_of_one_command_are_appended_all_or_nothing() {
    let env = env().await;
    let events = vec![
        added("multi", 4),
        TableEvent::Removed(TableRemoved { id: table("multi") }),
    ];
    let appended = env
        .store
        .append("tables.multi", 0, &events, &context("batch-1"))
        .await
        .expect("batch append");
    assert_eq!(appended.event_ids.len(), 2);
    let loaded = env
        .store
        .load::<TableEvent>("tables.multi")
        .await
        .expect("load");
    let types: Vec<_> = loaded.events.iter().map(|r| r.event.event_type()).collect();
    assert_eq!(types, ["table-added", "table-removed"]);
    assert_eq!(loaded.version, appended.last_sequence);

    // A batch at a stale version stores none of its events.
    let stale = env
        .store
        .append("tables.multi", 0, &events, &context("batch-2"))
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { .. })),
        "{stale:?}"
    );
    let loaded = env
        .store
        .load::<TableEvent>("tables.multi")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 2);
}

#[tokio::test]
async fn events_survive_a_nats_server_restart_on_the_same_store() {
    let mut env = env().await;
    let first = env
        .store
        .append("tables.durable", 0, &[added("durable", 6)], &context("c1"))
        .await
        .expect("append");
    env.server.restart().await;

    // A fresh client, as a restarted service would have.
    let store = eventstore::EventStore::new(
        env.server.client().await,
        eventstore::StoreMetrics::default(),
    );
    let loaded = store
        .load::<TableEvent>("tables.durable")
        .await
        .expect("load");
    assert_eq!(loaded.events.len(), 1);
    assert_eq!(loaded.events[0].event, added("durable", 6));
    assert_eq!(loaded.version, first.last_sequence);
    // The version carries on where it was: a stale writer still conflicts.
    let stale = store
        .append("tables.durable", 0, &[added("durable", 6)], &context("c2"))
        .await;
    assert!(matches!(stale, Err(AppendError::Conflict { .. })));
    store
        .append(
            "tables.durable",
            loaded.version,
            &[added("durable", 7)],
            &context("c3"),
        )
        .await
        .expect("append after restart");
}

#[tokio::test]
async fn a_consistent_load_reads_up_to_what_the_stream_leader_holds() {
    let env = env().await;
    for (n, event) in [added("c", 2), TableRemoved { id: table("c") }.into()]
        .iter()
        .enumerate()
    {
        // Sequences: other 1, c 2, other 3, c 4.
        let (other, expected) = if n == 0 { (0, 0) } else { (1, 2) };
        // Another subject in between, so the versions are not 1, 2.
        env.store
            .append(
                "tables.other",
                other,
                &[added("other", 2)],
                &context(&format!("o{n}")),
            )
            .await
            .expect("append other");
        env.store
            .append(
                "tables.c",
                expected,
                std::slice::from_ref(event),
                &context(&format!("c{n}")),
            )
            .await
            .expect("append");
    }
    let all: Loaded<TableEvent> = env
        .store
        .load_after_consistent("tables.c", 0)
        .await
        .expect("load");
    assert_eq!(all.events.len(), 2);
    assert_eq!(all.version, 4);
    let plain: Loaded<TableEvent> = env.store.load_after("tables.c", 0).await.expect("load");
    assert_eq!(plain.version, all.version);

    let nothing_new: Loaded<TableEvent> = env
        .store
        .load_after_consistent("tables.c", 4)
        .await
        .expect("load");
    assert!(nothing_new.events.is_empty());
    assert_eq!(nothing_new.version, 4);
    let unknown: Loaded<TableEvent> = env
        .store
        .load_after_consistent("tables.nobody", 0)
        .await
        .expect("load");
    assert!(unknown.events.is_empty());
    assert_eq!(unknown.version, 0);

    // The version alone, from the leader, loading nothing.
    let version = |subject: &'static str| env.store.version_consistent::<TableEvent>(subject);
    assert_eq!(version("tables.c").await.expect("version"), 4);
    assert_eq!(version("tables.nobody").await.expect("version"), 0);
}

/// On a cluster (R3 streams) JetStream answers a stale expected version with the constant
/// form of "wrong last sequence" (10164 rather than 10071): still a conflict, which the
/// repository resolves by loading and deciding again, never a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_on_a_cluster_is_a_conflict_for_one_event_and_for_a_batch() {
    let cluster = testkit::NatsCluster::start(3).await;
    let store = EventStore::new(cluster.client().await, StoreMetrics::default());
    let settings = StreamSettings {
        replicas: 3,
        ..StreamSettings::default()
    };
    eventstore::ensure_streams(store.jetstream(), &["TABLES"], settings)
        .await
        .expect("streams");
    let first = store
        .append("tables.c1", 0, &[added("c1", 4)], &context("cluster-1"))
        .await
        .expect("first append");
    let stale_one = store
        .append("tables.c1", 0, &[added("c1", 5)], &context("cluster-2"))
        .await;
    assert!(
        matches!(stale_one, Err(AppendError::Conflict { .. })),
        "{stale_one:?}"
    );
    let batch = [added("c1", 6), TableRemoved { id: table("c1") }.into()];
    let stale_batch = store
        .append("tables.c1", 0, &batch, &context("cluster-3"))
        .await;
    assert!(
        matches!(stale_batch, Err(AppendError::Conflict { .. })),
        "{stale_batch:?}"
    );
    let current = store
        .append(
            "tables.c1",
            first.last_sequence,
            &batch,
            &context("cluster-4"),
        )
        .await
        .expect("a batch at the current version");
    assert_eq!(current.event_ids.len(), 2);

    // Appends racing at one version while others are still being replicated: every loser
    // is told it lost the race.
    let mut version = current.last_sequence;
    for round in 0..5 {
        let barrier = Arc::new(Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|task| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let events = vec![added("c1", task + 1); 1 + (task as usize % 2)];
                    let ctx = context(&format!("race-{round}-{task}"));
                    store.append("tables.c1", version, &events, &ctx).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.expect("task") {
                Ok(appended) => winners.push(appended),
                Err(AppendError::Conflict { .. }) => {}
                Err(other) => panic!("round {round}: a lost race is a conflict, not {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        version = winners[0].last_sequence;
    }
}
