//! The staff's combination commands (declare, remove), and the question a table's removal
//! asks of the combinations. The combinations are one aggregate on `TABLES`; whether their
//! tables exist and whether a booking holds them all are read from the tables, fresh from
//! the stream's leader, since another replica may have changed them a moment ago.

use std::sync::Arc;

use domain::{CombinationCommand, CombinationRejection, Combinations, TableStatus, held_together};
use events::{
    AddCombination, AllCombinations, CombinationId, CorrelationId, RemoveCombination, Step,
    TableCommandRefusal, TableCommandReply, TableId,
};
use eventstore::{AppendContext, EventLog, EventStore, ExecuteError, LoadError, Repository};

use crate::tables::Tables;

/// A command meets a newer version at most this many times before giving up.
const MAX_ATTEMPTS: usize = 16;

/// What the staff's commands change: the tables and the combinations of them.
#[derive(Debug)]
pub struct Floor<L: EventLog = EventStore> {
    pub tables: Arc<Tables<L>>,
    pub joins: Joins<L>,
}

impl<L: EventLog> Floor<L> {
    /// The floor of `tables`, its combinations on the same log.
    pub fn new(tables: Arc<Tables<L>>) -> Self {
        let joins = Joins::new(tables.log().clone());
        Self { tables, joins }
    }
}

/// The restaurant's combinations (one aggregate; a cache of one).
#[derive(Debug)]
pub struct Joins<L: EventLog = EventStore> {
    repository: Repository<Combinations, L>,
}

/// A combination command as table-manager takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CombinationRequest {
    Add(AddCombination),
    Remove(RemoveCombination),
}

impl<L: EventLog> Joins<L> {
    pub fn new(log: L) -> Self {
        Self {
            repository: Repository::new(log, 1, MAX_ATTEMPTS),
        }
    }

    /// The first combination (by id) not removed that contains `table`.
    pub async fn containing(&self, table: &TableId) -> Result<Option<CombinationId>, LoadError> {
        let (combinations, _) = self.repository.load_fresh(&AllCombinations).await?;
        Ok(combinations.containing(table).cloned())
    }

    /// Runs one staff command on the combinations; the reply for the gateway.
    pub async fn execute(
        &self,
        tables: &Tables<L>,
        request: &CombinationRequest,
    ) -> TableCommandReply {
        match self.decide(tables, request).await {
            Ok(reply) => reply,
            Err(Failure::Refused(reason, detail)) => TableCommandReply::Refused { reason, detail },
            Err(Failure::Store(error)) => {
                tracing::error!(%error, "combination command failed");
                TableCommandReply::Failed {
                    detail: "the event store is unavailable".to_owned(),
                }
            }
        }
    }

    async fn decide(
        &self,
        tables: &Tables<L>,
        request: &CombinationRequest,
    ) -> Result<TableCommandReply, Failure> {
        let (command_id, command) = match request {
            CombinationRequest::Add(add) => {
                for id in &add.tables {
                    if tables.state(id).await?.status != TableStatus::Active {
                        return Err(Failure::Refused(
                            TableCommandRefusal::NotFound,
                            format!("table {id} does not exist"),
                        ));
                    }
                }
                let command = CombinationCommand::Add {
                    id: add.id.clone(),
                    tables: add.tables.clone(),
                    seats: add.seats,
                };
                (add.command_id, command)
            }
            CombinationRequest::Remove(remove) => {
                let (combinations, _) = self.repository.load_fresh(&AllCombinations).await?;
                if let Some(combination) = combinations.get(&remove.id).filter(|c| !c.removed) {
                    let mut held = Vec::with_capacity(combination.tables.len());
                    for id in &combination.tables {
                        held.push(tables.state(id).await?);
                    }
                    if let Some(lock) = held_together(&held, tables.now()) {
                        return Err(Failure::Refused(
                            TableCommandRefusal::Locked,
                            format!(
                                "combination {} is booked for the slot starting {}",
                                remove.id,
                                lock.time_slot.from()
                            ),
                        ));
                    }
                }
                let command = CombinationCommand::Remove {
                    id: remove.id.clone(),
                };
                (remove.command_id, command)
            }
        };
        let correlation = CorrelationId::from_uuid(command_id);
        let context = AppendContext::for_request(Step::CombinationCommand, command_id, correlation);
        match self
            .repository
            .execute(&AllCombinations, &command, &context)
            .await
        {
            Ok(executed) => Ok(done(&command, &executed.state)),
            Err(ExecuteError::Rejected(rejection)) => {
                let reason = match rejection {
                    CombinationRejection::AlreadyExists(_) => TableCommandRefusal::AlreadyExists,
                    CombinationRejection::NotFound(_) => TableCommandRefusal::NotFound,
                };
                Err(Failure::Refused(reason, rejection.to_string()))
            }
            Err(error) => Err(Failure::Store(error.into())),
        }
    }
}

/// The reply to a command done: the combination as it now stands.
fn done(command: &CombinationCommand, state: &Combinations) -> TableCommandReply {
    match command {
        CombinationCommand::Add { id, .. } => {
            let combination = state.get(id);
            TableCommandReply::CombinationDone {
                id: id.clone(),
                tables: combination.map(|c| c.tables.clone()).unwrap_or_default(),
                seats: combination.map(|c| c.seats),
            }
        }
        CombinationCommand::Remove { id } => TableCommandReply::CombinationDone {
            id: id.clone(),
            tables: Vec::new(),
            seats: None,
        },
    }
}

enum Failure {
    Refused(TableCommandRefusal, String),
    Store(anyhow::Error),
}

impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Self {
        Self::Store(error.into())
    }
}

#[cfg(test)]
mod tests {
    use events::fixtures::{dinner, ts};
    use events::{
        BookingId, Seats, TableAdded, TableCombinationAdded, TableCombinationRemoved, TableEvent,
        TableLockPlaced,
    };
    use eventstore::testing::Scenario;
    use eventstore::{Clock, InMemory};

    use super::*;

    fn table(raw: &str) -> TableId {
        TableId::parse(raw).expect("table id")
    }

    fn c1() -> CombinationId {
        CombinationId::parse("c1").expect("combination id")
    }

    fn table_added(raw: &str) -> TableEvent {
        TableAdded {
            id: table(raw),
            seats: Seats::new(4).expect("seats"),
        }
        .into()
    }

    fn lock(raw: &str, booking: BookingId) -> TableEvent {
        TableLockPlaced {
            id: table(raw),
            time_slot: dinner(),
            booking_id: booking,
            revision: 0,
        }
        .into()
    }

    fn c1_added() -> TableEvent {
        TableCombinationAdded {
            id: c1(),
            tables: vec![table("t8"), table("t9")],
            seats: Seats::new(6).expect("seats"),
        }
        .into()
    }

    fn declare(tables: &[&str]) -> CombinationRequest {
        CombinationRequest::Add(AddCombination {
            command_id: uuid::Uuid::now_v7(),
            id: c1(),
            tables: tables.iter().map(|t| table(t)).collect(),
            seats: Seats::new(6).expect("seats"),
        })
    }

    fn remove() -> CombinationRequest {
        CombinationRequest::Remove(RemoveCombination {
            command_id: uuid::Uuid::now_v7(),
            id: c1(),
        })
    }

    async fn run(scenario: &mut Scenario, request: &CombinationRequest) -> TableCommandReply {
        scenario.mark();
        let tables: Tables<InMemory> =
            Tables::with_clock(scenario.log(), Clock::fixed(ts("2026-12-24T12:00:00Z")));
        let floor = Floor::new(Arc::new(tables));
        floor.joins.execute(&floor.tables, request).await
    }

    fn refusal(reply: &TableCommandReply) -> Option<TableCommandRefusal> {
        match reply {
            TableCommandReply::Refused { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    fn t8_and_t9() -> Scenario {
        Scenario::new()
            .given(&table("t8"), [table_added("t8")])
            .given(&table("t9"), [table_added("t9")])
    }

    #[tokio::test]
    async fn given_two_tables_when_staff_declare_them_joinable_then_the_combination_is_added() {
        let mut scenario = t8_and_t9();
        let reply = run(&mut scenario, &declare(&["t9", "t8"])).await;
        assert_eq!(
            reply,
            TableCommandReply::CombinationDone {
                id: c1(),
                tables: vec![table("t8"), table("t9")],
                seats: Some(Seats::new(6).expect("seats")),
            }
        );
        assert_eq!(scenario.then::<TableEvent>(), vec![c1_added()]);
    }

    #[tokio::test]
    async fn given_an_unknown_or_removed_table_when_staff_join_it_then_it_is_not_found() {
        let mut scenario = Scenario::new().given(&table("t8"), [table_added("t8")]);
        let reply = run(&mut scenario, &declare(&["t8", "t9"])).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::NotFound));
        let mut scenario = t8_and_t9().given(
            &table("t9"),
            [events::TableRemoved { id: table("t9") }.into()],
        );
        let reply = run(&mut scenario, &declare(&["t8", "t9"])).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::NotFound));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_a_combination_when_staff_declare_its_id_again_then_it_is_refused() {
        let mut scenario = t8_and_t9().given(&AllCombinations, [c1_added()]);
        let reply = run(&mut scenario, &declare(&["t8", "t9"])).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::AlreadyExists));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_a_combination_when_staff_remove_one_of_its_tables_then_it_is_refused() {
        let mut scenario = t8_and_t9().given(&AllCombinations, [c1_added()]);
        scenario.mark();
        let floor = Floor::new(Arc::new(Tables::<InMemory>::new(scenario.log())));
        let command = domain::TableCommand::Remove {
            id: table("t8"),
            now: ts("2026-12-24T12:00:00Z"),
        };
        let reply = crate::admin::execute(&floor, uuid::Uuid::now_v7(), &command).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::InCombination));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_a_booking_holding_every_table_of_it_when_staff_remove_the_combination_then_it_is_refused()
     {
        let booking = BookingId::new();
        let mut scenario = t8_and_t9()
            .given(&AllCombinations, [c1_added()])
            .given(&table("t8"), [lock("t8", booking)])
            .given(&table("t9"), [lock("t9", booking)]);
        let reply = run(&mut scenario, &remove()).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::Locked));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_its_tables_booked_apart_when_staff_remove_the_combination_then_it_is_removed() {
        let mut scenario = t8_and_t9()
            .given(&AllCombinations, [c1_added()])
            .given(&table("t8"), [lock("t8", BookingId::new())]);
        let reply = run(&mut scenario, &remove()).await;
        assert!(
            matches!(reply, TableCommandReply::CombinationDone { .. }),
            "{reply:?}"
        );
        let removed: TableEvent = TableCombinationRemoved { id: c1() }.into();
        assert_eq!(scenario.then::<TableEvent>(), vec![removed]);
        // And its id stays used; removing it again finds nothing.
        let reply = run(&mut scenario, &remove()).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::NotFound));
    }

    #[tokio::test]
    async fn given_the_store_unavailable_when_staff_declare_a_combination_then_the_reply_says_it_failed()
     {
        let mut scenario = t8_and_t9();
        scenario.log().set_unavailable(true);
        let reply = run(&mut scenario, &declare(&["t8", "t9"])).await;
        assert!(
            matches!(reply, TableCommandReply::Failed { .. }),
            "{reply:?}"
        );
    }
}
