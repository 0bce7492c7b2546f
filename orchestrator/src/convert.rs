//! Conversions to the `chiffon.v1` messages: the domain's requests, plans and steps, and the
//! rows of the aggregates that have no domain types yet (agents, catalog, suggestions, events).

use crate::domain::{self, Agent, PlanRevision, Request, Step, Suggestion};
use crate::error::{OrchestratorError, Result};
use crate::mapping::MatchOutcome;
use crate::planner::{RunOptions, TemplateSpec};
use chiffon_proto::v1 as pb;
use chiffon_types::BranchCommit;

/// A protobuf timestamp from a stored time.
pub fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf duration of whole seconds.
pub fn seconds(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

/// A request as the API shows it.
pub fn request(request: &Request) -> pb::Request {
    pb::Request {
        request_id: request.id.to_string(),
        text: request.text.clone(),
        status: request_status(request.status) as i32,
        current_plan_revision: request.current_plan_revision,
        status_reason: request.status_reason.clone(),
        created_at: Some(timestamp(request.created_at)),
        updated_at: Some(timestamp(request.updated_at)),
        finished_at: request.finished_at.map(timestamp),
        run_options: Some(run_options_message(&request.run_options)),
        rerun_of_request_id: request
            .rerun_of
            .map(|id| id.to_string())
            .unwrap_or_default(),
        suggestion_id: request.suggestion_id.clone().unwrap_or_default(),
    }
}

/// Run options as the API shows them.
pub fn run_options_message(options: &RunOptions) -> pb::RunOptions {
    pb::RunOptions {
        limit: options.limit.clone(),
        tags: options.tags.clone(),
        check_mode: options.check_mode,
        diff: options.diff,
        inventory: options.inventory.clone(),
    }
}

/// A template as the API and the agents see it.
pub fn template_message(template: &TemplateSpec) -> pb::GenerateTemplate {
    pb::GenerateTemplate {
        service: template.service.clone(),
        containerised: template.containerised,
        image: template.image.clone(),
        port: template.port,
        hosts: template.hosts.clone(),
    }
}

pub fn step_action(action: domain::StepAction) -> pb::StepAction {
    match action {
        domain::StepAction::RunPlaybook => pb::StepAction::RunPlaybook,
        domain::StepAction::ApplySuggestion => pb::StepAction::ApplySuggestion,
        domain::StepAction::GenerateTemplate => pb::StepAction::GenerateTemplate,
    }
}

pub fn request_status(status: domain::RequestStatus) -> pb::RequestStatus {
    use domain::RequestStatus as S;
    match status {
        S::AwaitingApproval => pb::RequestStatus::AwaitingApproval,
        S::Running => pb::RequestStatus::Running,
        S::Succeeded => pb::RequestStatus::Succeeded,
        S::Failed => pb::RequestStatus::Failed,
        S::Cancelled => pb::RequestStatus::Cancelled,
        S::Rejected => pb::RequestStatus::Rejected,
    }
}

/// The status as a word for messages, e.g. "succeeded" (the words the CLI shows).
pub fn request_status_word(status: domain::RequestStatus) -> &'static str {
    request_status(status).word()
}

/// The plan status as a word for messages, e.g. "approved".
pub fn plan_status_name(status: domain::PlanStatus) -> &'static str {
    plan_status(status).word()
}

/// The status a list filter names; `None` for "any".
pub fn request_status_filter(status: pb::RequestStatus) -> Option<domain::RequestStatus> {
    use domain::RequestStatus as S;
    match status {
        pb::RequestStatus::Unspecified => None,
        pb::RequestStatus::AwaitingApproval => Some(S::AwaitingApproval),
        pb::RequestStatus::Running => Some(S::Running),
        pb::RequestStatus::Succeeded => Some(S::Succeeded),
        pb::RequestStatus::Failed => Some(S::Failed),
        pb::RequestStatus::Cancelled => Some(S::Cancelled),
        pb::RequestStatus::Rejected => Some(S::Rejected),
    }
}

/// A plan revision with its steps as the API shows it.
pub fn plan(plan: &PlanRevision, steps: &[Step]) -> Result<pb::Plan> {
    Ok(pb::Plan {
        plan_id: plan.id.to_string(),
        request_id: plan.request_id.to_string(),
        revision: plan.revision,
        content_hash: plan.content_hash.clone(),
        status: plan_status(plan.status) as i32,
        summary: plan.summary.clone(),
        steps: steps.iter().map(step).collect::<Result<_>>()?,
        feedback: plan.feedback.clone(),
        planner: plan.planner.clone(),
        created_at: Some(timestamp(plan.created_at)),
    })
}

fn plan_status(status: domain::PlanStatus) -> pb::PlanStatus {
    use domain::PlanStatus as S;
    match status {
        S::Proposed => pb::PlanStatus::Proposed,
        S::Approved => pb::PlanStatus::Approved,
        S::Rejected => pb::PlanStatus::Rejected,
        S::Superseded => pb::PlanStatus::Superseded,
        S::Cancelled => pb::PlanStatus::Cancelled,
    }
}

/// A step as the API shows it.
pub fn step(step: &Step) -> Result<pb::Step> {
    use domain::{RiskLevel, StepAction, StepStatus};
    Ok(pb::Step {
        step_id: step.id.to_string(),
        position: step.position,
        title: step.title.clone(),
        rationale: step.rationale.clone(),
        agent_kind: agent_kind(step.agent_kind) as i32,
        playbook: step.playbook.clone(),
        custom_playbook_needed: step.custom_playbook_needed,
        depends_on: step.depends_on.clone(),
        risk: match step.risk {
            RiskLevel::Low => pb::RiskLevel::Low,
            RiskLevel::Medium => pb::RiskLevel::Medium,
            RiskLevel::High => pb::RiskLevel::High,
        } as i32,
        estimated_duration: Some(seconds(step.estimated_seconds)),
        extra_vars: Some(json_object_to_struct(&serde_json::Value::Object(
            step.extra_vars.clone(),
        ))?),
        status: match step.status {
            StepStatus::Pending => pb::StepStatus::Pending,
            StepStatus::Queued => pb::StepStatus::Queued,
            StepStatus::Running => pb::StepStatus::Running,
            StepStatus::Succeeded => pb::StepStatus::Succeeded,
            StepStatus::Failed => pb::StepStatus::Failed,
            StepStatus::Cancelled => pb::StepStatus::Cancelled,
            StepStatus::Skipped => pb::StepStatus::Skipped,
        } as i32,
        attempt: step.attempt,
        agent_id: step.agent_id.clone().unwrap_or_default(),
        started_at: step.started_at.map(timestamp),
        finished_at: step.finished_at.map(timestamp),
        result: step.result.clone(),
        action: step_action(step.action) as i32,
        run_options: match step.action {
            StepAction::RunPlaybook => Some(run_options_message(&step.run_options)),
            StepAction::ApplySuggestion | StepAction::GenerateTemplate => None,
        },
        suggestion_id: step.suggestion_id.clone().unwrap_or_default(),
        template: step.template.as_ref().map(template_message),
        risk_reason: step.risk_reason.clone(),
        hosts: step.hosts.clone(),
        roles: step.roles.clone(),
    })
}

pub fn agent_kind(kind: domain::AgentKind) -> pb::AgentKind {
    match kind {
        domain::AgentKind::Infra => pb::AgentKind::Infra,
        domain::AgentKind::Desktop => pb::AgentKind::Desktop,
    }
}

/// The kind a request names; `None` for unspecified.
pub fn agent_kind_filter(kind: pb::AgentKind) -> Option<domain::AgentKind> {
    match kind {
        pb::AgentKind::Unspecified => None,
        pb::AgentKind::Infra => Some(domain::AgentKind::Infra),
        pb::AgentKind::Desktop => Some(domain::AgentKind::Desktop),
    }
}

pub fn agent(agent: &Agent, playbook_count: usize) -> pb::Agent {
    pb::Agent {
        agent_id: agent.id.clone(),
        kind: agent_kind(agent.kind) as i32,
        hostname: agent.hostname.clone(),
        version: agent.version.clone(),
        status: match agent.status {
            domain::AgentStatus::Online => pb::AgentStatus::Online,
            domain::AgentStatus::Offline => pb::AgentStatus::Offline,
        } as i32,
        registered_at: Some(timestamp(agent.registered_at)),
        last_seen_at: Some(timestamp(agent.last_seen_at)),
        playbook_count: i32::try_from(playbook_count).unwrap_or(i32::MAX),
        inventories: agent
            .inventories
            .iter()
            .map(|inventory| inventory.name.clone())
            .collect(),
    }
}

/// The JSON stored for a fix commit.
pub fn commit_json(commit: &pb::RepositoryCommit) -> serde_json::Value {
    serde_json::json!(BranchCommit::from(commit.clone()))
}

/// The id the API shows for the finding `finding_id` of `agent_id`'s repository.
pub fn suggestion_id(agent_id: &str, finding_id: &str) -> String {
    format!("{agent_id}:{finding_id}")
}

/// A stored suggestion as the API and the agents see it.
pub fn suggestion(row: &Suggestion) -> Result<pb::Suggestion> {
    Ok(pb::Suggestion {
        suggestion_id: row.suggestion_id.clone(),
        agent_id: row.agent_id.clone(),
        rule: row.finding.rule.clone(),
        category: suggestion_category(row.finding.category) as i32,
        title: row.finding.title.clone(),
        reason: row.finding.reason.clone(),
        details: row.finding.details.clone(),
        path: row.finding.path.clone(),
        line: u32::try_from(row.finding.line)
            .map_err(|_| OrchestratorError::corrupt("suggestion line", row.finding.line))?,
        severity: match row.finding.severity {
            domain::SuggestionSeverity::Error => pb::SuggestionSeverity::Error,
            domain::SuggestionSeverity::Warning => pb::SuggestionSeverity::Warning,
        } as i32,
        fixable: row.finding.fixable,
        doc_url: row.finding.doc_url.clone(),
        status: suggestion_status(row.status) as i32,
        request_id: row.request_id.map(|id| id.to_string()).unwrap_or_default(),
        commit: row.commit.clone().map(Into::into),
        error: row.error.clone().unwrap_or_default(),
        first_seen_at: Some(timestamp(row.first_seen_at)),
        last_seen_at: Some(timestamp(row.last_seen_at)),
    })
}

pub fn suggestion_status(status: domain::SuggestionStatus) -> pb::SuggestionStatus {
    match status {
        domain::SuggestionStatus::Open => pb::SuggestionStatus::Open,
        domain::SuggestionStatus::Accepted => pb::SuggestionStatus::Accepted,
        domain::SuggestionStatus::Applied => pb::SuggestionStatus::Applied,
        domain::SuggestionStatus::Failed => pb::SuggestionStatus::Failed,
        domain::SuggestionStatus::Resolved => pb::SuggestionStatus::Resolved,
    }
}

/// The status a list filter names; `None` for unspecified.
pub fn suggestion_status_filter(status: pb::SuggestionStatus) -> Option<domain::SuggestionStatus> {
    match status {
        pb::SuggestionStatus::Unspecified => None,
        pb::SuggestionStatus::Open => Some(domain::SuggestionStatus::Open),
        pb::SuggestionStatus::Accepted => Some(domain::SuggestionStatus::Accepted),
        pb::SuggestionStatus::Applied => Some(domain::SuggestionStatus::Applied),
        pb::SuggestionStatus::Failed => Some(domain::SuggestionStatus::Failed),
        pb::SuggestionStatus::Resolved => Some(domain::SuggestionStatus::Resolved),
    }
}

fn suggestion_category(category: domain::SuggestionCategory) -> pb::SuggestionCategory {
    match category {
        domain::SuggestionCategory::Idempotency => pb::SuggestionCategory::Idempotency,
        domain::SuggestionCategory::ErrorHandling => pb::SuggestionCategory::ErrorHandling,
        domain::SuggestionCategory::Performance => pb::SuggestionCategory::Performance,
        domain::SuggestionCategory::BestPractices => pb::SuggestionCategory::BestPractices,
        domain::SuggestionCategory::Standards => pb::SuggestionCategory::Standards,
    }
}

/// The category a message names; `None` for unspecified.
pub fn suggestion_category_filter(
    category: pb::SuggestionCategory,
) -> Option<domain::SuggestionCategory> {
    match category {
        pb::SuggestionCategory::Unspecified => None,
        pb::SuggestionCategory::Idempotency => Some(domain::SuggestionCategory::Idempotency),
        pb::SuggestionCategory::ErrorHandling => Some(domain::SuggestionCategory::ErrorHandling),
        pb::SuggestionCategory::Performance => Some(domain::SuggestionCategory::Performance),
        pb::SuggestionCategory::BestPractices => Some(domain::SuggestionCategory::BestPractices),
        pb::SuggestionCategory::Standards => Some(domain::SuggestionCategory::Standards),
    }
}

/// The severity a message names; `None` for unspecified.
pub fn suggestion_severity(severity: pb::SuggestionSeverity) -> Option<domain::SuggestionSeverity> {
    match severity {
        pb::SuggestionSeverity::Unspecified => None,
        pb::SuggestionSeverity::Error => Some(domain::SuggestionSeverity::Error),
        pb::SuggestionSeverity::Warning => Some(domain::SuggestionSeverity::Warning),
    }
}

/// The API answer for a match.
pub fn match_response(outcome: MatchOutcome) -> pb::MatchPlaybooksResponse {
    pb::MatchPlaybooksResponse {
        matches: outcome
            .matches
            .into_iter()
            .map(|candidate| pb::PlaybookMatch {
                part: candidate
                    .part
                    .as_ref()
                    .map(|part| part.name.clone())
                    .unwrap_or_default(),
                tags: candidate.selection.tags,
                limit: candidate.selection.limit,
                playbook: Some(candidate.playbook),
                confidence: candidate.confidence,
                reasons: candidate.reasons,
            })
            .collect(),
        fits: outcome.fits,
        threshold: outcome.threshold,
        advice: outcome.advice,
    }
}

/// A stored JSON object as a protobuf `Struct`.
pub fn json_object_to_struct(value: &serde_json::Value) -> Result<prost_types::Struct> {
    match value {
        serde_json::Value::Object(map) => Ok(chiffon_proto::json::json_to_struct(map)),
        serde_json::Value::Null => Ok(prost_types::Struct::default()),
        other => Err(OrchestratorError::corrupt(
            "extra variables",
            format!("not an object: {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::value::Kind;

    #[test]
    fn json_objects_become_structs() {
        let value =
            serde_json::json!({"port": 3001, "tls": true, "hosts": ["a", "b"], "none": null});
        let converted = json_object_to_struct(&value).expect("an object converts");
        assert_eq!(converted.fields.len(), 4);
        assert_eq!(
            converted.fields["port"].kind,
            Some(Kind::NumberValue(3001.0))
        );
        assert_eq!(converted.fields["tls"].kind, Some(Kind::BoolValue(true)));
    }

    #[test]
    fn a_stored_non_object_is_reported_as_corrupt() {
        let error =
            json_object_to_struct(&serde_json::json!([1])).expect_err("arrays are not vars");
        assert!(error.to_string().contains("extra variables"), "{error}");
    }
}
