//! Suggestions (INFRA-04): ansible-lint's findings on an infrastructure repository, filed into
//! the categories users act on, each with the reason it matters and where it is; and accepting
//! one that ansible-lint can fix, as a commit on a new branch.
//!
//! [`lint`] runs ansible-lint (offline, machine-readable Code Climate JSON) in the repository
//! and turns every finding into a [`Suggestion`]. [`apply_fix`] checks out a new branch from
//! `HEAD` in a private worktree ([`crate::git`]), runs `ansible-lint --fix=<rule>` on the
//! suggestion's file there, checks that exactly that file changed and the finding is gone, and
//! commits it. The user's working tree, index and current branch are never touched.
//!
//! [`rule_info`] holds what Chiffon knows about each rule: category, reason, fixability.

pub mod background;
mod rules;
pub(crate) mod tool;

pub use rules::{RuleInfo, rule_id, rule_info};

use crate::AgentError;
use crate::git::{self, BranchWorktree};
use chiffon_types::BranchCommit;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one ansible-lint run may take when none is configured. Linting a large repository
/// takes a minute or two on a small machine.
pub const DEFAULT_LINT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What to tell the operator when ansible-lint cannot be started.
const LINT_HINT: &str = "install ansible-lint (scripts/setup puts it in the project venv) or set \
                         the agent's ansible-lint program to its path";

/// ansible-lint's exit codes that mean it did its job (`ansiblelint.constants.RC`): success,
/// violations found, and (with `--fix`) violations fixed.
const LINT_DONE: [i32; 3] = [0, 2, 8];
/// ansible-lint's exit code when none of the given paths is a file it lints.
const LINT_NO_FILES: i32 = 5;

/// The `ansible-lint` program to use when none is configured: the one of the same installation
/// as the default `ansible-playbook` ([`lint_program_beside`]).
pub fn default_lint_program() -> PathBuf {
    lint_program_beside(&crate::ansible::default_program())
}

/// The `ansible-lint` of the same installation as `ansible_playbook`: the one next to it when
/// that is a path into a directory holding one (a virtualenv), else `ansible-lint` from `PATH`.
pub fn lint_program_beside(ansible_playbook: &Path) -> PathBuf {
    tool::sibling_program(ansible_playbook, "ansible-lint")
}

/// The groups suggestions are filed in: what the user gains by acting on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Re-running gives the same result and reports only real changes.
    Idempotency,
    /// Failures show up where they happen, instead of being hidden or breaking runs later.
    ErrorHandling,
    /// Runs do no more work than needed.
    Performance,
    /// Current, unambiguous Ansible that behaves the same on every version and host.
    BestPractices,
    /// Consistent formatting and structure that keep the repository easy to read and review.
    Standards,
}

impl Category {
    /// Every category, in the order they are shown.
    pub const ALL: [Category; 5] = [
        Category::Idempotency,
        Category::ErrorHandling,
        Category::Performance,
        Category::BestPractices,
        Category::Standards,
    ];

    /// Stable identifier, as serialised (`error_handling`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Idempotency => "idempotency",
            Category::ErrorHandling => "error_handling",
            Category::Performance => "performance",
            Category::BestPractices => "best_practices",
            Category::Standards => "standards",
        }
    }

    /// Name for people (`Error handling`).
    pub fn label(self) -> &'static str {
        match self {
            Category::Idempotency => "Idempotency",
            Category::ErrorHandling => "Error handling",
            Category::Performance => "Performance",
            Category::BestPractices => "Best practices",
            Category::Standards => "Standards",
        }
    }

    /// One sentence on why the category matters; the reason of rules Chiffon does not know.
    pub fn description(self) -> &'static str {
        match self {
            Category::Idempotency => {
                "A playbook that converges gives the same result every run and reports only \
                 real changes, so a change in the output means something changed."
            }
            Category::ErrorHandling => {
                "Failures should stop a run where they happen, not be hidden or surface later \
                 somewhere else."
            }
            Category::Performance => "Runs should do no more work than needed.",
            Category::BestPractices => {
                "Current, explicit Ansible behaves the same on every version and host, and keeps \
                 working after upgrades."
            }
            Category::Standards => {
                "Consistent formatting and structure keep the repository easy to read and \
                 changes easy to review."
            }
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How seriously ansible-lint takes a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A violation: the repository does not pass its lint profile until it is fixed.
    Error,
    /// A warning (the rule is in ansible-lint's warn list): worth fixing, not blocking.
    Warning,
}

/// One ansible-lint finding, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Stable id: a hash of rule, path, line and title; the same finding on the same line gets
    /// the same id on every run.
    pub id: String,
    /// ansible-lint's full tag, e.g. `fqcn[action-core]` or `no-changed-when`.
    pub rule: String,
    /// The group the suggestion is filed in.
    pub category: Category,
    /// What ansible-lint found, e.g. "Use FQCN for builtin module actions (command)."
    pub title: String,
    /// Why it matters, in one sentence.
    pub reason: String,
    /// ansible-lint's details, e.g. the task name or the suggested rewrite; may be empty.
    pub details: String,
    /// The file, relative to the repository root.
    pub path: String,
    /// The line in the file, when ansible-lint knows it.
    pub line: Option<u32>,
    /// Error or warning.
    pub severity: Severity,
    /// Whether [`apply_fix`] can fix it.
    pub fixable: bool,
    /// The rule's documentation; may be empty.
    pub doc_url: String,
}

impl From<Category> for chiffon_proto::v1::SuggestionCategory {
    fn from(category: Category) -> Self {
        use chiffon_proto::v1::SuggestionCategory as Proto;
        match category {
            Category::Idempotency => Proto::Idempotency,
            Category::ErrorHandling => Proto::ErrorHandling,
            Category::Performance => Proto::Performance,
            Category::BestPractices => Proto::BestPractices,
            Category::Standards => Proto::Standards,
        }
    }
}

impl From<Severity> for chiffon_proto::v1::SuggestionSeverity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Error => Self::Error,
            Severity::Warning => Self::Warning,
        }
    }
}

impl From<Suggestion> for chiffon_proto::v1::Suggestion {
    /// The finding as the agent reports it; the orchestrator fills in the agent, status,
    /// request, commit and dates.
    fn from(suggestion: Suggestion) -> Self {
        Self {
            suggestion_id: suggestion.id,
            rule: suggestion.rule,
            category: chiffon_proto::v1::SuggestionCategory::from(suggestion.category).into(),
            title: suggestion.title,
            reason: suggestion.reason,
            details: suggestion.details,
            path: suggestion.path,
            line: suggestion.line.unwrap_or(0),
            severity: chiffon_proto::v1::SuggestionSeverity::from(suggestion.severity).into(),
            fixable: suggestion.fixable,
            doc_url: suggestion.doc_url,
            ..Self::default()
        }
    }
}

impl TryFrom<&chiffon_proto::v1::Suggestion> for Suggestion {
    type Error = AgentError;

    /// A suggestion as a work item carries it back. What the agent does not trust from the
    /// message (category, reason, fixability) comes from [`rule_info`]; id, rule, path and
    /// title identify the finding and must be there.
    fn try_from(message: &chiffon_proto::v1::Suggestion) -> Result<Self, AgentError> {
        for (name, value) in [
            ("suggestion id", &message.suggestion_id),
            ("suggestion rule", &message.rule),
            ("suggestion path", &message.path),
            ("suggestion title", &message.title),
        ] {
            if value.trim().is_empty() {
                return Err(AgentError::InvalidArgument {
                    name,
                    reason: "the suggestion does not say it".to_owned(),
                });
            }
        }
        let info = rule_info(&message.rule);
        let severity = match chiffon_proto::v1::SuggestionSeverity::try_from(message.severity) {
            Ok(chiffon_proto::v1::SuggestionSeverity::Warning) => Severity::Warning,
            _ => Severity::Error,
        };
        Ok(Self {
            id: message.suggestion_id.clone(),
            rule: message.rule.clone(),
            category: info.category,
            title: message.title.clone(),
            reason: info.reason.to_owned(),
            details: message.details.clone(),
            path: message.path.clone(),
            line: (message.line > 0).then_some(message.line),
            severity,
            fixable: info.fixable,
            doc_url: message.doc_url.clone(),
        })
    }
}

/// Runs ansible-lint with a chosen program and time limit. [`lint`] and [`apply_fix`] use
/// [`Linter::new`].
#[derive(Debug, Clone)]
pub struct Linter {
    program: PathBuf,
    timeout: Duration,
}

impl Default for Linter {
    fn default() -> Self {
        Self::new()
    }
}

impl Linter {
    /// [`default_lint_program`] and [`DEFAULT_LINT_TIMEOUT`].
    pub fn new() -> Self {
        Self {
            program: default_lint_program(),
            timeout: DEFAULT_LINT_TIMEOUT,
        }
    }

    /// Runs `program` instead of the default ansible-lint.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Stops an ansible-lint run after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The ansible-lint program this linter runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Lints the repository at `repo` (its own `.ansible-lint` configuration applies), or only
    /// `paths` (files or directories relative to `repo`) when there are some; see [`lint`].
    pub async fn lint(&self, repo: &Path, paths: &[String]) -> Result<Vec<Suggestion>, AgentError> {
        let repo = existing_dir(repo).await?;
        for path in paths {
            git::relative_path(path)?;
            if !tokio::fs::try_exists(repo.join(path))
                .await
                .unwrap_or(false)
            {
                return Err(AgentError::InvalidPath {
                    path: path.clone(),
                    reason: format!("it does not exist in {}", repo.display()),
                });
            }
        }
        let findings = self.run(&repo, &[], paths).await?;
        findings_to_suggestions(findings)
    }

    /// Fixes `suggestion` on a new branch; see [`apply_fix`].
    pub async fn apply_fix(
        &self,
        repo: &Path,
        suggestion: &Suggestion,
        request_ref: &str,
    ) -> Result<BranchCommit, AgentError> {
        let request_ref = check_request_ref(request_ref)?;
        // The table decides, not the (possibly stored, possibly stale) flag in the suggestion.
        if !rule_info(&suggestion.rule).fixable {
            return Err(AgentError::NotFixable {
                rule: suggestion.rule.clone(),
                path: suggestion.path.clone(),
            });
        }
        git::relative_path(&suggestion.path)?;
        let short_id: String = suggestion.id.chars().take(8).collect();
        let branch = format!(
            "chiffon/fix-{}-{}",
            git::branch_component(&suggestion.rule),
            git::branch_component(&short_id)
        );
        let worktree = BranchWorktree::create(repo, &branch).await?;
        match self.fix_in(&worktree, suggestion, request_ref).await {
            Ok(commit) => {
                worktree.remove().await?;
                tracing::info!(branch = %commit.branch, commit = %commit.commit_id, rule = %suggestion.rule, "suggestion fixed");
                Ok(commit)
            }
            Err(error) => {
                if let Err(cleanup) = worktree.discard().await {
                    tracing::warn!(error = %cleanup, "cannot discard the fix's worktree");
                }
                Err(error)
            }
        }
    }

    /// Runs the fix in the worktree, checks it and commits it.
    async fn fix_in(
        &self,
        worktree: &BranchWorktree,
        suggestion: &Suggestion,
        request_ref: &str,
    ) -> Result<BranchCommit, AgentError> {
        let fix_failed = |reason: String| AgentError::FixFailed {
            rule: suggestion.rule.clone(),
            path: suggestion.path.clone(),
            reason,
        };
        let dir = worktree.path();
        if !tokio::fs::metadata(dir.join(&suggestion.path))
            .await
            .is_ok_and(|m| m.is_file())
        {
            return Err(fix_failed(
                "the file is not in the last commit (HEAD); fixes start from HEAD, so commit \
                 it first"
                    .into(),
            ));
        }
        let fix_arg = format!("--fix={}", rule_id(&suggestion.rule));
        let remaining = self
            .run(
                &dir,
                &[fix_arg.as_str()],
                std::slice::from_ref(&suggestion.path),
            )
            .await?;
        if remaining.iter().any(|f| {
            f.check_name == suggestion.rule
                && normalise_path(&f.location.path) == suggestion.path
                && f.description == suggestion.title
        }) {
            return Err(fix_failed(
                "the finding is still reported after ansible-lint --fix".into(),
            ));
        }
        let changed = worktree.changed_files(false).await?;
        if changed.is_empty() {
            return Err(fix_failed(
                "it changed nothing (is the finding still there in the last commit?)".into(),
            ));
        }
        if changed != [suggestion.path.clone()] {
            return Err(fix_failed(format!(
                "it changed other files too ({})",
                changed.join(", ")
            )));
        }
        let message = fix_message(suggestion, request_ref);
        worktree
            .commit(&message, std::slice::from_ref(&suggestion.path))
            .await
    }

    /// Runs ansible-lint in `cwd` with `extra` options on `paths` (the whole repository when
    /// empty) and returns its findings.
    pub(crate) async fn run(
        &self,
        cwd: &Path,
        extra: &[&str],
        paths: &[String],
    ) -> Result<Vec<Finding>, AgentError> {
        let mut args: Vec<&str> = vec!["--offline", "--nocolor", "-f", "codeclimate"];
        args.extend_from_slice(extra);
        if !paths.is_empty() {
            // Paths are never read as options, whatever they start with.
            args.push("--");
            args.extend(paths.iter().map(String::as_str));
        }
        let output = tool::run(&self.program, &args, cwd, self.timeout, LINT_HINT).await?;
        match output.code() {
            Some(LINT_NO_FILES) => Ok(Vec::new()),
            Some(code) if LINT_DONE.contains(&code) => parse_report(&output.stdout, code != 0)
                .map_err(|reason| AgentError::ToolOutput {
                    program: self.program.clone(),
                    reason,
                }),
            _ => Err(output.failed(&self.program)),
        }
    }
}

/// Lints the repository at `repo`, or only `paths` in it, with ansible-lint and the
/// repository's own ansible-lint configuration, offline; returns one [`Suggestion`] per
/// finding, sorted by path and line.
///
/// Findings are a success; a missing ansible-lint, a crash, an invalid configuration, a path
/// outside the repository or output that cannot be understood are errors.
pub async fn lint(repo: &Path, paths: &[String]) -> Result<Vec<Suggestion>, AgentError> {
    Linter::new().lint(repo, paths).await
}

/// Applies `suggestion`'s fix as a commit on the new branch `chiffon/fix-<rule>-<short id>`,
/// started at `HEAD`, and returns the commit; `request_ref` (the request that accepted the
/// suggestion) goes into the message.
///
/// The fix is `ansible-lint --fix=<rule id> <path>` in a private worktree: it fixes every
/// finding of that rule in the file and writes the file in ansible-lint's YAML layout. The
/// commit is made only if the suggestion's file, and nothing else, changed and the finding is
/// gone; otherwise the branch is deleted and the error says why. The user's working tree and
/// branch are never touched, and their uncommitted changes are neither needed nor included.
///
/// Errors: the rule cannot be fixed automatically ([`AgentError::NotFixable`]), the repository
/// is not under git ([`AgentError::Repository`]), the branch exists
/// ([`AgentError::BranchExists`]), the fix did not work ([`AgentError::FixFailed`]).
pub async fn apply_fix(
    repo: &Path,
    suggestion: &Suggestion,
    request_ref: &str,
) -> Result<BranchCommit, AgentError> {
    Linter::new().apply_fix(repo, suggestion, request_ref).await
}

/// The message of a fix commit.
fn fix_message(suggestion: &Suggestion, request_ref: &str) -> String {
    let id = rule_id(&suggestion.rule);
    let how = format!(
        "Applied with `ansible-lint --fix={id} {path}`, which fixes every {id} finding in the \
         file and writes it in ansible-lint's YAML layout.",
        path = suggestion.path,
    );
    git::commit_message(
        &format!("Fix {} in {}", suggestion.rule, suggestion.path),
        &[rule_info(&suggestion.rule).reason, &how],
        &[
            ("Chiffon-Request", request_ref),
            ("Chiffon-Rule", &suggestion.rule),
        ],
    )
}

/// `request_ref` trimmed, if it is a usable single line.
pub(crate) fn check_request_ref(request_ref: &str) -> Result<&str, AgentError> {
    let trimmed = request_ref.trim();
    let invalid = |reason: &str| AgentError::InvalidArgument {
        name: "request reference",
        reason: reason.to_owned(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.chars().count() > 200 {
        return Err(invalid("it is longer than 200 characters"));
    }
    // A newline would let it add lines (and forged trailers) to the commit message.
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("it contains control characters such as newlines"));
    }
    Ok(trimmed)
}

/// `repo` canonicalised, if it is an existing directory.
pub(crate) async fn existing_dir(repo: &Path) -> Result<PathBuf, AgentError> {
    let unusable = |reason: String| AgentError::Repository {
        path: repo.to_path_buf(),
        reason,
    };
    let canonical = tokio::fs::canonicalize(repo)
        .await
        .map_err(|error| unusable(error.to_string()))?;
    if !tokio::fs::metadata(&canonical)
        .await
        .is_ok_and(|m| m.is_dir())
    {
        return Err(unusable("it is not a directory".into()));
    }
    Ok(canonical)
}

// --- ansible-lint's Code Climate report ---------------------------------------------------------

/// One issue of ansible-lint's `-f codeclimate` output.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Finding {
    /// The full tag, e.g. `fqcn[action-core]`.
    pub(crate) check_name: String,
    /// ansible-lint's tags for the rule.
    #[serde(default)]
    pub(crate) categories: Vec<String>,
    #[serde(default)]
    pub(crate) url: String,
    /// `major` for errors, `minor` for warnings.
    #[serde(default)]
    pub(crate) severity: String,
    pub(crate) description: String,
    pub(crate) location: FindingLocation,
    #[serde(default)]
    pub(crate) content: Option<FindingContent>,
}

impl Finding {
    /// The line, from either location form ansible-lint writes.
    pub(crate) fn line(&self) -> Option<u32> {
        self.location
            .positions
            .as_ref()
            .and_then(|p| p.begin.line)
            .or_else(|| self.location.lines.as_ref().and_then(|l| l.begin))
            .filter(|line| *line > 0)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FindingLocation {
    pub(crate) path: String,
    #[serde(default)]
    lines: Option<Lines>,
    #[serde(default)]
    positions: Option<Positions>,
}

#[derive(Debug, Clone, Deserialize)]
struct Lines {
    #[serde(default)]
    begin: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
struct Positions {
    begin: Position,
}

#[derive(Debug, Clone, Deserialize)]
struct Position {
    #[serde(default)]
    line: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FindingContent {
    #[serde(default)]
    body: String,
}

/// Parses ansible-lint's stdout. The report is one line holding a JSON array; anything else on
/// stdout (a plugin printing there) is skipped. An empty stdout means no findings unless
/// ansible-lint said it found some (`expect_findings`).
fn parse_report(stdout: &str, expect_findings: bool) -> Result<Vec<Finding>, String> {
    let trimmed = stdout.trim();
    if trimmed.is_empty() {
        return if expect_findings {
            Err("ansible-lint reported findings but printed no report".into())
        } else {
            Ok(Vec::new())
        };
    }
    let whole = serde_json::from_str::<Vec<Finding>>(trimmed);
    if let Ok(findings) = whole {
        return Ok(findings);
    }
    trimmed
        .lines()
        .rev()
        .filter(|line| line.trim_start().starts_with('['))
        .find_map(|line| serde_json::from_str::<Vec<Finding>>(line).ok())
        .ok_or_else(|| match whole {
            Err(error) => format!("no JSON report in it ({error})"),
            Ok(_) => "no JSON report in it".into(),
        })
}

fn normalise_path(path: &str) -> String {
    path.strip_prefix("./").unwrap_or(path).to_owned()
}

/// Turns findings into sorted suggestions, one per id.
fn findings_to_suggestions(findings: Vec<Finding>) -> Result<Vec<Suggestion>, AgentError> {
    let mut suggestions = findings
        .into_iter()
        .map(suggestion_from)
        .collect::<Result<Vec<_>, _>>()?;
    suggestions
        .sort_by(|a, b| (&a.path, a.line, &a.rule, &a.id).cmp(&(&b.path, b.line, &b.rule, &b.id)));
    suggestions.dedup_by(|a, b| a.id == b.id);
    Ok(suggestions)
}

fn suggestion_from(finding: Finding) -> Result<Suggestion, AgentError> {
    let info = rules::rule_info_with_tags(&finding.check_name, &finding.categories);
    let path = normalise_path(&finding.location.path);
    let line = finding.line();
    let id = suggestion_id(&finding.check_name, &path, line, &finding.description)?;
    Ok(Suggestion {
        id,
        category: info.category,
        reason: info.reason.to_owned(),
        fixable: info.fixable,
        severity: if finding.severity == "minor" {
            Severity::Warning
        } else {
            Severity::Error
        },
        title: finding.description,
        details: finding.content.map(|c| c.body).unwrap_or_default(),
        doc_url: finding.url,
        rule: finding.check_name,
        path,
        line,
    })
}

/// The first 16 hex digits of a SHA-1 over rule, path, line and message: stable across runs,
/// machines and Chiffon versions (unlike Rust's own hashers).
fn suggestion_id(
    rule: &str,
    path: &str,
    line: Option<u32>,
    message: &str,
) -> Result<String, AgentError> {
    let line = line.map(|l| l.to_string()).unwrap_or_default();
    let key = [rule, path, line.as_str(), message].join("\0");
    let oid = git2::Oid::hash_object(git2::ObjectType::Blob, key.as_bytes())
        .map_err(|error| AgentError::Internal(format!("cannot hash a suggestion: {error}")))?;
    Ok(oid.to_string()[..16].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"[{"type": "issue", "check_name": "no-changed-when", "categories": ["command-shell", "idempotency"], "url": "https://docs.ansible.com/projects/lint/rules/no-changed-when/", "severity": "major", "description": "Commands should not change things if nothing needs doing.", "fingerprint": "6e", "location": {"path": "playbooks/flawed.yml", "lines": {"begin": 6}}, "content": {"body": "Task/Handler: Run uptime"}}, {"type": "issue", "check_name": "jinja[spacing]", "categories": ["formatting"], "url": "", "severity": "minor", "description": "Jinja2 spacing could be improved", "fingerprint": "16", "location": {"path": "./playbooks/flawed.yml", "positions": {"begin": {"line": 16, "column": 14}}}}]"#;

    #[test]
    fn reports_become_suggestions() {
        let findings = parse_report(REPORT, true).expect("parses");
        let suggestions = findings_to_suggestions(findings).expect("converts");
        assert_eq!(suggestions.len(), 2);
        let first = &suggestions[0];
        assert_eq!(first.rule, "no-changed-when");
        assert_eq!(first.category, Category::Idempotency);
        assert_eq!(first.line, Some(6));
        assert_eq!(first.severity, Severity::Error);
        assert_eq!(first.details, "Task/Handler: Run uptime");
        assert!(!first.fixable);
        assert_eq!(first.id.len(), 16);
        let second = &suggestions[1];
        assert_eq!(second.path, "playbooks/flawed.yml");
        assert_eq!(second.line, Some(16));
        assert_eq!(second.severity, Severity::Warning);
        assert!(second.fixable);
        assert_eq!(second.category, Category::Standards);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = suggestion_id("fqcn", "a.yml", Some(3), "m").expect("id");
        assert_eq!(a, suggestion_id("fqcn", "a.yml", Some(3), "m").expect("id"));
        assert_ne!(a, suggestion_id("fqcn", "a.yml", Some(4), "m").expect("id"));
        // Fixed forever: stored suggestions are found again by this id.
        assert_eq!(
            suggestion_id("no-changed-when", "playbooks/x.yml", Some(6), "m").expect("id"),
            suggestion_id("no-changed-when", "playbooks/x.yml", Some(6), "m").expect("id")
        );
    }

    #[test]
    fn reports_among_other_output_are_found() {
        let stdout = format!("some plugin chatter\n{REPORT}\n");
        assert_eq!(parse_report(&stdout, true).expect("parses").len(), 2);
        assert!(parse_report("", false).expect("empty").is_empty());
        assert!(parse_report("", true).is_err());
        assert!(parse_report("Traceback (most recent call last):", true).is_err());
    }

    #[test]
    fn request_refs_are_single_lines() {
        assert_eq!(check_request_ref(" req-1 ").expect("ok"), "req-1");
        assert!(check_request_ref("").is_err());
        assert!(check_request_ref("a\nChiffon-Rule: x").is_err());
    }

    #[test]
    fn fix_messages_end_with_trailers() {
        let suggestion = Suggestion {
            id: "0123456789abcdef".into(),
            rule: "fqcn[action-core]".into(),
            category: Category::BestPractices,
            title: "Use FQCN".into(),
            reason: String::new(),
            details: String::new(),
            path: "playbooks/a.yml".into(),
            line: Some(3),
            severity: Severity::Error,
            fixable: true,
            doc_url: String::new(),
        };
        let message = fix_message(&suggestion, "req-42");
        assert!(message.starts_with("Fix fqcn[action-core] in playbooks/a.yml\n\n"));
        assert!(
            message.ends_with("\n\nChiffon-Request: req-42\nChiffon-Rule: fqcn[action-core]\n")
        );
    }

    #[test]
    fn categories_serialise_in_snake_case() {
        for category in Category::ALL {
            let json = serde_json::to_string(&category).expect("serialises");
            assert_eq!(json, format!("\"{}\"", category.as_str()));
        }
    }
}
