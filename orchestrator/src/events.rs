//! A request's history: the events the engine records (through the store) and their streaming to
//! watchers.
//!
//! Every event is written inside the transaction that makes the change it reports, with the next
//! sequence number of its request, so the history has no gaps and never reports a change that
//! was rolled back. Only after the commit is the event handed to the [`EventHub`], which wakes the
//! watchers; a watcher that missed something (it lagged, or events were committed in a different
//! order than they reached the hub) reads the gap back from the database.

use crate::error::Result;
use crate::store::{self, Database};
use chiffon_proto::v1::{RequestEvent, RequestEventKind, TaskEvent, WorkResult};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// How many events a watcher may fall behind before it re-reads from the database.
const HUB_CAPACITY: usize = 1024;
/// Events read from the database per catch-up query.
const CATCH_UP_BATCH: u64 = 500;
/// Events buffered per watch stream before the watcher waits for its client.
const WATCH_BUFFER: usize = 64;

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: RequestEventKind,
    pub message: String,
    pub step_id: Option<Uuid>,
    pub task: Option<TaskEvent>,
    pub result: Option<WorkResult>,
    pub ends_request: bool,
    /// Set for events that come from bus messages, so a redelivered message is recorded once.
    pub dedupe_key: Option<String>,
}

impl NewEvent {
    pub fn new(kind: RequestEventKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            step_id: None,
            task: None,
            result: None,
            ends_request: false,
            dedupe_key: None,
        }
    }

    pub fn step(mut self, step_id: Uuid) -> Self {
        self.step_id = Some(step_id);
        self
    }

    pub fn ending(mut self) -> Self {
        self.ends_request = true;
        self
    }
}

/// Fans recorded events out to the watchers of this process.
#[derive(Clone)]
pub(crate) struct EventHub {
    sender: broadcast::Sender<RequestEvent>,
}

impl EventHub {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(HUB_CAPACITY).0,
        }
    }

    /// Announces committed events.
    pub fn publish(&self, events: Vec<RequestEvent>) {
        for event in events {
            // No receiver means nobody watches right now; the event is in the database.
            let _ = self.sender.send(event);
        }
    }

    /// Streams the history of `request_id` after `after_sequence`, then its live events, until
    /// the event that ends the request, the client going away, or shutdown.
    pub fn watch(
        &self,
        db: Database,
        request_id: Uuid,
        after_sequence: i64,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> mpsc::Receiver<Result<RequestEvent>> {
        // Subscribe before reading history so nothing committed in between is missed.
        let live = self.sender.subscribe();
        let (sender, receiver) = mpsc::channel(WATCH_BUFFER);
        let watcher = Watcher {
            db,
            request_id,
            last: after_sequence,
            live,
            sender,
        };
        tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = watcher.run() => {}
            }
        });
        receiver
    }
}

struct Watcher {
    db: Database,
    request_id: Uuid,
    last: i64,
    live: broadcast::Receiver<RequestEvent>,
    sender: mpsc::Sender<Result<RequestEvent>>,
}

/// What a watcher does next.
enum Next {
    /// Keep streaming (after a catch-up: follow live events; while following: catch up).
    Continue,
    /// The stream is over.
    Stop,
}

impl Watcher {
    async fn run(mut self) {
        loop {
            match self.catch_up().await {
                Ok(Next::Stop) => return,
                Ok(Next::Continue) => {}
                Err(error) => {
                    let _ = self.sender.send(Err(error)).await;
                    return;
                }
            }
            if let Next::Stop = self.follow().await {
                return;
            }
        }
    }

    /// Sends recorded events after `last`; stops when the request has ended.
    async fn catch_up(&mut self) -> Result<Next> {
        loop {
            let batch =
                store::events::after(&self.db, self.request_id, self.last, CATCH_UP_BATCH).await?;
            let full = batch.len() as u64 == CATCH_UP_BATCH;
            for event in batch {
                if !self.send(event).await {
                    return Ok(Next::Stop);
                }
            }
            if !full {
                break;
            }
        }
        // A request that ended before this watch started has nothing more to say.
        let request = store::requests::find(&self.db, self.request_id).await?;
        if request.finished_at.is_some() && request.last_event_sequence <= self.last {
            return Ok(Next::Stop);
        }
        Ok(Next::Continue)
    }

    /// Forwards live events in sequence; returns `Continue` when it must catch up on a gap.
    async fn follow(&mut self) -> Next {
        loop {
            tokio::select! {
                () = self.sender.closed() => return Next::Stop,
                received = self.live.recv() => match received {
                    Ok(event) if event.request_id == self.request_id.to_string() => {
                        if event.sequence <= self.last {
                            continue;
                        }
                        if event.sequence > self.last + 1 {
                            return Next::Continue;
                        }
                        if !self.send(event).await {
                            return Next::Stop;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return Next::Continue,
                    Err(broadcast::error::RecvError::Closed) => return Next::Stop,
                },
            }
        }
    }

    /// Sends one event; false when the stream is over (the request ended or the client left).
    async fn send(&mut self, event: RequestEvent) -> bool {
        self.last = event.sequence;
        let ends = event.ends_request;
        self.sender.send(Ok(event)).await.is_ok() && !ends
    }
}
