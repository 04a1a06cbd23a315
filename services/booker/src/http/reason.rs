//! The `reason` of a 409 (API.md): one type for a booking's and a change's refusal.

use events::{ChangeRejectionReason, RejectionReason};

use crate::use_cases::change::Refusal;
use serde::Serialize;

/// Why a booking or a change was refused: the `reason` of a 409 (API.md). One type for
/// both, so a name cannot be misspelt at a call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    TableNotFound,
    TableRemoved,
    SlotTaken,
    TooSmall,
    Timeout,
    NoTableAvailable,
    /// A change refused because the booking was cancelled meanwhile.
    Cancelled,
}

impl Reason {
    /// Its name in the API: the name of the refusal it comes from.
    pub fn name(self) -> &'static str {
        match self {
            Self::TableNotFound => RejectionReason::TableNotFound.name(),
            Self::TableRemoved => RejectionReason::TableRemoved.name(),
            Self::SlotTaken => RejectionReason::SlotTaken.name(),
            Self::TooSmall => RejectionReason::TooSmall.name(),
            Self::Timeout => RejectionReason::Timeout.name(),
            Self::NoTableAvailable => RejectionReason::NoTableAvailable.name(),
            Self::Cancelled => ChangeRejectionReason::Cancelled.name(),
        }
    }
}

impl From<RejectionReason> for Reason {
    fn from(reason: RejectionReason) -> Self {
        match reason {
            RejectionReason::TableNotFound => Self::TableNotFound,
            RejectionReason::TableRemoved => Self::TableRemoved,
            RejectionReason::SlotTaken => Self::SlotTaken,
            RejectionReason::TooSmall => Self::TooSmall,
            RejectionReason::Timeout => Self::Timeout,
            RejectionReason::NoTableAvailable => Self::NoTableAvailable,
        }
    }
}

impl From<Refusal> for Reason {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Place(reason) => reason.into(),
            Refusal::Decided(reason) => reason.into(),
        }
    }
}

impl From<ChangeRejectionReason> for Reason {
    fn from(reason: ChangeRejectionReason) -> Self {
        match reason {
            ChangeRejectionReason::TableNotFound => Self::TableNotFound,
            ChangeRejectionReason::TableRemoved => Self::TableRemoved,
            ChangeRejectionReason::SlotTaken => Self::SlotTaken,
            ChangeRejectionReason::TooSmall => Self::TooSmall,
            ChangeRejectionReason::Timeout => Self::Timeout,
            ChangeRejectionReason::Cancelled => Self::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_is_answered_by_its_api_name_whichever_refusal_it_comes_from() {
        let bookings = [
            RejectionReason::TableNotFound,
            RejectionReason::TableRemoved,
            RejectionReason::SlotTaken,
            RejectionReason::TooSmall,
            RejectionReason::Timeout,
            RejectionReason::NoTableAvailable,
        ]
        .map(|r| (Reason::from(r), r.name()));
        let changes = [
            ChangeRejectionReason::TableNotFound,
            ChangeRejectionReason::TableRemoved,
            ChangeRejectionReason::SlotTaken,
            ChangeRejectionReason::TooSmall,
            ChangeRejectionReason::Timeout,
            ChangeRejectionReason::Cancelled,
        ]
        .map(|r| (Reason::from(r), r.name()));
        for (ours, theirs) in bookings.into_iter().chain(changes) {
            assert_eq!(ours.name(), theirs);
            assert_eq!(
                serde_json::to_value(ours).ok(),
                Some(serde_json::json!(theirs))
            );
        }
    }
}
