//! Limits on guessing access codes (API.md "Guessing, limits and personal data", ADR 0021):
//! after [`MAX_FAILURES`] wrong codes within [`WINDOW`] for one client address, booking or
//! email, further attempts on it answer 429 until the oldest of those failures leaves the
//! window, and the code is not even checked meanwhile.
//!
//! The state is in NATS, so every booker replica counts the same failures: each wrong code
//! is one empty message on the subject of each scope it counts for, in the booker's stream
//! `ACCESS_GUARD`. The stream keeps at most [`MAX_FAILURES`] messages per subject (all a
//! decision needs), none older than the window, and [`MAX_BYTES`] in all: nothing grows
//! with an attacker's traffic. Client addresses and emails appear only as keyed digests.
//!
//! Wrong admin tokens are limited the same way, per client address, over a shorter
//! [`ADMIN_WINDOW`] (ADR 0025): ten a minute makes even a short token unguessable online,
//! and an operator who mistypes it waits a minute at most.

use std::net::IpAddr;
use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::{self, stream};
use events::BookingId;
use jiff::Timestamp;

use crate::edge::keys::ServerKey;

/// Wrong codes allowed per scope within the window.
pub const MAX_FAILURES: usize = 10;
/// How long a wrong code counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a wrong admin token counts.
pub const ADMIN_WINDOW: Duration = Duration::from_secs(60);
/// The stream that holds the failures.
pub const STREAM: &str = "ACCESS_GUARD";
/// The most the failures may take on the server; beyond, the oldest go first.
pub const MAX_BYTES: i64 = 64 * 1024 * 1024;

/// What one wrong code counts against.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The client's address (an IPv6 client's /64: one host usually has all of it).
    Client(IpAddr),
    Booking(BookingId),
    /// An email as `lookup` matches it: trimmed, case-insensitive.
    Email(&'a str),
    /// Wrong admin tokens from the client's address (counted as [`Scope::Client`]).
    AdminClient(IpAddr),
}

impl Scope<'_> {
    /// How long a failure counts against this scope.
    pub fn window(&self) -> Duration {
        match self {
            Self::AdminClient(_) => ADMIN_WINDOW,
            Self::Client(_) | Self::Booking(_) | Self::Email(_) => WINDOW,
        }
    }
}

/// Why an attempt was not made.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("too many wrong access codes; try again in {0:?}")]
    Limited(Duration),
    #[error("the guessing limits cannot be read or written: {0}")]
    Unavailable(#[source] anyhow::Error),
}

/// The guessing limits, shared by every booker through NATS.
#[derive(Debug, Clone)]
pub struct Guard {
    client: Client,
    js: jetstream::Context,
    key: ServerKey,
}

impl Guard {
    /// Creates the stream if missing (any replica may come first).
    pub async fn open(
        client: Client,
        js: jetstream::Context,
        key: ServerKey,
        replicas: usize,
    ) -> anyhow::Result<Self> {
        let max_messages = i64::try_from(MAX_FAILURES).unwrap_or(i64::MAX);
        js.get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            description: Some("Wrong access codes of the last 15 minutes, by scope".to_owned()),
            subjects: vec!["guard.>".to_owned()],
            max_age: WINDOW,
            max_messages_per_subject: max_messages,
            max_bytes: MAX_BYTES,
            discard: stream::DiscardPolicy::Old,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            allow_direct: true,
            duplicate_window: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the {STREAM} stream: {e}"))?;
        Ok(Self { client, js, key })
    }

    /// Refuses when any scope has had [`MAX_FAILURES`] wrong codes within the window.
    pub async fn check(&self, scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        let now = Timestamp::now();
        let reads = scopes.iter().map(|scope| async move {
            let failures = self.failures(scope).await?;
            Ok::<_, GuardError>(limited_for(&failures, now, scope.window()))
        });
        let mut wait = None;
        for limited in futures_util::future::try_join_all(reads).await? {
            wait = wait.max(limited);
        }
        wait.map_or(Ok(()), |wait| Err(GuardError::Limited(wait)))
    }

    /// Counts a wrong code against every scope.
    pub async fn failed(&self, scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        let publishes = scopes.iter().map(|scope| async move {
            self.js
                .publish(self.subject(scope), bytes::Bytes::new())
                .await
                .map_err(unavailable)?
                .await
                .map_err(unavailable)
        });
        futures_util::future::try_join_all(publishes).await?;
        Ok(())
    }

    /// Checks the limits, then the code with `matches`; a wrong code is counted.
    pub async fn attempt(
        &self,
        scopes: &[Scope<'_>],
        matches: impl FnOnce() -> bool,
    ) -> Result<bool, GuardError> {
        self.check(scopes).await?;
        if matches() {
            return Ok(true);
        }
        self.failed(scopes).await?;
        Ok(false)
    }

    /// When the failures still stored on a scope's subject were stored.
    async fn failures(&self, scope: &Scope<'_>) -> Result<Vec<Timestamp>, GuardError> {
        let subject = self.subject(scope);
        let page =
            eventstore::direct_get_batch(&self.client, STREAM, &subject, 1, MAX_FAILURES, None)
                .await
                .map_err(unavailable)?;
        Ok(page
            .iter()
            .filter_map(|(_, headers, _)| headers.as_ref()?.get("Nats-Time-Stamp"))
            .filter_map(|stamp| stamp.as_str().parse::<Timestamp>().ok())
            .collect())
    }

    fn subject(&self, scope: &Scope<'_>) -> String {
        match scope {
            Scope::Client(address) => {
                let digest = self
                    .key
                    .digest("guard/client", client_key(*address).as_bytes());
                format!("guard.client.{digest}")
            }
            Scope::AdminClient(address) => {
                let digest = self
                    .key
                    .digest("guard/admin", client_key(*address).as_bytes());
                format!("guard.admin.{digest}")
            }
            Scope::Booking(id) => format!("guard.booking.{id}"),
            Scope::Email(email) => {
                let normalized = email.trim().to_lowercase();
                let digest = self.key.digest("guard/email", normalized.as_bytes());
                format!("guard.email.{digest}")
            }
        }
    }
}

fn unavailable(error: impl Into<anyhow::Error>) -> GuardError {
    GuardError::Unavailable(error.into())
}

/// How long a scope with wrong codes stored at `failures` stays limited after `now`:
/// `None` while fewer than [`MAX_FAILURES`] are within `window`, else until the oldest of
/// them leaves it (at least a second: `Retry-After` counts in seconds).
pub fn limited_for(failures: &[Timestamp], now: Timestamp, window: Duration) -> Option<Duration> {
    let window = jiff::SignedDuration::try_from(window).ok()?;
    let mut recent: Vec<Timestamp> = failures
        .iter()
        .copied()
        .filter(|at| *at + window > now)
        .collect();
    if recent.len() < MAX_FAILURES {
        return None;
    }
    recent.sort_unstable();
    let oldest = recent[recent.len() - MAX_FAILURES];
    let left = Duration::try_from((oldest + window).duration_since(now)).unwrap_or_default();
    Some(left.max(Duration::from_secs(1)))
}

/// What the client limit counts by: an IPv4 address as it is, an IPv6 address by its /64.
pub fn client_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).expect("time")
    }

    #[test]
    fn given_nine_wrong_codes_in_the_window_then_the_scope_is_not_limited() {
        let failures: Vec<Timestamp> = (0..9).map(at).collect();
        assert_eq!(limited_for(&failures, at(10), WINDOW), None);
    }

    #[test]
    fn given_ten_wrong_codes_in_the_window_then_the_scope_is_limited_until_the_oldest_leaves_it() {
        let failures: Vec<Timestamp> = (0..10).map(at).collect();
        assert_eq!(
            limited_for(&failures, at(10), WINDOW),
            Some(Duration::from_secs(5 * 60))
        );
        assert_eq!(
            limited_for(&failures, at(14), WINDOW),
            Some(Duration::from_secs(60))
        );
        // The oldest has left the window: nine remain.
        assert_eq!(limited_for(&failures, at(15), WINDOW), None);
    }

    #[test]
    fn given_wrong_codes_older_than_the_window_then_they_do_not_count() {
        let mut failures: Vec<Timestamp> = (0..9).map(|m| at(m + 20)).collect();
        failures.push(at(0));
        assert_eq!(limited_for(&failures, at(30), WINDOW), None);
    }

    #[test]
    fn given_ten_wrong_admin_tokens_within_a_minute_then_the_client_is_limited_for_that_minute() {
        let seconds = |s: i64| at(0) + jiff::SignedDuration::from_secs(s);
        let failures: Vec<Timestamp> = (0..10).map(|s| seconds(s * 3)).collect();
        let window = Scope::AdminClient(IpAddr::from([203, 0, 113, 7])).window();
        assert_eq!(
            limited_for(&failures, seconds(30), window),
            Some(Duration::from_secs(30))
        );
        assert_eq!(limited_for(&failures, seconds(60), window), None);
    }

    #[test]
    fn a_limit_never_asks_to_wait_less_than_a_second() {
        let failures: Vec<Timestamp> = (0..10).map(|_| at(0)).collect();
        let almost = at(15) - jiff::SignedDuration::from_millis(1);
        assert_eq!(
            limited_for(&failures, almost, WINDOW),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn clients_count_by_ipv4_address_and_by_ipv6_slash_64() {
        let parse = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(client_key(parse("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(parse("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            client_key(parse("2001:db8:1:2:aaaa::1")),
            client_key(parse("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            client_key(parse("2001:db8:1:2::1")),
            client_key(parse("2001:db8:1:3::1"))
        );
    }
}
