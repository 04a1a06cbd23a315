//! The names of the steps that derive command ids (and so the event ids that JetStream
//! deduplicates): a saga step caused by an event, a request that carries its own id.
//!
//! Renaming one changes every id it derives: a step redelivered across a rolling upgrade
//! would no longer be recognised as done and would append a second time. So they are one
//! enum, each name pinned by a test, and command ids are made from a [`StepName`] only.

use std::fmt;

use crate::ids::TableId;

/// A step that derives command ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// A booking made over HTTP (the request's id is the booking's).
    Initiate,
    /// The booking saga confirms a booking whose lock was placed.
    Confirm,
    /// The booking saga rejects a booking whose lock could not be placed.
    Reject,
    /// A booking still `initiated` after `BOOKING_TIMEOUT` is rejected.
    Timeout,
    /// A booking whose table was unknown when it was made is rejected (ADR 0020).
    RejectUnknownTable,
    /// The booking saga records a new lock of a change.
    Change,
    /// The booking saga rejects a change whose lock could not be placed.
    RejectChange,
    /// A change still pending after `BOOKING_TIMEOUT` is rolled back.
    ChangeTimeout,
    /// table-manager's locking saga places a lock.
    PlaceLock,
    /// table-manager's locking saga releases a lock.
    ReleaseLock,
    /// A lock released when its slot ends.
    SlotEnded,
    /// A table added or removed by staff (the request's id).
    TableCommand,
    /// A combination declared or removed by staff (the request's id).
    CombinationCommand,
}

impl Step {
    /// Every step, for tests.
    pub const ALL: [Step; 13] = [
        Step::Initiate,
        Step::Confirm,
        Step::Reject,
        Step::Timeout,
        Step::RejectUnknownTable,
        Step::Change,
        Step::RejectChange,
        Step::ChangeTimeout,
        Step::PlaceLock,
        Step::ReleaseLock,
        Step::SlotEnded,
        Step::TableCommand,
        Step::CombinationCommand,
    ];

    /// The name in the command ids; never change one.
    pub const fn name(self) -> &'static str {
        match self {
            Step::Initiate => "initiate",
            Step::Confirm => "confirm",
            Step::Reject => "reject",
            Step::Timeout => "timeout",
            Step::RejectUnknownTable => "reject-unknown-table",
            Step::Change => "change",
            Step::RejectChange => "reject-change",
            Step::ChangeTimeout => "change-timeout",
            Step::PlaceLock => "place-lock",
            Step::ReleaseLock => "release-lock",
            Step::SlotEnded => "slot-ended",
            Step::TableCommand => "table-command",
            Step::CombinationCommand => "combination-command",
        }
    }

    /// The step on one of several tables (`place-lock:t3`): each table's append has a
    /// command id of its own.
    pub fn on(self, table: &TableId) -> StepName {
        StepName(format!("{}:{table}", self.name()))
    }
}

/// The name of a step as it goes into a command id: a [`Step`], or a step on one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepName(String);

impl StepName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Step> for StepName {
    fn from(step: Step) -> Self {
        Self(step.name().to_owned())
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_keeps_the_name_its_command_ids_were_derived_from() {
        let pinned = [
            (Step::Initiate, "initiate"),
            (Step::Confirm, "confirm"),
            (Step::Reject, "reject"),
            (Step::Timeout, "timeout"),
            (Step::RejectUnknownTable, "reject-unknown-table"),
            (Step::Change, "change"),
            (Step::RejectChange, "reject-change"),
            (Step::ChangeTimeout, "change-timeout"),
            (Step::PlaceLock, "place-lock"),
            (Step::ReleaseLock, "release-lock"),
            (Step::SlotEnded, "slot-ended"),
            (Step::TableCommand, "table-command"),
            (Step::CombinationCommand, "combination-command"),
        ];
        assert_eq!(pinned.len(), Step::ALL.len(), "every step is pinned");
        for (step, name) in pinned {
            assert_eq!(step.name(), name);
            assert_eq!(StepName::from(step).as_str(), name);
        }
        let t3 = TableId::parse("t3").expect("id");
        assert_eq!(Step::PlaceLock.on(&t3).as_str(), "place-lock:t3");
        assert_eq!(Step::ReleaseLock.on(&t3).as_str(), "release-lock:t3");
    }
}
