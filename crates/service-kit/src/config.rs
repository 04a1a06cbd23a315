//! Configuration read from the environment (or the same-named flags), with the defaults of
//! DESIGN.md.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for containers and log collectors.
    Json,
}

/// Settings every service has.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonConfig {
    /// NATS server (or comma-separated cluster seed list) to connect to.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222",
          value_parser = NatsUrl::parse)]
    pub nats_url: NatsUrl,

    /// NATS user of this service (deploy/nats/users.conf); none connects without one.
    #[arg(long, env = "NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,

    /// Password of `NATS_USER`.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true, value_parser = Secret::parse,
          requires = "nats_user")]
    pub nats_password: Option<Secret>,

    /// Log output format; the level filter comes from RUST_LOG (default `info`).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Replicas of the streams this service creates: 1 for one server, 3 for a cluster.
    #[arg(long, env = "STREAM_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,

    /// Address of the service's HTTP endpoints. Default: booker 0.0.0.0:8080,
    /// table-manager 0.0.0.0:8081, projector 0.0.0.0:8082.
    #[arg(long, env = "HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// HTTP connections served at once; further ones wait to be accepted.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = crate::http::MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub http_max_connections: u32,

    /// How long a client may take to send a request's headers (and a kept-alive
    /// connection may sit idle) before the connection is closed.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http_header_timeout: Duration,

    /// How long a graceful stop (SIGTERM, SIGINT) may take: HTTP requests in flight, the
    /// workers' messages in hand and the NATS drain share it; the process then exits
    /// whatever is left. A second signal exits at once.
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "15s", value_parser = parse_drain)]
    pub drain_timeout: Duration,
}

fn parse_drain(raw: &str) -> Result<Duration, String> {
    let drain = parse_duration(raw)?;
    if drain < Duration::from_secs(1) || drain > Duration::from_secs(3600) {
        return Err(format!("{raw:?} is not between 1s and 1h"));
    }
    Ok(drain)
}

/// A checked `NATS_URL`: one server URL or a comma-separated seed list (`nats://a:4222,
/// nats://b:4222`). Shown as it was given.
#[derive(Debug, Clone)]
pub struct NatsUrl {
    raw: String,
    servers: Vec<async_nats::ServerAddr>,
}

impl NatsUrl {
    /// Refuses an empty entry or one that is not a NATS server URL, naming it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let servers = raw
            .split(',')
            .map(str::trim)
            .map(|url| {
                if url.is_empty() {
                    return Err("an empty server in NATS_URL".to_owned());
                }
                url.parse::<async_nats::ServerAddr>()
                    .map_err(|e| format!("{url:?} is not a NATS server URL: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            raw: raw.to_owned(),
            servers,
        })
    }

    /// The servers to connect to, in the order given.
    pub fn servers(&self) -> Vec<async_nats::ServerAddr> {
        self.servers.clone()
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration like 30s, 500ms, 5m or 1h"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        _ => return Err(format!("{raw:?} has an unknown unit (use ms, s, m or h)")),
    };
    Ok(duration)
}

/// A secret setting: never shown by `Debug` or in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Refuses an empty or blank secret.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            Err("must not be empty".to_owned())
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn durations_accept_the_usual_units_and_bare_seconds() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
    }

    #[test]
    fn durations_without_a_number_or_with_an_unknown_unit_are_refused() {
        for bad in ["", "s", "30 days", "1.5s", "-3s", "3x"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_secret_is_never_shown_by_debug_and_must_not_be_blank() {
        let secret = Secret::parse("hunter2").expect("valid");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(Secret::parse("  ").is_err());
    }

    #[test]
    fn a_nats_url_may_be_one_server_or_a_comma_separated_seed_list() {
        let one = NatsUrl::parse("nats://127.0.0.1:4222").expect("one server");
        assert_eq!(one.servers().len(), 1);
        let seeds = "nats://nats:4222, nats://nats-2:4222,nats://nats-3:4222";
        let cluster = NatsUrl::parse(seeds).expect("seed list");
        assert_eq!(cluster.servers().len(), 3);
        assert_eq!(cluster.to_string(), seeds);
        for bad in ["", "nats://a:4222,", "nats://a:port"] {
            assert!(NatsUrl::parse(bad).is_err(), "{bad:?}");
        }
    }
}
