//! The event store on NATS JetStream: stream setup, optimistic appends, loading an
//! aggregate's events, durable consumers with dead-lettering, and a repository that runs
//! pure aggregates against all of that. The repository and the services' command handlers
//! and saga steps see the store through the small [`EventLog`] trait, which an in-memory
//! log ([`InMemory`]) also implements, so they are unit-tested given/when/then
//! ([`testing::Scenario`]) without a nats-server.
//!
//! Rule: this is the only crate that speaks JetStream's wire details (headers, API
//! subjects, error codes). Services use its types and never build those by hand.
//!
//! * One subject per aggregate; its version is the stream sequence of its last event, and
//!   every append states it in `Nats-Expected-Last-Subject-Sequence` (0 = new aggregate).
//! * `Nats-Msg-Id` is the event id, which is derived from the command (see
//!   [`events::CommandId::event_id`]), so retries and redeliveries are deduplicated.

mod consumer;
pub mod dead_letters;
mod disconnects;
mod log;
mod memory;
mod metrics;
mod recorded;
mod repository;
pub mod snapshots;
mod spec;
mod store;
mod streams;
pub mod testing;

pub use consumer::{ConsumerError, Delivery, DurableConsumer, HandleError, Handler};
pub use dead_letters::dead_letter;
pub use disconnects::{ConnectionLost, DisconnectSignal, Disconnects, LossWatch};
pub use log::{AppendContext, AppendError, Appended, EventLog, LoadError, Loaded};
pub use memory::InMemory;
pub use metrics::StoreMetrics;
pub use recorded::Recorded;
pub use repository::{Clock, ExecuteError, Executed, Repository};
pub use spec::{Backoff, ConsumerSpec, Pauses};
pub use store::{EventStore, direct_get_batch};
pub use streams::{StreamError, StreamSettings, ensure_streams, key_value, stream_config};

/// Errors from the NATS client, boxed: their types differ per operation.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Whether an error's text (with its causes) says a stream or bucket reached its limit:
/// JetStream says so in words only ("maximum bytes exceeded", "maximum messages exceeded",
/// or for the account "insufficient resources").
pub fn limit_reached(text: &str) -> bool {
    let text = text.to_lowercase();
    [
        "maximum bytes",
        "maximum messages",
        "insufficient resources",
    ]
    .iter()
    .any(|words| text.contains(words))
}
