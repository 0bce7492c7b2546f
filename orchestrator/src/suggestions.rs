//! The ansible-lint suggestions agents report: the listing filter, and what accepting one means
//! (which suggestions may be accepted, and the plan of the fix). Reports are checked where they
//! arrive, in the grpc module.
//!
//! Listing, looking up, reporting and accepting are the engine's (`engine/suggestions.rs`), each
//! in one transaction.

use crate::domain::{RiskLevel, StepAction, Suggestion, SuggestionCategory, SuggestionStatus};
use crate::error::{OrchestratorError, Result};
use crate::planner::{PlanDraft, REPOSITORY_CHANGE_SECONDS, RunOptions, StepDraft};

/// Narrows a suggestion listing; `None` and empty fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuggestionFilter {
    /// Only this status; `None` for everything but resolved suggestions.
    pub status: Option<SuggestionStatus>,
    /// Only this category.
    pub category: Option<SuggestionCategory>,
    /// Only suggestions about this file.
    pub path: String,
    /// Only this agent's repository.
    pub agent_id: String,
}

/// Refuses to accept a suggestion whose fix cannot or need not be applied, saying why and what
/// to do instead.
pub(crate) fn check_acceptable(row: &Suggestion) -> Result<()> {
    let id = &row.suggestion_id;
    if !row.finding.fixable {
        let docs = match row.finding.doc_url.as_str() {
            "" => String::new(),
            url => format!(" (see {url})"),
        };
        return Err(OrchestratorError::FailedPrecondition(format!(
            "suggestion {id} cannot be fixed automatically: ansible-lint has no fix for {}; \
             change {} by hand{docs}",
            row.finding.rule, row.finding.path
        )));
    }
    let request = row
        .request_id
        .map(|request| request.to_string())
        .unwrap_or_default();
    match row.status {
        SuggestionStatus::Open | SuggestionStatus::Failed => Ok(()),
        SuggestionStatus::Accepted => Err(OrchestratorError::FailedPrecondition(format!(
            "suggestion {id} is already accepted and request {request} is applying it; follow it \
             with WatchRequest"
        ))),
        SuggestionStatus::Applied => Err(OrchestratorError::FailedPrecondition(format!(
            "suggestion {id} is already applied by request {request}; review and merge the \
             branch of its commit"
        ))),
        SuggestionStatus::Resolved => Err(OrchestratorError::FailedPrecondition(format!(
            "suggestion {id} is resolved: the latest lint no longer finds it, so there is \
             nothing to fix"
        ))),
    }
}

/// The one-step plan that commits the fix for `row` on a new branch.
pub(crate) fn fix_plan(text: &str, row: &Suggestion) -> PlanDraft {
    let location = match row.finding.line {
        0 => row.finding.path.clone(),
        line => format!("{}:{line}", row.finding.path),
    };
    let step = StepDraft {
        position: 1,
        title: format!("Fix {} in {}", row.finding.rule, row.finding.path),
        rationale: format!(
            "accepted suggestion {}: {} at {location}. {} The agent runs ansible-lint --fix on \
             the file and commits the change on a new branch; nothing runs on any host",
            row.suggestion_id, row.finding.title, row.finding.reason
        ),
        playbook: None,
        depends_on: Vec::new(),
        risk: RiskLevel::Low,
        risk_reason: "changes no host: the fix is a commit on a new branch for you to review"
            .to_owned(),
        hosts: Vec::new(),
        roles: Vec::new(),
        estimated_seconds: REPOSITORY_CHANGE_SECONDS,
        extra_vars: serde_json::Map::new(),
        action: StepAction::ApplySuggestion,
        run_options: RunOptions::default(),
        suggestion_id: Some(row.suggestion_id.clone()),
        template: None,
    };
    PlanDraft {
        summary: format!(
            "For \"{text}\", run one step: {} (a commit on a new branch of the infrastructure \
             repository; review and merge it yourself).",
            step.title
        ),
        steps: vec![step],
    }
}
