//! Placement: which agent a step must run on.
//!
//! Work goes to the queue of its agent kind and the first agent of that kind to claim it runs
//! it, unless placement binds the step to one agent; then every other claimer gives the message
//! back. Today only a suggestion's fix is bound (to the agent whose repository was linted,
//! since another agent's checkout may differ or not exist); scheduling by capacity plugs in
//! here.

use crate::domain::{Step, StepAction};
use crate::error::Result;
use crate::store;

/// The agent `step` must run on, if it is bound to one.
pub(super) async fn placed_on(db: &impl store::Reader, step: &Step) -> Result<Option<String>> {
    match (&step.action, &step.suggestion_id) {
        (StepAction::ApplySuggestion, Some(suggestion_id)) => Ok(Some(
            store::suggestions::find(db, suggestion_id).await?.agent_id,
        )),
        _ => Ok(None),
    }
}
