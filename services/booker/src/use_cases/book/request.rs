//! The input of the book use case: a valid booking request, and the canonical form an
//! `Idempotency-Key` compares.

use events::{Customer, PartySize, TableId, TimeSlot};

/// A valid booking request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRequest {
    /// `None`: the restaurant picks a table or a combination for `people` (then given).
    pub table_id: Option<TableId>,
    pub time_slot: TimeSlot,
    pub people: Option<PartySize>,
    pub customer: Option<Customer>,
}

impl BookingRequest {
    /// What makes two requests "the same" for an `Idempotency-Key`: every field of the
    /// validated request in a canonical JSON form. Records of earlier releases hold the
    /// SHA-256 of this very form (`idempotency::legacy_fingerprint`), so it must not
    /// change.
    pub fn canonical(&self) -> String {
        serde_json::json!({
            "tableId": self.table_id.as_ref().map(TableId::as_str),
            "from": self.time_slot.from().to_string(),
            "to": self.time_slot.to().to_string(),
            "people": self.people.map(|p| p.get()),
            "customer": self.customer.as_ref().map(|c| [&c.name, &c.email]),
        })
        .to_string()
    }
}
