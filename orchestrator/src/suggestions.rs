//! The ansible-lint suggestions agents report: checking a report's findings, the listing filter,
//! and what accepting one means (which suggestions may be accepted, and the plan of the fix).
//!
//! Listing, looking up, reporting and accepting are the engine's (`engine/suggestions.rs`), each
//! in one transaction.

use crate::convert;

use crate::domain::{
    RiskLevel, StepAction, Suggestion, SuggestionCategory, SuggestionSeverity, SuggestionStatus,
};
use crate::error::{OrchestratorError, Result};
use crate::planner::{PlanDraft, REPOSITORY_CHANGE_SECONDS, RunOptions, StepDraft};
use chiffon_proto::v1 as pb;

/// Longest finding id an agent may report.
const MAX_FINDING_ID: usize = 128;

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

/// A finding of a report, checked.
pub(crate) struct Finding<'a> {
    /// The id the agent gave it.
    pub finding_id: String,
    /// What the agent reported.
    pub message: &'a pb::Suggestion,
    pub category: SuggestionCategory,
    pub severity: SuggestionSeverity,
}

/// Checks every finding of a report. A finding reported twice (ansible-lint can repeat one)
/// counts once.
pub(crate) fn validate_findings(findings: &[pb::Suggestion]) -> Result<Vec<Finding<'_>>> {
    let mut checked: Vec<Finding<'_>> = Vec::with_capacity(findings.len());
    for (index, message) in findings.iter().enumerate() {
        let which = || match message.suggestion_id.trim() {
            "" => format!("suggestion #{}", index + 1),
            id => format!("suggestion {id}"),
        };
        let finding_id = message.suggestion_id.trim();
        let valid_id = !finding_id.is_empty()
            && finding_id.len() <= MAX_FINDING_ID
            && finding_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_id {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} has an invalid suggestion_id: use 1 to {MAX_FINDING_ID} letters, digits, \
                 '.', '_' or '-', the same for the same finding on every lint",
                which()
            )));
        }
        if message.rule.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} names no rule: set the ansible-lint rule tag, e.g. \"no-changed-when\"",
                which()
            )));
        }
        if message.path.trim().is_empty() {
            return Err(OrchestratorError::InvalidArgument(format!(
                "{} names no file: set its path relative to the repository root",
                which()
            )));
        }
        let category = pb::SuggestionCategory::try_from(message.category)
            .ok()
            .and_then(convert::suggestion_category_filter)
            .ok_or_else(|| {
                OrchestratorError::InvalidArgument(format!(
                    "{} has no known category: use one of SUGGESTION_CATEGORY_IDEMPOTENCY, \
                     _ERROR_HANDLING, _PERFORMANCE, _BEST_PRACTICES or _STANDARDS",
                    which()
                ))
            })?;
        let severity = pb::SuggestionSeverity::try_from(message.severity)
            .ok()
            .and_then(convert::suggestion_severity)
            .ok_or_else(|| {
                OrchestratorError::InvalidArgument(format!(
                    "{} has no known severity: use SUGGESTION_SEVERITY_ERROR or _WARNING",
                    which()
                ))
            })?;
        if checked.iter().any(|seen| seen.finding_id == finding_id) {
            continue;
        }
        checked.push(Finding {
            finding_id: finding_id.to_owned(),
            message,
            category,
            severity,
        });
    }
    Ok(checked)
}

/// Refuses to accept a suggestion whose fix cannot or need not be applied, saying why and what
/// to do instead.
pub(crate) fn check_acceptable(row: &Suggestion) -> Result<()> {
    let id = &row.suggestion_id;
    if !row.fixable {
        let docs = match row.doc_url.as_str() {
            "" => String::new(),
            url => format!(" (see {url})"),
        };
        return Err(OrchestratorError::FailedPrecondition(format!(
            "suggestion {id} cannot be fixed automatically: ansible-lint has no fix for {}; \
             change {} by hand{docs}",
            row.rule, row.path
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
    let location = match row.line {
        0 => row.path.clone(),
        line => format!("{}:{line}", row.path),
    };
    let step = StepDraft {
        position: 1,
        title: format!("Fix {} in {}", row.rule, row.path),
        rationale: format!(
            "accepted suggestion {}: {} at {location}. {} The agent runs ansible-lint --fix on \
             the file and commits the change on a new branch; nothing runs on any host",
            row.suggestion_id, row.title, row.reason
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
