//! The scaffold every service runs on ([`Service`], [`App`], [`main`]): configuration
//! from the environment, logging, the NATS connection with retry, the operations
//! endpoints (`/healthz`, `/readyz`, `/metrics`), the container health probe and graceful
//! shutdown.
//!
//! Rule: no business logic here; a service's own behaviour lives in the service.
//!
//! Never stuck: signals are taken by a thread of their own and a stop ends the process
//! within `DRAIN_TIMEOUT` ([`shutdown`]); log lines go through a queue to a thread of their
//! own ([`log_writer`]); no lock guard is held across an `.await` (workspace lints) and
//! metric families are touched with owned handles only (see `eventstore`'s metrics).

pub mod app;
pub mod config;
pub mod healthcheck;
pub mod http;
pub mod log_writer;
pub mod nats;
pub mod ops;
pub mod service;
pub mod shutdown;
pub mod telemetry;

pub use app::{App, Launch, Spawned, launch, main, run, serve};
pub use config::{CommonConfig, LogFormat, NatsUrl, Secret, parse_duration};
pub use service::{Config, Info, Service, Started, Workers};
