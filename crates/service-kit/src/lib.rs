//! The scaffold every service runs on ([`Service`], [`App`], [`main`]): configuration
//! from the environment, logging, the NATS connection with retry, the operations
//! endpoints (`/healthz`, `/readyz`, `/metrics`), the container health probe and graceful
//! shutdown.
//!
//! Rule: no business logic here; a service's own behaviour lives in the service.

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
