//! Conversions to the `chiffon.v1` messages: the domain's requests, plans and steps, and the
//! rows of the aggregates that have no domain types yet (agents, catalog, suggestions, events).

use crate::domain::{self, PlanRevision, Request, Step};
use crate::error::{OrchestratorError, Result};
use crate::mapping::MatchOutcome;
use crate::planner::{RunOptions, TemplateSpec};
use chiffon_entity as db;
use chiffon_entity::{agent, catalog_issue, catalog_playbook, event, suggestion};
use chiffon_proto::v1 as pb;
use chiffon_types::BranchCommit;
use prost::Message as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
        agent_kind: domain_agent_kind(step.agent_kind) as i32,
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

/// The kind of agent a step needs, as the API names it.
pub fn domain_agent_kind(kind: domain::AgentKind) -> pb::AgentKind {
    match kind {
        domain::AgentKind::Infra => pb::AgentKind::Infra,
        domain::AgentKind::Desktop => pb::AgentKind::Desktop,
    }
}

pub fn agent_kind(kind: db::AgentKind) -> pb::AgentKind {
    match kind {
        db::AgentKind::Infra => pb::AgentKind::Infra,
        db::AgentKind::Desktop => pb::AgentKind::Desktop,
    }
}

/// The stored kind of a requested kind; `None` for unspecified.
pub fn agent_kind_filter(kind: pb::AgentKind) -> Option<db::AgentKind> {
    match kind {
        pb::AgentKind::Unspecified => None,
        pb::AgentKind::Infra => Some(db::AgentKind::Infra),
        pb::AgentKind::Desktop => Some(db::AgentKind::Desktop),
    }
}

pub fn agent(row: &agent::Model, playbook_count: usize) -> Result<pb::Agent> {
    Ok(pb::Agent {
        agent_id: row.id.clone(),
        kind: agent_kind(row.kind) as i32,
        hostname: row.hostname.clone(),
        version: row.version.clone(),
        status: match row.status {
            db::AgentStatus::Online => pb::AgentStatus::Online,
            db::AgentStatus::Offline => pb::AgentStatus::Offline,
        } as i32,
        registered_at: Some(timestamp(row.registered_at)),
        last_seen_at: Some(timestamp(row.last_seen_at)),
        playbook_count: i32::try_from(playbook_count).unwrap_or(i32::MAX),
        inventories: stored_inventories(row)?
            .into_iter()
            .map(|inventory| inventory.name)
            .collect(),
    })
}

/// The JSON stored on an agent row for its inventories; the agent id is the row's own.
pub fn inventories_json(inventories: &[pb::Inventory]) -> serde_json::Value {
    let stored: Vec<pb::Inventory> = inventories
        .iter()
        .map(|inventory| pb::Inventory {
            agent_id: String::new(),
            ..inventory.clone()
        })
        .collect();
    serde_json::json!(stored)
}

/// The inventories stored on an agent row, the default first, each naming the agent.
pub fn stored_inventories(row: &agent::Model) -> Result<Vec<pb::Inventory>> {
    let mut inventories: Vec<pb::Inventory> = json_list("agent inventories", &row.inventories)?;
    for inventory in &mut inventories {
        inventory.agent_id.clone_from(&row.id);
    }
    Ok(inventories)
}

pub fn event(row: &event::Model) -> Result<pb::RequestEvent> {
    let kind = pb::RequestEventKind::from_str_name(&row.kind)
        .ok_or_else(|| OrchestratorError::corrupt("event kind", &row.kind))?;
    Ok(pb::RequestEvent {
        request_id: row.request_id.to_string(),
        sequence: row.sequence,
        kind: kind as i32,
        message: row.message.clone(),
        occurred_at: Some(timestamp(row.created_at)),
        step_id: row.step_id.map(|id| id.to_string()).unwrap_or_default(),
        task: row
            .task_event
            .as_deref()
            .map(|bytes| {
                pb::TaskEvent::decode(bytes)
                    .map_err(|error| OrchestratorError::corrupt("task event", error))
            })
            .transpose()?,
        result: row.work_result.as_deref().map(stored_result).transpose()?,
        ends_request: row.ends_request,
    })
}

/// A work result as a step row keeps it.
pub(crate) fn stored_result(bytes: &[u8]) -> Result<pb::WorkResult> {
    pb::WorkResult::decode(bytes).map_err(|error| OrchestratorError::corrupt("work result", error))
}

/// The JSON stored for a fix commit.
pub fn commit_json(commit: &pb::RepositoryCommit) -> serde_json::Value {
    serde_json::json!(BranchCommit::from(commit.clone()))
}

fn stored_commit(value: &serde_json::Value) -> Result<pb::RepositoryCommit> {
    let commit: BranchCommit = serde_json::from_value(value.clone())
        .map_err(|error| OrchestratorError::corrupt("suggestion commit", error))?;
    Ok(commit.into())
}

/// The id the API shows for the finding `finding_id` of `agent_id`'s repository.
pub fn suggestion_id(agent_id: &str, finding_id: &str) -> String {
    format!("{agent_id}:{finding_id}")
}

/// A stored suggestion as the API and the agents see it.
pub fn suggestion(row: &suggestion::Model) -> Result<pb::Suggestion> {
    Ok(pb::Suggestion {
        suggestion_id: row.suggestion_id.clone(),
        agent_id: row.agent_id.clone(),
        rule: row.rule.clone(),
        category: suggestion_category(row.category) as i32,
        title: row.title.clone(),
        reason: row.reason.clone(),
        details: row.details.clone(),
        path: row.path.clone(),
        line: u32::try_from(row.line)
            .map_err(|_| OrchestratorError::corrupt("suggestion line", row.line))?,
        severity: match row.severity {
            db::SuggestionSeverity::Error => pb::SuggestionSeverity::Error,
            db::SuggestionSeverity::Warning => pb::SuggestionSeverity::Warning,
        } as i32,
        fixable: row.fixable,
        doc_url: row.doc_url.clone(),
        status: suggestion_status(row.status) as i32,
        request_id: row.request_id.map(|id| id.to_string()).unwrap_or_default(),
        commit: row.commit.as_ref().map(stored_commit).transpose()?,
        error: row.error.clone().unwrap_or_default(),
        first_seen_at: Some(timestamp(row.first_seen_at)),
        last_seen_at: Some(timestamp(row.last_seen_at)),
    })
}

pub fn suggestion_status(status: db::SuggestionStatus) -> pb::SuggestionStatus {
    match status {
        db::SuggestionStatus::Open => pb::SuggestionStatus::Open,
        db::SuggestionStatus::Accepted => pb::SuggestionStatus::Accepted,
        db::SuggestionStatus::Applied => pb::SuggestionStatus::Applied,
        db::SuggestionStatus::Failed => pb::SuggestionStatus::Failed,
        db::SuggestionStatus::Resolved => pb::SuggestionStatus::Resolved,
    }
}

/// The stored status a list filter names; `None` for unspecified.
pub fn suggestion_status_filter(status: pb::SuggestionStatus) -> Option<db::SuggestionStatus> {
    match status {
        pb::SuggestionStatus::Unspecified => None,
        pb::SuggestionStatus::Open => Some(db::SuggestionStatus::Open),
        pb::SuggestionStatus::Accepted => Some(db::SuggestionStatus::Accepted),
        pb::SuggestionStatus::Applied => Some(db::SuggestionStatus::Applied),
        pb::SuggestionStatus::Failed => Some(db::SuggestionStatus::Failed),
        pb::SuggestionStatus::Resolved => Some(db::SuggestionStatus::Resolved),
    }
}

fn suggestion_category(category: db::SuggestionCategory) -> pb::SuggestionCategory {
    match category {
        db::SuggestionCategory::Idempotency => pb::SuggestionCategory::Idempotency,
        db::SuggestionCategory::ErrorHandling => pb::SuggestionCategory::ErrorHandling,
        db::SuggestionCategory::Performance => pb::SuggestionCategory::Performance,
        db::SuggestionCategory::BestPractices => pb::SuggestionCategory::BestPractices,
        db::SuggestionCategory::Standards => pb::SuggestionCategory::Standards,
    }
}

/// The stored category a message names; `None` for unspecified.
pub fn suggestion_category_filter(
    category: pb::SuggestionCategory,
) -> Option<db::SuggestionCategory> {
    match category {
        pb::SuggestionCategory::Unspecified => None,
        pb::SuggestionCategory::Idempotency => Some(db::SuggestionCategory::Idempotency),
        pb::SuggestionCategory::ErrorHandling => Some(db::SuggestionCategory::ErrorHandling),
        pb::SuggestionCategory::Performance => Some(db::SuggestionCategory::Performance),
        pb::SuggestionCategory::BestPractices => Some(db::SuggestionCategory::BestPractices),
        pb::SuggestionCategory::Standards => Some(db::SuggestionCategory::Standards),
    }
}

/// The stored severity a message names; `None` for unspecified.
pub fn suggestion_severity(severity: pb::SuggestionSeverity) -> Option<db::SuggestionSeverity> {
    match severity {
        pb::SuggestionSeverity::Unspecified => None,
        pb::SuggestionSeverity::Error => Some(db::SuggestionSeverity::Error),
        pb::SuggestionSeverity::Warning => Some(db::SuggestionSeverity::Warning),
    }
}

/// A compose stack as stored in `catalog_playbooks.compose_stacks`.
#[derive(Serialize, Deserialize)]
struct StoredComposeStack {
    path: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
}

/// A variable as stored in `catalog_playbooks.variables`.
#[derive(Serialize, Deserialize)]
struct StoredVariable {
    name: String,
    #[serde(default)]
    default_source: String,
    #[serde(default)]
    default_value: String,
}

/// The JSON a catalog row keeps `playbook`'s compose stacks in.
pub(crate) fn compose_stacks_json(playbook: &pb::Playbook) -> serde_json::Value {
    let stacks: Vec<StoredComposeStack> = playbook
        .compose_stacks
        .iter()
        .map(|stack| StoredComposeStack {
            path: stack.path.clone(),
            services: stack.services.clone(),
            images: stack.images.clone(),
        })
        .collect();
    serde_json::json!(stacks)
}

/// The JSON a catalog row keeps `playbook`'s variables in.
pub(crate) fn variables_json(playbook: &pb::Playbook) -> serde_json::Value {
    let variables: Vec<StoredVariable> = playbook
        .variables
        .iter()
        .map(|variable| StoredVariable {
            name: variable.name.clone(),
            default_source: variable.default_source.clone(),
            default_value: variable.default_value.clone(),
        })
        .collect();
    serde_json::json!(variables)
}

/// A stored catalog row as the API and the planner see it.
pub fn catalog_playbook(row: &catalog_playbook::Model) -> Result<pb::Playbook> {
    let stacks: Vec<StoredComposeStack> = json_list("compose stacks", &row.compose_stacks)?;
    let variables: Vec<StoredVariable> = json_list("playbook variables", &row.variables)?;
    Ok(pb::Playbook {
        path: row.path.clone(),
        name: row.name.clone(),
        hosts: json_list("playbook hosts", &row.hosts)?,
        tags: json_list("playbook tags", &row.tags)?,
        description: row.description.clone(),
        roles: json_list("playbook roles", &row.roles)?,
        services: json_list("playbook services", &row.services)?,
        compose_stacks: stacks
            .into_iter()
            .map(|stack| pb::ComposeStack {
                path: stack.path,
                services: stack.services,
                images: stack.images,
            })
            .collect(),
        templates: json_list("playbook templates", &row.templates)?,
        variables: variables
            .into_iter()
            .map(|variable| pb::PlaybookVariable {
                name: variable.name,
                default_source: variable.default_source,
                default_value: variable.default_value,
            })
            .collect(),
        plays: json_list("play names", &row.plays)?,
        agent_id: row.agent_id.clone(),
        play_details: json_list("plays", &row.play_details)?,
        parts: json_list("playbook parts", &row.parts)?,
        tasks: json_list("playbook tasks", &row.tasks)?,
        handlers: json_list("playbook handlers", &row.handlers)?,
    })
}

/// A stored catalog issue.
pub fn catalog_issue(row: &catalog_issue::Model) -> pb::CatalogIssue {
    pb::CatalogIssue {
        path: row.path.clone(),
        line: row.line,
        message: row.message.clone(),
        agent_id: row.agent_id.clone(),
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

/// A stored JSON array; NULL (never written) reads as empty.
pub(crate) fn json_list<T: DeserializeOwned>(
    what: &'static str,
    value: &serde_json::Value,
) -> Result<Vec<T>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    serde_json::from_value(value.clone()).map_err(|error| OrchestratorError::corrupt(what, error))
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
