//! Re-running a failed request on the hosts that failed.

use super::lifecycle::{RequestOrigin, approve_revision, insert_request, propose};
use super::{Effects, Orchestrator, PlanWithSteps, RERUN_PLANNER};
use crate::convert;
use crate::domain::{Request, RequestStatus, Step, StepAction, StepStatus};
use crate::error::{OrchestratorError, Result};
use crate::planner::{PlanDraft, RunOptions, StepDraft};
use crate::store;
use chiffon_proto::v1 as pb;
use uuid::Uuid;

impl Orchestrator {
    /// Runs the failed request `request_id` again on the hosts that failed: a new request whose
    /// approved plan is the failed step and the steps after it that never ran, limited to those
    /// hosts, dispatched at once. Returns it with the hosts.
    pub async fn rerun_failed_hosts(
        &self,
        id: Uuid,
        approver: &str,
    ) -> Result<(Request, PlanWithSteps, Vec<String>)> {
        let txn = store::begin(self.db()).await?;
        let mut fx = Effects::default();
        let original = store::requests::lock(&txn, id).await?;
        if original.status != RequestStatus::Failed {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "request {id} is {}, not failed; only a failed request can be re-run on its \
                 failed hosts",
                convert::request_status_word(original.status)
            )));
        }
        let steps = store::plans::with_steps(&txn, store::plans::current(&txn, &original).await?)
            .await?
            .steps;
        let failed = steps
            .iter()
            .find(|step| step.status == StepStatus::Failed)
            .ok_or_else(|| {
                OrchestratorError::FailedPrecondition(format!(
                    "request {id} failed without a failed step ({}); submit it again",
                    original.status_reason
                ))
            })?;
        if failed.action != StepAction::RunPlaybook {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} ({}) of request {id} does not run a playbook, so it has no hosts to \
                 re-run; submit the request again",
                failed.position, failed.title
            )));
        }
        let hosts = failed.result.as_ref().map(failed_hosts).unwrap_or_default();
        if hosts.is_empty() {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "step {} ({}) of request {id} failed before any host ran a task ({}); no host \
                 failed, so there is nothing to re-run on: fix the cause (for example the \
                 inventory) and submit the request again",
                failed.position,
                failed.title,
                failed.error.as_deref().unwrap_or("no error reported")
            )));
        }
        // Host names come from the agent's report: the limit made of them passes the same
        // checks as one a person sends.
        if let Some(host) = hosts
            .iter()
            .find(|host| host.contains(',') || chiffon_types::check_host_pattern(host).is_err())
        {
            return Err(OrchestratorError::FailedPrecondition(format!(
                "request {id} failed on the host \"{host}\", whose name cannot be part of a \
                 --limit host pattern, so no re-run can be limited to it; submit the request \
                 again"
            )));
        }
        let run_options = RunOptions {
            limit: hosts.join(","),
            ..original.run_options.clone()
        };
        let rerun: Vec<&Step> = steps
            .iter()
            .filter(|step| step.position >= failed.position && step.status != StepStatus::Succeeded)
            .collect();
        let draft = rerun_plan(&original, &rerun, &hosts)?.with_run_options(&run_options);
        let text = format!("Re-run on the failed hosts: {}", original.text);
        let origin = RequestOrigin {
            run_options,
            rerun_of: Some(original.id),
            ..RequestOrigin::default()
        };
        let mut request = insert_request(&txn, &mut fx, &text, origin).await?;
        let plan = propose(&txn, &mut fx, &mut request, &draft, "", RERUN_PLANNER).await?;
        let comment = format!("re-run of request {id} on the failed hosts");
        let plan =
            approve_revision(&txn, &mut fx, &mut request, plan.plan, approver, &comment).await?;
        self.commit(txn, fx).await?;
        let plan = store::plans::with_steps(self.db(), plan).await?;
        Ok((request, plan, hosts))
    }
}

/// Hosts that failed or were unreachable in `result`, sorted and each once.
fn failed_hosts(result: &pb::WorkResult) -> Vec<String> {
    let hosts: std::collections::BTreeSet<&str> = result
        .host_stats
        .iter()
        .filter(|stats| stats.failed > 0 || stats.unreachable > 0)
        .map(|stats| stats.host.as_str())
        .chain(result.failed_tasks.iter().map(|task| task.host.as_str()))
        .filter(|host| !host.trim().is_empty())
        .collect();
    hosts.into_iter().map(str::to_owned).collect()
}

/// The plan of a re-run: `steps` of `original` (the failed one first), renumbered from 1 with
/// their dependencies on each other kept and those on steps that already succeeded dropped.
fn rerun_plan(original: &Request, steps: &[&Step], hosts: &[String]) -> Result<PlanDraft> {
    let new_position = |old: i32| {
        steps
            .iter()
            .position(|step| step.position == old)
            .map(|index| index as i32 + 1)
    };
    let mut drafts = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        drafts.push(StepDraft {
            position: index as i32 + 1,
            title: step.title.clone(),
            rationale: format!(
                "step {} of request {} failed on {}: {}",
                step.position,
                original.id,
                hosts.join(", "),
                step.rationale
            ),
            playbook: (!step.playbook.is_empty()).then(|| step.playbook.clone()),
            depends_on: step
                .depends_on
                .iter()
                .copied()
                .filter_map(new_position)
                .collect(),
            risk: step.risk,
            risk_reason: step.risk_reason.clone(),
            // The re-run is limited to the hosts that failed: those are the ones it touches.
            hosts: hosts.to_vec(),
            roles: step.roles.clone(),
            estimated_seconds: step.estimated_seconds,
            extra_vars: step.extra_vars.clone(),
            action: step.action,
            run_options: step.run_options.clone(),
            suggestion_id: step.suggestion_id.clone(),
            template: step.template.clone(),
        });
    }
    let titles: Vec<String> = drafts
        .iter()
        .map(|step| format!("{}. {}", step.position, step.title))
        .collect();
    Ok(PlanDraft {
        summary: format!(
            "Re-run {} step(s) of request {} on the hosts that failed ({}): {}.",
            drafts.len(),
            original.id,
            hosts.join(", "),
            titles.join("; ")
        ),
        steps: drafts,
    })
}
