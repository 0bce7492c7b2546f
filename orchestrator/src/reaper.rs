//! Notices agents that stopped sending heartbeats, marks them offline and fails the work they
//! held, so a request never waits forever on a machine that went away.

use crate::engine::Orchestrator;

pub(crate) async fn run(orchestrator: Orchestrator) {
    let shutdown = orchestrator.shutdown_token().clone();
    let mut ticks = tokio::time::interval(orchestrator.config().heartbeat_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = orchestrator.reap_silent_agents().await {
            tracing::warn!(%error, "checking agent heartbeats failed");
        }
    }
}
