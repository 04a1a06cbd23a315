//! booker: the public HTTP gateway of shared/API.md, owner of the `BOOKINGS` stream, home
//! of the Booking aggregate and the booking saga.
//!
//! Rule: the only service that speaks HTTP to the outside and the only writer of
//! `bookings.>`; it reaches tables only through NATS (requests to table-manager, events).

mod problem;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use events::names;
use service_kit::{CommonConfig, RestaurantConfig, Secret, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Configuration of the booker, from the environment (DESIGN.md) or flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "booker",
    version,
    about = "HTTP gateway of the restaurant booking system"
)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,

    #[command(flatten)]
    pub restaurant: RestaurantConfig,

    /// Address the HTTP API listens on.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// Bearer token of the admin routes. Required: the booker refuses to start without it.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, value_parser = Secret::parse)]
    pub admin_token: Secret,

    /// How many days ahead a booking may be made.
    #[arg(long, env = "BOOKING_HORIZON_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub booking_horizon_days: u16,

    /// How long a booking may stay `initiated` before it is rejected with `timeout`.
    #[arg(long, env = "BOOKING_TIMEOUT", default_value = "30s",
          value_parser = service_kit::parse_duration)]
    pub booking_timeout: Duration,
}

/// The booker, bound to its address and ready to run.
#[derive(Debug)]
pub struct App {
    service: Service,
    config: Config,
}

impl App {
    /// Binds the HTTP address (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let service = Service::bind("booker", config.common.clone(), config.http_addr).await?;
        Ok(Self { service, config })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.service.local_addr()
    }

    /// Runs until `shutdown` is cancelled, then stops gracefully.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(config = ?self.config, "starting");
        let routes = |_ops| axum::Router::new().fallback(problem::not_found);
        self.service
            .run(routes, shutdown, |started| async move {
                started
                    .ensure_streams(&[names::BOOKINGS_STREAM, names::DEAD_LETTER_STREAM])
                    .await?;
                Ok(JoinSet::new())
            })
            .await
    }
}

/// Builds and runs the booker until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    App::build(config).await?.run(shutdown).await
}
