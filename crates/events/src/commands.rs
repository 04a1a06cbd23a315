//! Commands the gateway sends to table-manager over NATS request/reply, and their typed
//! replies. JSON like the events; only ever extended.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{CombinationId, Seats, TableId};

/// Staff add a table (`commands.tables.add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddTable {
    /// Identifies this command across retries of the same request: the event it records
    /// is deduplicated by it, and it is the event's correlation and causation id.
    pub command_id: Uuid,
    pub id: TableId,
    pub seats: Seats,
}

/// Staff remove a table (`commands.tables.remove`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveTable {
    pub command_id: Uuid,
    pub id: TableId,
}

/// Staff declare that tables can be joined (`commands.tables.combinations.add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddCombination {
    pub command_id: Uuid,
    pub id: CombinationId,
    /// 2 to 4 distinct tables (the gateway checks the shape, table-manager that each
    /// exists).
    pub tables: Vec<TableId>,
    pub seats: Seats,
}

/// Staff remove a combination (`commands.tables.combinations.remove`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveCombination {
    pub command_id: Uuid,
    pub id: CombinationId,
}

/// Why table-manager refused a table command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableCommandRefusal {
    /// The id is used, also by a removed table.
    AlreadyExists,
    /// No such table, or it was removed.
    NotFound,
    /// A lock is held for a slot that has not ended (for a combination: by a booking
    /// that holds every table of it).
    Locked,
    /// The table is part of a combination that is not removed.
    InCombination,
    /// The request could not be decoded.
    Invalid,
}

/// The answer to a table command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum TableCommandReply {
    /// Done (or had been done by an earlier try of the same command).
    Done {
        id: TableId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seats: Option<Seats>,
    },
    /// A combination command done (or done by an earlier try of the same command).
    CombinationDone {
        id: CombinationId,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tables: Vec<TableId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seats: Option<Seats>,
    },
    /// Refused by the table's state: nothing was written.
    Refused {
        reason: TableCommandRefusal,
        detail: String,
    },
    /// table-manager could not do it (event store unavailable); nothing or the whole
    /// command was written, and retrying the same command is safe.
    Failed { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_tagged_by_its_outcome() {
        let reply = TableCommandReply::Refused {
            reason: TableCommandRefusal::AlreadyExists,
            detail: "table t1 already exists".into(),
        };
        let json = serde_json::to_value(&reply).expect("encode");
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["reason"], "already-exists");
        let back: TableCommandReply = serde_json::from_value(json).expect("decode");
        assert_eq!(back, reply);
    }
}
