//! The mixed load of the soak: bookings of a table and by party size (one table or joined
//! tables), with and without waiting, changed (slot, party or table), cancelled at once or
//! later, against either booker; errors (a booker or NATS being down) are counted, not
//! fatal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use system_tests::Slot;
use tokio::sync::Mutex;

pub const TABLES: [&str; 6] = ["t1", "t2", "t3", "t4", "t5", "t6"];
/// Combinations of the tables (four seats each), overlapping on t4: (id, tables, seats).
pub const COMBINATIONS: [(&str, &[&str], u8); 3] = [
    ("c12", &["t1", "t2"], 8),
    ("c34", &["t3", "t4"], 8),
    ("c456", &["t4", "t5", "t6"], 12),
];
/// Days ahead whose lunch and dinner are booked.
pub const DAYS: std::ops::RangeInclusive<i64> = 1..=4;

/// A small, seedable random source (no dependency for a test).
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Default)]
pub struct Counts {
    pub answered: AtomicU64,
    pub failed: AtomicU64,
    pub cancelled: AtomicU64,
    pub changes: AtomicU64,
    /// What the clients were told, to be checked against the streams at the end.
    pub acks: std::sync::Mutex<Acks>,
}

/// Every acknowledgement a client got: the promises the system must keep.
#[derive(Debug, Default, Clone)]
pub struct Acks {
    /// Bookings answered 201 (confirmed).
    pub booked: Vec<String>,
    /// Bookings whose cancel was asked (whatever the answer): they may end cancelled.
    pub cancel_asked: Vec<String>,
    /// Bookings whose cancel was answered 200 (cancelled).
    pub cancelled: Vec<String>,
}

impl Counts {
    fn record(&self, what: impl FnOnce(&mut Acks)) {
        if let Ok(mut acks) = self.acks.lock() {
            what(&mut acks);
        }
    }

    /// A copy of the acknowledgements so far.
    pub fn acks(&self) -> Acks {
        self.acks
            .lock()
            .map(|acks| acks.clone())
            .unwrap_or_default()
    }
}

/// Runs `workers` loops against `bookers` until `stop`.
pub async fn run(bookers: Vec<String>, workers: usize, stop: Arc<AtomicBool>) -> Arc<Counts> {
    let counts = Arc::new(Counts::default());
    let made: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (bookers, stop, counts, made, http) = (
                bookers.clone(),
                stop.clone(),
                counts.clone(),
                made.clone(),
                http.clone(),
            );
            tokio::spawn(async move {
                let mut random = Random::new(0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1));
                while !stop.load(Ordering::Relaxed) {
                    let base = &bookers[random.below(bookers.len() as u64) as usize];
                    step(&http, base, &mut random, &counts, &made).await;
                    tokio::time::sleep(Duration::from_millis(random.below(40))).await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    counts
}

async fn step(
    http: &reqwest::Client,
    base: &str,
    random: &mut Random,
    counts: &Counts,
    made: &Mutex<Vec<(String, String)>>,
) {
    let roll = random.below(10);
    if roll < 2 {
        // Cancel one made earlier.
        let earlier = {
            let mut made = made.lock().await;
            let len = made.len() as u64;
            (len > 0).then(|| made.swap_remove(random.below(len) as usize))
        };
        if let Some((id, code)) = earlier {
            cancel(http, base, &id, &code, counts).await;
        }
        return;
    }
    if roll == 2 {
        // Change one made earlier: another slot, party or table.
        let earlier = {
            let made = made.lock().await;
            let len = made.len() as u64;
            (len > 0).then(|| made[random.below(len) as usize].clone())
        };
        if let Some((id, code)) = earlier {
            let body = match random.below(3) {
                0 => json!({"timeSlot": random_slot(random).json()}),
                1 => {
                    let people = [2, 6, 10][random.below(3) as usize];
                    json!({ "people": people })
                }
                _ => json!({"tableId": TABLES[random.below(TABLES.len() as u64) as usize]}),
            };
            change(http, base, (&id, &code), body, counts).await;
        }
        return;
    }
    let slot = random_slot(random);
    let wait = if roll < 6 { 0 } else { 2 };
    // A third by party size: two (a table), six (two joined) or ten (three joined).
    let body = if random.below(3) == 0 {
        let people = [2, 6, 10][random.below(3) as usize];
        json!({"timeSlot": slot.json(), "people": people})
    } else {
        let table = TABLES[random.below(TABLES.len() as u64) as usize];
        json!({"tableId": table, "timeSlot": slot.json(), "people": 2})
    };
    let Some(booking) = post(http, &format!("{base}/bookings?wait={wait}"), &body, counts).await
    else {
        return;
    };
    let (Some(id), Some(code)) = (booking["id"].as_str(), booking["accessCode"].as_str()) else {
        return;
    };
    if random.below(3) == 0 {
        cancel(http, base, id, code, counts).await;
    } else {
        made.lock().await.push((id.to_owned(), code.to_owned()));
    }
}

/// Lunch or dinner of one of the [`DAYS`].
fn random_slot(random: &mut Random) -> Slot {
    let days = *DAYS.start() + random.below(DAYS.count() as u64) as i64;
    if random.below(2) == 0 {
        Slot::lunch(days)
    } else {
        Slot::dinner(days)
    }
}

/// Asks for a change of the booking `id` (code `code`), waiting a second at most.
async fn change(
    http: &reqwest::Client,
    base: &str,
    (id, code): (&str, &str),
    mut body: Value,
    counts: &Counts,
) {
    body["accessCode"] = json!(code);
    let url = format!("{base}/bookings/{id}/change?wait=1");
    match http.post(url).json(&body).send().await {
        Ok(_) => {
            counts.answered.fetch_add(1, Ordering::Relaxed);
            counts.changes.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The booking a POST answered with (201, 202, or inside a 409), if any.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    body: &Value,
    counts: &Counts,
) -> Option<Value> {
    let response = match http.post(url).json(body).send().await {
        Ok(response) => response,
        Err(_) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    counts.answered.fetch_add(1, Ordering::Relaxed);
    if status == 201
        && let Some(id) = body["id"].as_str()
    {
        counts.record(|acks| acks.booked.push(id.to_owned()));
    }
    match status {
        201 | 202 => Some(body),
        _ => None,
    }
}

pub async fn cancel(http: &reqwest::Client, base: &str, id: &str, code: &str, counts: &Counts) {
    counts.record(|acks| acks.cancel_asked.push(id.to_owned()));
    let url = format!("{base}/bookings/{id}/cancel");
    match http
        .post(url)
        .json(&json!({"accessCode": code}))
        .send()
        .await
    {
        Ok(response) => {
            counts.answered.fetch_add(1, Ordering::Relaxed);
            if response.status().as_u16() == 200 {
                counts.cancelled.fetch_add(1, Ordering::Relaxed);
                counts.record(|acks| acks.cancelled.push(id.to_owned()));
            }
        }
        Err(_) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
