//! How the client subcommands show the orchestrator's answers to people: one word for every
//! status, one line per step and indented detail lines under it.

use chiffon_proto::v1 as pb;
use chiffon_types::{Deployment, template_choices};

/// The first characters of a hash or commit id, enough to tell them apart on screen.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A timestamp as local date and time, or "unknown" when unset.
pub fn timestamp_words(at: Option<&prost_types::Timestamp>) -> String {
    local_time(at, "%Y-%m-%d %H:%M:%S")
}

/// A timestamp in local time formatted with `pattern` (chrono's syntax), or "unknown" when unset.
pub fn local_time(at: Option<&prost_types::Timestamp>, pattern: &str) -> String {
    at.and_then(|at| chrono::DateTime::from_timestamp(at.seconds, at.nanos.max(0) as u32))
        .map(|at| at.with_timezone(&chrono::Local).format(pattern).to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `items` joined with ", ", or `none` when there are none.
pub fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

/// `path:line`, or just `path` when the line is unknown (0).
pub fn file_line(path: &str, line: impl Into<i64>) -> String {
    match line.into() {
        0 => path.to_owned(),
        line => format!("{path}:{line}"),
    }
}

pub fn print_plan(plan: &pb::Plan) {
    println!(
        "plan revision {} ({}, hash {}):",
        plan.revision,
        plan.status().word(),
        short_hash(&plan.content_hash)
    );
    println!("  {}", plan.summary);
    for step in &plan.steps {
        print_step(step);
    }
}

/// One line for the step, then its run options and its outcome when it has them.
fn print_step(step: &pb::Step) {
    let after = match step.depends_on.as_slice() {
        [] => String::new(),
        positions => format!(
            ", after {}",
            positions
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    println!(
        "  {}. {} — {} [{} risk{after}] {}",
        step.position,
        step.title,
        step_action(step),
        risk_word(step.risk()),
        step_status_word(step.status())
    );
    if !step.risk_reason.is_empty() {
        println!("       risk: {}", step.risk_reason);
    }
    if !step.hosts.is_empty() {
        println!("       hosts: {}", step.hosts.join(", "));
    }
    if !step.roles.is_empty() {
        println!("       roles: {}", step.roles.join(", "));
    }
    // The reviewer's question is "why this playbook?"; for work without one, the rationale says
    // what to do about it.
    if !step.rationale.is_empty() {
        println!("       why: {}", step.rationale);
    }
    if let Some(options) = step.run_options.as_ref().and_then(run_options_flags) {
        println!("       options: {options}");
    }
    if !step.agent_id.is_empty() {
        println!("       agent: {} (attempt {})", step.agent_id, step.attempt);
    }
    if let Some(result) = &step.result {
        print_result(result, "       ");
    }
}

/// What the step does, e.g. the playbook it runs or the template it writes.
pub fn step_action(step: &pb::Step) -> String {
    match step.action() {
        pb::StepAction::ApplySuggestion => {
            format!("apply suggestion {} on a new branch", step.suggestion_id)
        }
        pb::StepAction::GenerateTemplate => match &step.template {
            Some(template) => format!("generate a template: {}", template_words(template)),
            None => "generate a template".to_owned(),
        },
        pb::StepAction::RunPlaybook | pb::StepAction::Unspecified => {
            if step.custom_playbook_needed {
                "needs a custom playbook".to_owned()
            } else {
                format!("run {}", step.playbook)
            }
        }
    }
}

fn template_words(template: &pb::GenerateTemplate) -> String {
    let mut words = vec![
        format!("service {}", template.service),
        Deployment::of(template.containerised).noun().to_owned(),
    ];
    words.extend(template_choices(
        &template.image,
        template.port,
        &template.hosts,
    ));
    words.join(", ")
}

/// The options as the ansible-playbook flags they become, or `None` when none is set.
pub fn run_options_flags(options: &pb::RunOptions) -> Option<String> {
    let mut flags = Vec::new();
    if !options.limit.is_empty() {
        flags.push(format!("--limit {}", options.limit));
    }
    if !options.tags.is_empty() {
        flags.push(format!("--tags {}", options.tags.join(",")));
    }
    if options.check_mode {
        flags.push("--check".to_owned());
    }
    if options.diff {
        flags.push("--diff".to_owned());
    }
    if !options.inventory.is_empty() {
        flags.push(format!("inventory {}", options.inventory));
    }
    (!flags.is_empty()).then(|| flags.join(" "))
}

/// A step's outcome: status, exit code, per-host tallies, failed tasks and the commit it made.
pub fn print_result(result: &pb::WorkResult, indent: &str) {
    let mut headline = format!(
        "{indent}result: {}, exit code {}",
        work_status_word(result.status()),
        result.exit_code
    );
    if !result.error.is_empty() {
        headline.push_str(&format!(" — {}", result.error));
    }
    println!("{headline}");
    for stats in &result.host_stats {
        println!(
            "{indent}  {}: ok={} changed={} failed={} unreachable={} skipped={}",
            stats.host, stats.ok, stats.changed, stats.failed, stats.unreachable, stats.skipped
        );
    }
    for failed in &result.failed_tasks {
        println!(
            "{indent}  failed on {}: {}: {}",
            failed.host, failed.task, failed.message
        );
    }
    if let Some(commit) = &result.commit {
        print_commit(commit, indent);
    }
}

/// A commit on a new branch of the infrastructure repository.
pub fn print_commit(commit: &pb::RepositoryCommit, indent: &str) {
    println!(
        "{indent}commit {} on branch {} (from {})",
        short_hash(&commit.commit_id),
        commit.branch,
        short_hash(&commit.base_commit)
    );
    println!("{indent}  files: {}", list_or(&commit.files, "none"));
}

fn step_status_word(status: pb::StepStatus) -> &'static str {
    match status {
        pb::StepStatus::Unspecified | pb::StepStatus::Pending => "",
        pb::StepStatus::Queued => "(queued)",
        pb::StepStatus::Running => "(running)",
        pb::StepStatus::Succeeded => "(succeeded)",
        pb::StepStatus::Failed => "(failed)",
        pb::StepStatus::Cancelled => "(cancelled)",
        pb::StepStatus::Skipped => "(skipped)",
    }
}

fn work_status_word(status: pb::WorkStatus) -> &'static str {
    match status {
        pb::WorkStatus::Unspecified => "unknown",
        pb::WorkStatus::Succeeded => "succeeded",
        pb::WorkStatus::Failed => "failed",
        pb::WorkStatus::Cancelled => "cancelled",
        pb::WorkStatus::TimedOut => "timed out",
    }
}

fn risk_word(risk: pb::RiskLevel) -> &'static str {
    match risk {
        pb::RiskLevel::Unspecified => "unknown",
        pb::RiskLevel::Low => "low",
        pb::RiskLevel::Medium => "medium",
        pb::RiskLevel::High => "high",
    }
}

pub fn category_word(category: pb::SuggestionCategory) -> &'static str {
    match category {
        pb::SuggestionCategory::Unspecified => "uncategorised",
        pb::SuggestionCategory::Idempotency => "idempotency",
        pb::SuggestionCategory::ErrorHandling => "error handling",
        pb::SuggestionCategory::Performance => "performance",
        pb::SuggestionCategory::BestPractices => "best practices",
        pb::SuggestionCategory::Standards => "standards",
    }
}

pub fn suggestion_status_word(status: pb::SuggestionStatus) -> &'static str {
    match status {
        pb::SuggestionStatus::Unspecified => "unknown",
        pb::SuggestionStatus::Open => "open",
        pb::SuggestionStatus::Accepted => "accepted",
        pb::SuggestionStatus::Applied => "applied",
        pb::SuggestionStatus::Failed => "failed",
        pb::SuggestionStatus::Resolved => "resolved",
    }
}

pub fn severity_word(severity: pb::SuggestionSeverity) -> &'static str {
    match severity {
        pb::SuggestionSeverity::Unspecified => "finding",
        pb::SuggestionSeverity::Error => "error",
        pb::SuggestionSeverity::Warning => "warning",
    }
}
