//! Calling the API as a client would.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{ADMIN, System};

impl System {
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("GET")).await
    }

    /// Polls `path` until `done` holds for its answer; the last answer.
    pub async fn wait_for_get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        done: impl Fn(u16, &Value) -> bool,
    ) -> (u16, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get(path, headers).await;
            if done(status, &body) {
                return (status, body);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} never got there: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds a table through the API and expects a 201.
    pub async fn add_table(&self, id: &str, seats: u8) {
        let response = self
            .http
            .post(self.url("/tables"))
            .bearer_auth(ADMIN)
            .json(&json!({"id": id, "seats": seats}))
            .send()
            .await
            .expect("POST /tables");
        assert_eq!(response.status(), 201, "adding table {id}");
    }

    /// Books `table` for `slot`; the status and the JSON body.
    pub async fn book(&self, table: &str, slot: &Slot, people: Option<u8>) -> (u16, Value) {
        let mut body = json!({"tableId": table, "timeSlot": slot.json()});
        if let Some(people) = people {
            body["people"] = json!(people);
        }
        self.post_json("/bookings", &body).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        read(response).await
    }

    /// `POST path` with the admin token; the status and the JSON body.
    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self.http.post(self.url(path)).bearer_auth(ADMIN).json(body);
        read(request.send().await.expect("POST")).await
    }

    /// `DELETE path` with the admin token; the status and the JSON body.
    pub async fn admin_delete(&self, path: &str) -> (u16, Value) {
        let request = self.http.delete(self.url(path)).bearer_auth(ADMIN);
        read(request.send().await.expect("DELETE")).await
    }

    /// Changes a booking (as returned by its POST) with its access code: `change` is the
    /// body without the code; `wait` as `?wait=`. The status and the JSON body.
    pub async fn change(&self, booking: &Value, change: &Value, wait: u8) -> (u16, Value) {
        let id = booking["id"].as_str().expect("booking id");
        let mut body = change.clone();
        body["accessCode"] = booking["accessCode"].clone();
        let path = format!("/bookings/{id}/change?wait={wait}");
        self.post_json(&path, &body).await
    }

    /// Cancels a booking (as returned by its POST) with its access code; the status and
    /// the body.
    pub async fn cancel(&self, booking: &Value) -> (u16, Value) {
        let id = booking["id"].as_str().expect("booking id");
        let code = booking["accessCode"].as_str().expect("access code");
        let path = format!("/bookings/{id}/cancel");
        self.post_json(&path, &json!({"accessCode": code})).await
    }

    /// Cancels a booking and expects a 200 with that booking, cancelled; the body.
    pub async fn cancel_ok(&self, booking: &Value) -> Value {
        let (status, body) = self.cancel(booking).await;
        assert_eq!(status, 200, "cancel: {body}");
        assert_eq!(body["status"], "cancelled", "cancel: {body}");
        assert_eq!(
            body["id"], booking["id"],
            "cancel answered another booking: {body}"
        );
        body
    }
}

/// The fields a 400 problem names, in order.
pub fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Status and JSON body (`Null` if there is none).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// One dinner slot of the default schedule, `days` days from now.
#[derive(Debug, Clone)]
pub struct Slot {
    pub from: String,
    pub to: String,
}

impl Slot {
    pub fn dinner(days: i64) -> Self {
        Self::nth(days, 1)
    }

    pub fn lunch(days: i64) -> Self {
        Self::nth(days, 0)
    }

    fn nth(days: i64, index: usize) -> Self {
        let zone = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
        let schedule = domain::SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots");
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(zone.clone())
            .date();
        let day = today
            .checked_add(jiff::Span::new().days(days))
            .expect("date");
        let slot = schedule.slots_on(day, &zone)[index];
        Self {
            from: slot.from().to_string(),
            to: slot.to().to_string(),
        }
    }

    pub fn json(&self) -> Value {
        json!({"from": self.from, "to": self.to})
    }
}
