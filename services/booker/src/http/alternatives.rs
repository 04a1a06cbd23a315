//! `alternatives` of a refusal for want of a place, as the API shows them (the finding is
//! [`crate::use_cases::alternatives`]).

use events::{BookingPlace, PartySize, TimeSlot};

use super::representation::AlternativeBody;
use super::state::AppState;

/// Where `people` fit instead of `asked` (see [`crate::use_cases::alternatives`]); empty
/// before the booker is connected.
pub async fn alternatives(
    state: &AppState,
    asked: TimeSlot,
    people: PartySize,
    own: Option<&BookingPlace>,
) -> Vec<AlternativeBody> {
    // A refusal comes from a booker connected to NATS.
    let Some(backend) = state.backend.get() else {
        return Vec::new();
    };
    crate::use_cases::alternatives::alternatives(
        &state.rules,
        backend.reads.as_ref(),
        asked,
        people,
        own,
    )
    .await
    .into_iter()
    .map(AlternativeBody::from)
    .collect()
}
