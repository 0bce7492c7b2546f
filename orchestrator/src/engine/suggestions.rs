//! Suggestions: an agent's lint report replacing its findings, listing them, and accepting one.

use super::lifecycle::{RequestOrigin, approve_revision, insert_request, propose};
use super::{Effects, Orchestrator, PlanWithSteps, SUGGESTION_PLANNER};
use crate::convert;
use crate::domain::{AgentStatus, Finding, Request, Suggestion};
use crate::error::{OrchestratorError, Result};
use crate::store;
use crate::suggestions::{SuggestionFilter, check_acceptable, fix_plan};
use crate::validate::{page_cursor, page_size_within, split_page};
use chiffon_proto::v1 as pb;

/// Default and largest page of `list_suggestions`.
const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;

impl Orchestrator {
    /// Replaces an agent's findings with its latest lint's: new ones open, known ones are
    /// refreshed (keeping their status and first sighting) and the ones no longer reported are
    /// resolved, except one whose fix is being applied. Returns how many are open now.
    pub async fn report_suggestions(
        &self,
        agent_id: &str,
        instance_id: &str,
        findings: &[Finding],
    ) -> Result<u64> {
        let txn = store::begin(self.db()).await?;
        store::agents::find_process(&txn, agent_id, instance_id).await?;
        let open = store::suggestions::replace_findings(&txn, agent_id, findings).await?;
        store::commit(txn).await?;
        tracing::info!(%agent_id, findings = findings.len(), open, "agent suggestions updated");
        Ok(open)
    }

    /// Accepts a fixable suggestion: records a request whose one step applies the fix, approved
    /// by `approver`, and dispatches it.
    pub async fn accept_suggestion(
        &self,
        suggestion_id: &str,
        approver: &str,
    ) -> Result<(Suggestion, Request, PlanWithSteps)> {
        let suggestion_id = required_suggestion_id(suggestion_id)?;
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let found = store::suggestions::find(&txn, suggestion_id).await?;
        check_acceptable(&found)?;
        // Only the agent that linted the repository may fix it; without it online the fix would
        // wait in the queue with nobody to take it.
        let owner_online = store::agents::find(&txn, &found.agent_id)
            .await?
            .is_some_and(|owner| owner.status == AgentStatus::Online);
        if !owner_online {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "suggestion {suggestion_id} is about the repository of agent {}, which is \
                 offline; start that agent and accept it again",
                found.agent_id
            )));
        }
        let text = format!(
            "Apply the ansible-lint fix for {} in {}",
            found.finding.rule, found.finding.path
        );
        let origin = RequestOrigin {
            suggestion_id: Some(found.suggestion_id.clone()),
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, &text, origin).await?;
        // Conditional, so of two concurrent acceptances only one takes the suggestion.
        if !store::suggestions::take(&txn, &found, request.id).await? {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "suggestion {suggestion_id} changed while it was being accepted; look at it again \
                 with GetSuggestion"
            )));
        }
        let draft = fix_plan(&text, &found);
        let plan = propose(&txn, &mut fx, &mut request, &draft, "", SUGGESTION_PLANNER).await?;
        let comment = format!("accepted suggestion {}", found.suggestion_id);
        let plan =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, &comment).await?;
        let accepted = store::suggestions::find(&txn, suggestion_id).await?;
        self.commit(txn, fx).await?;
        let plan = store::plans::with_steps(self.db(), plan).await?;
        Ok((accepted, request, plan))
    }

    /// A page of suggestions passing `filter`, newest findings first, and the token of the next
    /// page (empty on the last).
    pub async fn list_suggestions(
        &self,
        filter: &SuggestionFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<pb::Suggestion>, String)> {
        let size = page_size_within(page_size, DEFAULT_PAGE, MAX_PAGE)?;
        // Row ids are UUIDv7 taken at the first sighting, so the last id is the page cursor.
        let after = page_cursor(page_token)?;
        let rows = store::suggestions::page(self.db(), filter, after, size + 1).await?;
        let (rows, next) = split_page(rows, size, |row| row.id);
        let suggestions = rows
            .iter()
            .map(convert::suggestion)
            .collect::<Result<_>>()?;
        Ok((suggestions, next))
    }

    /// One suggestion.
    pub async fn get_suggestion(&self, suggestion_id: &str) -> Result<pb::Suggestion> {
        let suggestion_id = required_suggestion_id(suggestion_id)?;
        convert::suggestion(&store::suggestions::find(self.db(), suggestion_id).await?)
    }
}

/// The suggestion id a caller sent, trimmed; refused when empty.
fn required_suggestion_id(suggestion_id: &str) -> Result<&str> {
    match suggestion_id.trim() {
        "" => Err(OrchestratorError::InvalidArgument(
            "suggestion_id is required: take one from ListSuggestions".into(),
        )),
        suggestion_id => Ok(suggestion_id),
    }
}
