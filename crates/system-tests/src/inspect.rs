//! Looking behind the API: the streams, the consumers and the read models.

use std::time::Duration;

use events::{BookingEvent, BookingId, TableEvent, TableId};
use eventstore::{EventLog as _, EventStore, Recorded, StoreMetrics};
use serde_json::Value;

use crate::System;

impl System {
    /// The last sequence stored in a stream.
    pub async fn last_sequence(&self, stream: &str) -> u64 {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut stream = js.get_stream(stream).await.expect("stream");
        stream.info().await.expect("info").state.last_sequence
    }

    /// The projector's `/metrics` text.
    pub async fn projector_metrics(&self) -> String {
        self.http
            .get(&self.projector_metrics)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Waits until the current generation's checkpoints reach the last sequence of both
    /// streams: every event stored so far is in the read models.
    pub async fn wait_until_projected(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut behind = false;
            let bucket = self.current_bucket().await;
            for stream in ["TABLES", "BOOKINGS"] {
                let last = self.last_sequence(stream).await;
                let applied = bucket
                    .get(format!("checkpoint.{stream}"))
                    .await
                    .expect("checkpoint")
                    .map(|bytes| {
                        serde_json::from_slice::<events::read_model::Checkpoint>(&bytes)
                            .expect("checkpoint")
                            .sequence
                    })
                    .unwrap_or(0);
                behind |= applied < last;
            }
            if !behind {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the read models never caught up"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The bucket of the generation the queries read.
    pub async fn current_bucket(&self) -> async_nats::jetstream::kv::Store {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let control = projector::generations::Control::open(js, 1)
            .await
            .expect("control bucket");
        control
            .current_bucket()
            .await
            .expect("read the pointer")
            .expect("a current generation")
    }

    /// Every document of a generation bucket, by key.
    pub async fn snapshot(
        &self,
        bucket: &async_nats::jetstream::kv::Store,
    ) -> std::collections::BTreeMap<String, Value> {
        use futures_util::TryStreamExt as _;
        let keys: Vec<String> = bucket
            .keys()
            .await
            .expect("keys")
            .try_collect()
            .await
            .expect("keys");
        let mut snapshot = std::collections::BTreeMap::new();
        // The generation number a bucket holds is no read model.
        for key in keys
            .into_iter()
            .filter(|key| key != events::read_model::GENERATION_KEY)
        {
            if let Some(value) = bucket.get(&key).await.expect("get") {
                snapshot.insert(key, serde_json::from_slice(&value).expect("json"));
            }
        }
        snapshot
    }

    /// Waits until table-manager has removed a lock of `table`.
    pub async fn wait_for_lock_removal(&self, table: &str) -> Vec<Recorded<TableEvent>> {
        self.wait_for_table(table, |events| {
            events
                .iter()
                .any(|e| e.metadata.event_type == "table-lock-removed")
        })
        .await
    }

    fn store(&self, client: async_nats::Client) -> EventStore {
        EventStore::new(client, StoreMetrics::default())
    }

    /// The types of the events of booking `id`, in order.
    pub async fn booking_event_types(&self, id: &str) -> Vec<String> {
        self.booking_events(id)
            .await
            .into_iter()
            .map(|recorded| recorded.metadata.event_type)
            .collect()
    }

    /// Asserts that a refused request wrote nothing: booking `id` has exactly the events
    /// `before` (its event types before the request), and no later ones come.
    pub async fn assert_unchanged(&self, id: &str, before: &[String], request: &str) {
        // A write would follow the refusal at once; give the saga a moment to show one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = self.booking_event_types(id).await;
        assert_eq!(
            after, before,
            "{request} was refused but wrote to booking {id}"
        );
    }

    /// Waits (30 s at most) until each `(stream, consumer)` has acknowledged every message
    /// its stream holds now: whatever those messages cause has happened. A check that
    /// "nothing more happens" waits for this rather than for a fixed time.
    pub async fn wait_until_consumed(&self, consumers: &[(&str, &str)]) {
        use async_nats::jetstream::consumer::pull::Config;
        let js = async_nats::jetstream::new(self.nats.client().await);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        for (stream, consumer) in consumers {
            let mut stream_handle = js.get_stream(*stream).await.expect("stream");
            let last = stream_handle
                .info()
                .await
                .expect("info")
                .state
                .last_sequence;
            loop {
                let mut handle = stream_handle
                    .get_consumer::<Config>(consumer)
                    .await
                    .expect("consumer");
                let floor = handle
                    .info()
                    .await
                    .expect("consumer info")
                    .ack_floor
                    .stream_sequence;
                if floor >= last {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{consumer} did not get through {stream} to {last} (at {floor})"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Whether booking `id` still has its data key (its customer can be read).
    pub async fn has_data_key(&self, id: &str) -> bool {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let Ok(keys) = js.get_key_value(sealing::BUCKET).await else {
            return false;
        };
        keys.entry(id)
            .await
            .expect("read the data keys")
            .is_some_and(|entry| entry.operation == async_nats::jetstream::kv::Operation::Put)
    }

    pub async fn booking_events(&self, id: &str) -> Vec<Recorded<BookingEvent>> {
        let id = BookingId::parse(id).expect("a booking id");
        let store = self.store(self.nats.client().await);
        store
            .load_aggregate(&id)
            .await
            .expect("load booking")
            .events
    }

    pub async fn table_events(&self, id: &str) -> Vec<Recorded<TableEvent>> {
        let id = TableId::parse(id).expect("a table id");
        let store = self.store(self.nats.client().await);
        store.load_aggregate(&id).await.expect("load table").events
    }

    /// Messages stored in a stream.
    pub async fn stream_messages(&self, stream: &str) -> u64 {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut stream = js.get_stream(stream).await.expect("stream");
        stream.info().await.expect("info").state.messages
    }

    /// Every payload a stream holds now, as (lossy) text, one per line: to look for what
    /// must not be stored in clear.
    pub async fn stream_text(&self, stream: &str) -> String {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut stream = js.get_stream(stream).await.expect("stream");
        let (first, last) = {
            let state = &stream.info().await.expect("info").state;
            (state.first_sequence, state.last_sequence)
        };
        let mut text = String::new();
        for sequence in first..=last {
            if let Ok(message) = stream.get_raw_message(sequence).await {
                text.push_str(&String::from_utf8_lossy(&message.payload));
                text.push('\n');
            }
        }
        text
    }

    /// The subjects a stream holds messages on.
    pub async fn stream_subjects(&self, stream: &str) -> Vec<String> {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let stream = js.get_stream(stream).await.expect("stream");
        use futures_util::TryStreamExt as _;
        let pages = stream.info_with_subjects(">").await.expect("info");
        let counted: Vec<(String, usize)> = pages.try_collect().await.expect("subjects");
        let mut subjects: Vec<String> = counted.into_iter().map(|(subject, _)| subject).collect();
        subjects.sort();
        subjects
    }

    /// Every durable consumer's delivery state, to explain a test that timed out.
    pub async fn consumers(&self) -> String {
        let js = async_nats::jetstream::new(self.nats.client().await);
        let mut report = String::new();
        for name in ["TABLES", "BOOKINGS"] {
            let stream = js.get_stream(name).await.expect("stream");
            use futures_util::StreamExt as _;
            let mut infos = stream.consumers();
            while let Some(info) = infos.next().await {
                let info = info.expect("consumer info");
                report.push_str(&format!(
                    "{name}/{}: delivered {} ack-floor {} pending {} ack-pending {} redelivered {} waiting {}\n",
                    info.name,
                    info.delivered.stream_sequence,
                    info.ack_floor.stream_sequence,
                    info.num_pending,
                    info.num_ack_pending,
                    info.num_redelivered,
                    info.num_waiting,
                ));
            }
        }
        report
    }

    /// Waits until the booking's last event is of type `event_type`.
    pub async fn wait_for_booking(
        &self,
        id: &str,
        event_type: &str,
    ) -> Vec<Recorded<BookingEvent>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.booking_events(id).await;
            if events
                .last()
                .is_some_and(|e| e.metadata.event_type == event_type)
            {
                return events;
            }
            if tokio::time::Instant::now() >= deadline {
                let consumers = self.consumers().await;
                panic!("booking {id} never reached {event_type}: {events:?}\n{consumers}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the table's events satisfy `done`.
    pub async fn wait_for_table(
        &self,
        id: &str,
        done: impl Fn(&[Recorded<TableEvent>]) -> bool,
    ) -> Vec<Recorded<TableEvent>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.table_events(id).await;
            if done(&events) {
                return events;
            }
            if tokio::time::Instant::now() >= deadline {
                let consumers = self.consumers().await;
                panic!("table {id} never got there: {events:?}\n{consumers}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Every event a table recorded, as type names.
pub fn types<E>(events: &[Recorded<E>]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e.metadata.event_type.as_str())
        .collect()
}
