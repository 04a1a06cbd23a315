//! Requests in flight when the NATS connection is lost stop waiting at once.
//!
//! A request (an append's ack, a direct get, a key-value write) sent before the connection
//! broke will never be answered: the server that had it is gone, or its answer went to the
//! old connection. Without this, each waits out its whole timeout (5 s) after NATS is back,
//! and everything behind it waits too. The connection's owner counts each loss
//! ([`DisconnectSignal::lost`], from the client's event callback); [`Disconnects::cut_short`]
//! ends a wait that was under way when one happened. Retrying is the caller's, and safe:
//! appends are deduplicated by their `Nats-Msg-Id`, writes of the read side are idempotent.

use std::future::Future;

use tokio::sync::watch;

/// The waits cut short by a lost connection, for the receiving side.
#[derive(Debug, Clone)]
pub struct Disconnects {
    losses: watch::Receiver<u64>,
}

/// Where the connection's owner says that the connection was lost.
#[derive(Debug)]
pub struct DisconnectSignal {
    losses: watch::Sender<u64>,
}

/// The connection was lost while the answer was awaited.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the NATS connection was lost while the answer was awaited")]
pub struct ConnectionLost;

impl Disconnects {
    /// A pair: the signal for the connection's owner, and the watch for everyone else.
    pub fn new() -> (DisconnectSignal, Self) {
        let (losses, receiver) = watch::channel(0);
        (DisconnectSignal { losses }, Self { losses: receiver })
    }

    /// A watch that never fires (its connection is never reported lost): waits run to
    /// their own end, as without this module.
    pub fn never() -> Self {
        let (signal, disconnects) = Self::new();
        // Kept for ever: a dropped signal would not fire either, but stays explicit.
        std::mem::forget(signal);
        disconnects
    }

    /// Awaits `request`, unless the connection is lost meanwhile.
    pub async fn cut_short<F: Future>(&self, request: F) -> Result<F::Output, ConnectionLost> {
        let mut losses = self.losses.clone();
        losses.mark_unchanged();
        tokio::pin!(request);
        tokio::select! {
            biased;
            answer = &mut request => Ok(answer),
            lost = losses.changed() => match lost {
                Ok(()) => Err(ConnectionLost),
                // Nobody reports losses any more: wait as usual.
                Err(_) => Ok(request.await),
            },
        }
    }
}

impl Disconnects {
    /// A watch of the losses from now on, for loops that hold a request open across
    /// iterations (a pull request on a lost connection will never deliver: ask again).
    pub fn watch(&self) -> LossWatch {
        let mut losses = self.losses.clone();
        losses.mark_unchanged();
        LossWatch { losses }
    }
}

/// The losses of the connection since it was made or last [`seen`](Self::seen).
#[derive(Debug, Clone)]
pub struct LossWatch {
    losses: watch::Receiver<u64>,
}

impl LossWatch {
    /// Forgets the losses so far: only later ones make [`lost`](Self::lost) resolve.
    pub fn seen(&mut self) {
        self.losses.mark_unchanged();
    }

    /// Resolves once a loss not yet seen happened, and counts it seen (never, when nobody
    /// reports losses any more).
    pub async fn lost(&mut self) {
        if self.losses.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Default for Disconnects {
    fn default() -> Self {
        Self::never()
    }
}

impl DisconnectSignal {
    /// The connection was lost: every wait under way ends.
    pub fn lost(&self) {
        self.losses.send_modify(|count| *count += 1);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn given_a_request_in_flight_when_the_connection_is_lost_then_its_wait_ends_at_once() {
        let (signal, disconnects) = Disconnects::new();
        let waiting = tokio::spawn(async move {
            disconnects
                .cut_short(tokio::time::sleep(Duration::from_secs(60)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        signal.lost();
        let outcome = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the wait ended")
            .expect("no panic");
        assert!(outcome.is_err());
    }

    #[tokio::test]
    async fn a_loss_before_the_request_started_does_not_end_it() {
        let (signal, disconnects) = Disconnects::new();
        signal.lost();
        let answer = disconnects.cut_short(async { 7 }).await;
        assert_eq!(answer.ok(), Some(7));
        let slow = disconnects
            .cut_short(tokio::time::sleep(Duration::from_millis(30)))
            .await;
        assert!(slow.is_ok(), "only losses during the wait end it");
    }

    #[tokio::test]
    async fn a_watch_sees_a_loss_that_happened_while_nobody_awaited_it() {
        let (signal, disconnects) = Disconnects::new();
        let mut watch = disconnects.watch();
        signal.lost();
        tokio::time::timeout(Duration::from_secs(1), watch.lost())
            .await
            .expect("the loss is seen later");
        watch.seen();
        let quiet = tokio::time::timeout(Duration::from_millis(30), watch.lost()).await;
        assert!(quiet.is_err(), "a loss is seen once");
    }

    #[tokio::test]
    async fn without_a_signal_a_wait_runs_to_its_end() {
        let answer = Disconnects::never()
            .cut_short(tokio::time::sleep(Duration::from_millis(10)))
            .await;
        assert!(answer.is_ok());
    }
}
