use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use events::fixtures::{dinner, people};
use events::read_model::BookingView;
use events::{AccessCodeDigest, BookingId, BookingStatus};

use super::*;
use crate::edge::keys::ServerKey;

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
const ADA: &str = "ada@example.com";

fn keys() -> Keys {
    let key = ServerKey::parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        .expect("a key");
    Keys::new(key, Vec::new())
}

/// The read side: bookings by email, and their documents.
#[derive(Default)]
struct Shown {
    by_email: HashMap<&'static str, Vec<(BookingId, AccessCodeDigest)>>,
    bookings: HashMap<BookingId, BookingView>,
}

impl Shown {
    /// A booking of `email` with `code`, erased or not.
    fn with(mut self, email: &'static str, code: &str, erased: bool) -> (Self, BookingId) {
        let id = BookingId::new();
        let digest = AccessCode::from_input(code).digest(&keys(), id);
        self.by_email
            .entry(email)
            .or_default()
            .push((id, digest.clone()));
        let view = BookingView {
            id,
            table_id: None,
            table_ids: Vec::new(),
            time_slot: dinner(),
            people: Some(people(2)),
            customer: None,
            sealed_customer: None,
            customer_erased: erased,
            status: BookingStatus::Confirmed,
            reason: None,
            access_code_digest: digest,
            pending_change: None,
            sequence: 2,
            events: Vec::new(),
        };
        self.bookings.insert(id, view);
        (self, id)
    }
}

impl Directory for Shown {
    async fn located(&self, email: &str) -> Result<Vec<(BookingId, AccessCodeDigest)>, ReadError> {
        Ok(self.by_email.get(email).cloned().unwrap_or_default())
    }

    async fn booking(&self, id: BookingId) -> Result<Option<BookingView>, ReadError> {
        Ok(self.bookings.get(&id).cloned())
    }
}

/// Wrong guesses, as the scopes they counted against; limited once `limit` are counted.
struct Counted {
    failures: Mutex<Vec<String>>,
    limit: usize,
}

impl Counted {
    fn new(limit: usize) -> Self {
        Self {
            failures: Mutex::new(Vec::new()),
            limit,
        }
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().expect("not poisoned").clone()
    }
}

impl Attempts for Counted {
    async fn check(&self, _scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        if self.failures().len() >= self.limit {
            return Err(GuardError::Limited(Duration::from_secs(60)));
        }
        Ok(())
    }

    async fn failed(&self, scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        let mut failures = self.failures.lock().expect("not poisoned");
        failures.extend(scopes.iter().map(|scope| format!("{scope:?}")));
        Ok(())
    }
}

async fn lookup(
    shown: &Shown,
    attempts: &Counted,
    email: &str,
    code: &str,
) -> Result<BookingView, LookupError> {
    let keys = keys();
    let lookup = Lookup {
        directory: shown,
        attempts,
        keys: &keys,
    };
    lookup
        .lookup(CLIENT, email, &AccessCode::from_input(code))
        .await
}

#[tokio::test]
async fn given_two_bookings_of_an_email_when_one_s_code_is_given_then_that_one_is_found() {
    let (shown, _) = Shown::default().with(ADA, "K7QX2", false);
    let (shown, second) = shown.with(ADA, "P3MZ8", false);
    let attempts = Counted::new(10);
    let found = lookup(&shown, &attempts, ADA, " p3mz8 ")
        .await
        .expect("found");
    assert_eq!(found.id, second);
    assert_eq!(attempts.failures(), Vec::<String>::new());
}

#[tokio::test]
async fn given_a_wrong_code_or_an_unknown_email_then_nothing_is_found_and_it_counts_against_the_client_and_the_email()
 {
    let (shown, _) = Shown::default().with(ADA, "K7QX2", false);
    let attempts = Counted::new(10);
    let wrong = lookup(&shown, &attempts, ADA, "K7QX3").await;
    assert!(matches!(wrong, Err(LookupError::NoMatch)), "{wrong:?}");
    let unknown = lookup(&shown, &attempts, "grace@example.com", "K7QX2").await;
    assert!(matches!(unknown, Err(LookupError::NoMatch)), "{unknown:?}");
    assert_eq!(
        attempts.failures(),
        [
            "Client(192.0.2.7)",
            "Email(\"ada@example.com\")",
            "Client(192.0.2.7)",
            "Email(\"grace@example.com\")"
        ]
    );
}

#[tokio::test]
async fn given_an_erased_customer_when_looked_up_with_the_right_code_then_nothing_is_found() {
    let (shown, _) = Shown::default().with(ADA, "K7QX2", true);
    let attempts = Counted::new(10);
    let erased = lookup(&shown, &attempts, ADA, "K7QX2").await;
    assert!(matches!(erased, Err(LookupError::NoMatch)), "{erased:?}");
}

#[tokio::test]
async fn given_a_limited_client_when_it_gives_the_right_code_then_it_is_turned_away_before_anything_is_looked_at()
 {
    let (shown, _) = Shown::default().with(ADA, "K7QX2", false);
    // One wrong guess counts against two scopes: the limit is reached.
    let attempts = Counted::new(2);
    let wrong = lookup(&shown, &attempts, ADA, "WRONG").await;
    assert!(matches!(wrong, Err(LookupError::NoMatch)), "{wrong:?}");
    let limited = lookup(&shown, &attempts, ADA, "K7QX2").await;
    assert!(
        matches!(limited, Err(LookupError::Guard(GuardError::Limited(_)))),
        "{limited:?}"
    );
}
