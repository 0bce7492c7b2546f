//! Rows into domain values and back: statuses between the entities' enums and the domain's, and
//! the JSON columns of requests and steps decoded into typed fields.

use crate::domain::{self, Agent, Finding, PlanRevision, Request, Step, Suggestion};
use crate::error::{OrchestratorError, Result};
use crate::planner::TemplateSpec;
use chiffon_entity::{self as row, agent, plan, request, step, suggestion};
use chiffon_proto::v1 as pb;
use chiffon_types::RunOptions;
use prost::Message as _;
use serde::de::DeserializeOwned;

/// `From` both ways between an entity enum and the domain enum of the same name and variants.
macro_rules! same_variants {
    ($name:ident: $($variant:ident),+ $(,)?) => {
        impl From<row::$name> for domain::$name {
            fn from(value: row::$name) -> Self {
                match value {
                    $(row::$name::$variant => Self::$variant,)+
                }
            }
        }

        impl From<domain::$name> for row::$name {
            fn from(value: domain::$name) -> Self {
                match value {
                    $(domain::$name::$variant => Self::$variant,)+
                }
            }
        }
    };
}

same_variants!(RequestStatus: AwaitingApproval, Running, Succeeded, Failed, Cancelled, Rejected);
same_variants!(PlanStatus: Proposed, Approved, Rejected, Superseded, Cancelled);
same_variants!(StepStatus: Pending, Queued, Running, Succeeded, Failed, Cancelled, Skipped);
same_variants!(StepAction: RunPlaybook, ApplySuggestion, GenerateTemplate);
same_variants!(RiskLevel: Low, Medium, High);
same_variants!(AgentKind: Infra, Desktop);
same_variants!(ApprovalDecision: Approved, Rejected, RevisionRequested);
same_variants!(AgentStatus: Online, Offline);
same_variants!(SuggestionStatus: Open, Accepted, Applied, Failed, Resolved);
same_variants!(SuggestionCategory: Idempotency, ErrorHandling, Performance, BestPractices, Standards);
same_variants!(SuggestionSeverity: Error, Warning);

/// Run options as stored on a request or step; NULL or `{}` is no options.
pub(crate) fn run_options(value: &serde_json::Value) -> Result<RunOptions> {
    if value.is_null() {
        return Ok(RunOptions::default());
    }
    serde_json::from_value(value.clone())
        .map_err(|error| OrchestratorError::corrupt("run options", error))
}

/// The JSON stored for `options`.
pub(crate) fn run_options_json(options: &RunOptions) -> serde_json::Value {
    serde_json::json!(options)
}

/// A request row as the domain sees it.
pub(crate) fn request(row: request::Model) -> Result<Request> {
    Ok(Request {
        run_options: run_options(&row.run_options)?,
        id: row.id,
        text: row.text,
        status: row.status.into(),
        status_reason: row.status_reason,
        current_plan_revision: row.current_plan_revision,
        last_event_sequence: row.last_event_sequence,
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
        cancel_requested_at: row.cancel_requested_at,
        rerun_of: row.rerun_of_request_id,
        suggestion_id: row.suggestion_id,
    })
}

/// A plan row as the domain sees it.
pub(crate) fn plan(row: plan::Model) -> PlanRevision {
    PlanRevision {
        id: row.id,
        request_id: row.request_id,
        revision: row.revision,
        status: row.status.into(),
        summary: row.summary,
        content_hash: row.content_hash,
        feedback: row.feedback,
        planner: row.planner,
        created_at: row.created_at,
    }
}

/// A step row as the domain sees it, its JSON columns decoded.
pub(crate) fn step(row: step::Model) -> Result<Step> {
    let extra_vars = match row.extra_vars {
        serde_json::Value::Object(vars) => vars,
        _ => serde_json::Map::new(),
    };
    Ok(Step {
        depends_on: serde_json::from_value(row.depends_on)
            .map_err(|error| OrchestratorError::corrupt("step dependencies", error))?,
        hosts: json_list("step hosts", &row.hosts)?,
        roles: json_list("step roles", &row.roles)?,
        result: row.result.as_deref().map(stored_result).transpose()?,
        run_options: run_options(&row.run_options)?,
        template: row
            .template
            .map(|template| {
                serde_json::from_value::<TemplateSpec>(template)
                    .map_err(|error| OrchestratorError::corrupt("step template", error))
            })
            .transpose()?,
        id: row.id,
        plan_id: row.plan_id,
        request_id: row.request_id,
        position: row.position,
        title: row.title,
        rationale: row.rationale,
        agent_kind: row.agent_kind.into(),
        playbook: row.playbook,
        custom_playbook_needed: row.custom_playbook_needed,
        risk: row.risk.into(),
        risk_reason: row.risk_reason,
        estimated_seconds: row.estimated_seconds,
        extra_vars,
        status: row.status.into(),
        attempt: row.attempt,
        work_id: row.work_id,
        agent_id: row.agent_id,
        instance_id: row.instance_id,
        queued_at: row.queued_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        exit_code: row.exit_code,
        error: row.error,
        action: row.action.into(),
        suggestion_id: row.suggestion_id,
    })
}

/// An agent row as the domain sees it.
pub(crate) fn agent(row: agent::Model) -> Result<Agent> {
    let mut inventories: Vec<pb::Inventory> = json_list("agent inventories", &row.inventories)?;
    for inventory in &mut inventories {
        inventory.agent_id.clone_from(&row.id);
    }
    Ok(Agent {
        inventories,
        id: row.id,
        kind: row.kind.into(),
        hostname: row.hostname,
        version: row.version,
        instance_id: row.instance_id,
        status: row.status.into(),
        registered_at: row.registered_at,
        last_seen_at: row.last_seen_at,
    })
}

/// A suggestion row as the domain sees it.
pub(crate) fn suggestion(row: suggestion::Model) -> Result<Suggestion> {
    Ok(Suggestion {
        commit: row
            .commit
            .map(|commit| {
                serde_json::from_value(commit)
                    .map_err(|error| OrchestratorError::corrupt("suggestion commit", error))
            })
            .transpose()?,
        id: row.id,
        suggestion_id: row.suggestion_id,
        agent_id: row.agent_id,
        finding: Finding {
            finding_id: row.finding_id,
            rule: row.rule,
            category: row.category.into(),
            title: row.title,
            reason: row.reason,
            details: row.details,
            path: row.path,
            line: row.line,
            severity: row.severity.into(),
            fixable: row.fixable,
            doc_url: row.doc_url,
        },
        status: row.status.into(),
        request_id: row.request_id,
        error: row.error,
        first_seen_at: row.first_seen_at,
        last_seen_at: row.last_seen_at,
    })
}

/// The JSON an agent row keeps its inventories in (without the agent id each repeats).
pub(super) fn inventories_json(inventories: &[pb::Inventory]) -> serde_json::Value {
    let stored: Vec<pb::Inventory> = inventories
        .iter()
        .map(|inventory| pb::Inventory {
            agent_id: String::new(),
            ..inventory.clone()
        })
        .collect();
    serde_json::json!(stored)
}

/// A work result as a step row keeps it.
pub(super) fn stored_result(bytes: &[u8]) -> Result<pb::WorkResult> {
    pb::WorkResult::decode(bytes).map_err(|error| OrchestratorError::corrupt("work result", error))
}

/// A stored JSON array; NULL (never written) reads as empty.
pub(super) fn json_list<T: DeserializeOwned>(
    what: &'static str,
    value: &serde_json::Value,
) -> Result<Vec<T>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    serde_json::from_value(value.clone()).map_err(|error| OrchestratorError::corrupt(what, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RequestStatus, StepStatus};
    use uuid::Uuid;

    fn step_row() -> step::Model {
        let now = chrono::DateTime::UNIX_EPOCH;
        step::Model {
            id: Uuid::nil(),
            plan_id: Uuid::nil(),
            request_id: Uuid::nil(),
            position: 2,
            title: "Configure Uptime Kuma monitors".into(),
            rationale: String::new(),
            agent_kind: row::AgentKind::Infra,
            playbook: "playbooks/configure-uptime-kuma-monitors.yml".into(),
            custom_playbook_needed: false,
            depends_on: serde_json::json!([1]),
            risk: row::RiskLevel::Medium,
            risk_reason: String::new(),
            hosts: serde_json::json!(["kuma.home.arpa"]),
            roles: serde_json::Value::Null,
            estimated_seconds: 60,
            extra_vars: serde_json::json!({"portal": "https://nas.home.arpa"}),
            status: row::StepStatus::Queued,
            attempt: 1,
            work_id: Some(Uuid::nil()),
            agent_id: None,
            instance_id: None,
            queued_at: Some(now),
            started_at: None,
            finished_at: None,
            exit_code: None,
            error: None,
            result: None,
            action: row::StepAction::RunPlaybook,
            run_options: serde_json::json!({"limit": "monitoring", "check_mode": true}),
            suggestion_id: None,
            template: None,
        }
    }

    #[test]
    fn a_steps_json_columns_become_typed_fields() {
        let step = step(step_row()).expect("a valid row");
        assert_eq!(step.depends_on, vec![1]);
        assert_eq!(step.hosts, vec!["kuma.home.arpa"]);
        assert!(step.roles.is_empty(), "NULL is no roles");
        assert_eq!(step.run_options.limit, "monitoring");
        assert!(step.run_options.check_mode && step.run_options.tags.is_empty());
        assert_eq!(step.extra_vars["portal"], "https://nas.home.arpa");
        assert_eq!(step.status, StepStatus::Queued);
    }

    #[test]
    fn corrupt_columns_are_reported_not_guessed() {
        let broken = step::Model {
            depends_on: serde_json::json!("first"),
            ..step_row()
        };
        assert!(matches!(
            step(broken),
            Err(OrchestratorError::Corrupt {
                what: "step dependencies",
                ..
            })
        ));
        let broken = step::Model {
            result: Some(vec![0xff, 0xff]),
            ..step_row()
        };
        assert!(matches!(
            step(broken),
            Err(OrchestratorError::Corrupt {
                what: "work result",
                ..
            })
        ));
    }

    #[test]
    fn statuses_keep_their_meaning_through_the_store() {
        use RequestStatus::*;
        for status in [
            AwaitingApproval,
            Running,
            Succeeded,
            Failed,
            Cancelled,
            Rejected,
        ] {
            let stored = row::RequestStatus::from(status);
            assert_eq!(domain::RequestStatus::from(stored), status);
            // Each variant maps to the one of the same name, not merely to some variant.
            assert_eq!(
                format!("{stored:?}").to_lowercase(),
                format!("{status:?}").to_lowercase()
            );
        }
    }
}
