//! Suggestions against the real ansible-lint and real git repositories: findings filed by
//! category with their location, a clean repository without findings, and accepted fixes that
//! end up as one commit on a new branch while the user's checkout stays as it was.

mod support;

use chiffon_agents::AgentError;
use chiffon_agents::suggest::{
    self, Category, Severity, Suggestion, apply_fix, default_lint_program, lint, rule_info,
};
use std::process::Command;
use support::{TestRepo, diff, require_tools};

/// A playbook with one of each: a command without changed_when (line 6) using a short module
/// name (line 7), an ignore_errors (task at line 9), and too many spaces after a colon
/// (line 16).
const FLAWED: &str = "\
---
- name: Flawed playbook
  hosts: all
  gather_facts: false
  tasks:
    - name: Check the uptime
      command: uptime

    - name: Try something that may fail
      ansible.builtin.command: /bin/false
      changed_when: false
      ignore_errors: true

    - name: Say hello
      ansible.builtin.debug:
        msg:    hello
";

/// A playbook whose only finding is a short module name (line 7).
const SHORT_NAME: &str = "\
---
- name: Greet
  hosts: all
  gather_facts: false
  tags: [greet]
  tasks:
    - name: Print a greeting
      debug:
        msg: hello
";

fn find<'a>(suggestions: &'a [Suggestion], rule: &str) -> &'a Suggestion {
    suggestions
        .iter()
        .find(|s| s.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} suggestion in {suggestions:#?}"))
}

#[tokio::test]
async fn findings_are_filed_by_category_with_their_location() {
    require_tools();
    let repo = TestRepo::example_with(&[("playbooks/flawed.yml", FLAWED)]);

    let mut suggestions = lint(&repo.path(), &[]).await.expect("lint");

    // Besides the example's own deliberate finding, only the flawed playbook has findings.
    let (example_rule, example_path, _) = EXAMPLE_FINDING;
    let example: Vec<_> = suggestions
        .iter()
        .filter(|s| s.path == example_path)
        .map(|s| s.rule.as_str())
        .collect();
    assert_eq!(example, [example_rule]);
    suggestions.retain(|s| s.path != example_path);
    let path = "playbooks/flawed.yml";
    assert!(
        suggestions.iter().all(|s| s.path == path),
        "only the flawed playbook has findings: {suggestions:#?}"
    );
    let expected = [
        ("no-changed-when", Category::Idempotency, 6, false),
        ("fqcn[action-core]", Category::BestPractices, 7, true),
        ("ignore-errors", Category::ErrorHandling, 9, false),
        ("yaml[colons]", Category::Standards, 16, true),
    ];
    for (rule, category, line, fixable) in expected {
        let s = find(&suggestions, rule);
        assert_eq!(s.category, category, "{rule}");
        assert_eq!(s.line, Some(line), "{rule}");
        assert_eq!(s.fixable, fixable, "{rule}");
        assert_eq!(s.severity, Severity::Error, "{rule}");
        assert_eq!(s.reason, rule_info(rule).reason, "{rule}");
        assert!(!s.title.is_empty(), "{rule}");
        assert_eq!(s.id.len(), 16, "{rule}");
    }
    assert!(
        find(&suggestions, "no-changed-when")
            .reason
            .contains("every run reports a change")
    );
    let mut ids: Vec<&str> = suggestions.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), suggestions.len(), "ids are unique");

    // Linting just that file finds the same, with the same ids.
    let again = lint(&repo.path(), &[path.to_owned()])
        .await
        .expect("lint one file");
    assert_eq!(again, suggestions);
}

/// The one finding the example repository keeps on purpose (see its README).
const EXAMPLE_FINDING: (&str, &str, u32) = ("fqcn[action-core]", "roles/common/tasks/main.yml", 24);

#[tokio::test]
async fn the_example_repository_has_its_one_deliberate_finding_and_the_fix_removes_it() {
    require_tools();
    let repo = TestRepo::example();
    let suggestions = lint(&repo.path(), &[]).await.expect("lint");
    let found: Vec<(&str, &str, Option<u32>, bool)> = suggestions
        .iter()
        .map(|s| (s.rule.as_str(), s.path.as_str(), s.line, s.fixable))
        .collect();
    let (rule, path, line) = EXAMPLE_FINDING;
    assert_eq!(found, [(rule, path, Some(line), true)], "{suggestions:#?}");

    let fix = apply_fix(&repo.path(), &suggestions[0], "req-example")
        .await
        .expect("fix");
    assert_eq!(fix.files, [path]);
    let git = repo.git();
    let change = diff(
        &git,
        fix.base_commit.parse().expect("oid"),
        fix.commit_id.parse().expect("oid"),
    );
    assert_eq!(change.lines, ["-  copy:", "+  ansible.builtin.copy:"]);

    // The fixed branch lints clean.
    let (_clone, fixed) = repo.checkout(&fix.branch);
    let remaining = lint(&fixed, &[]).await.expect("lint the fixed branch");
    assert!(remaining.is_empty(), "{remaining:#?}");
}

#[tokio::test]
async fn paths_outside_the_repository_are_refused() {
    let repo = TestRepo::with_files(None, &[("site.yml", "---\n")]);
    for bad in ["../etc/passwd", "/etc/passwd", "missing.yml"] {
        let error = lint(&repo.path(), &[bad.to_owned()])
            .await
            .expect_err("refused");
        assert!(
            matches!(error, AgentError::InvalidPath { .. }),
            "{bad}: {error}"
        );
    }
}

#[test]
fn every_rule_ansible_lint_lists_has_a_category() {
    require_tools();
    let output = Command::new(default_lint_program())
        .args(["-L", "--nocolor"])
        .output()
        .expect("ansible-lint -L");
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    let rules: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(rules.len() > 40, "ansible-lint lists its rules: {listing}");
    let unknown: Vec<&&str> = rules.iter().filter(|r| !rule_info(r).known).collect();
    assert!(unknown.is_empty(), "rules without a category: {unknown:?}");
    // The rules ansible-lint tags `autofix` are fixable (for at least some sub-rules).
    for fixable in [
        "fqcn[action-core]",
        "yaml[trailing-spaces]",
        "no-jinja-when",
    ] {
        assert!(rule_info(fixable).fixable, "{fixable}");
    }
}

#[tokio::test]
async fn accepting_a_fixable_suggestion_commits_the_fix_on_a_new_branch() {
    require_tools();
    let repo = TestRepo::example_with(&[("playbooks/greet.yml", SHORT_NAME)]);
    // The user is in the middle of something: a changed file and a new one.
    repo.write(&[
        ("README.md", "work in progress\n"),
        ("notes.txt", "untracked\n"),
    ]);
    let (head_name, head_commit) = repo.head();
    let status = repo.status();
    let branches = repo.branches();

    let suggestions = lint(&repo.path(), &["playbooks/greet.yml".to_owned()])
        .await
        .expect("lint");
    let suggestion = find(&suggestions, "fqcn[action-core]");
    assert_eq!(suggestions.len(), 1, "{suggestions:#?}");

    let fix = apply_fix(&repo.path(), suggestion, "req-42")
        .await
        .expect("fix");

    // The branch and its single commit.
    let short: String = suggestion.id.chars().take(8).collect();
    assert_eq!(fix.branch, format!("chiffon/fix-fqcn-action-core-{short}"));
    assert_eq!(fix.base_commit, head_commit.to_string());
    assert_eq!(fix.files, ["playbooks/greet.yml"]);
    let git = repo.git();
    let branch_tip = git
        .find_branch(&fix.branch, git2::BranchType::Local)
        .expect("branch")
        .get()
        .peel_to_commit()
        .expect("commit");
    assert_eq!(branch_tip.id().to_string(), fix.commit_id);
    assert_eq!(branch_tip.parent_id(0).expect("parent"), head_commit);
    let message = branch_tip.message().expect("utf-8");
    assert!(
        message.starts_with("Fix fqcn[action-core] in playbooks/greet.yml\n"),
        "{message}"
    );
    assert!(message.contains("\nChiffon-Request: req-42\n"), "{message}");
    assert!(
        message.contains("\nChiffon-Rule: fqcn[action-core]"),
        "{message}"
    );
    assert_eq!(branch_tip.author().name(), Some("Homelab Owner"));

    // Its diff is exactly the fix.
    let change = diff(&git, head_commit, branch_tip.id());
    assert_eq!(change.files, ["playbooks/greet.yml"]);
    assert_eq!(
        change.lines,
        ["-      debug:", "+      ansible.builtin.debug:"],
        "the fix changes only the module name"
    );

    // The user's checkout is as it was, and nothing is left behind.
    assert_eq!(repo.head(), (head_name, head_commit));
    assert_eq!(repo.status(), status);
    let on_disk = std::fs::read_to_string(repo.path().join("playbooks/greet.yml")).expect("read");
    assert_eq!(on_disk, SHORT_NAME);
    assert!(repo.worktrees().is_empty(), "{:?}", repo.worktrees());
    let mut expected_branches = branches;
    expected_branches.push(fix.branch.clone());
    expected_branches.sort();
    assert_eq!(repo.branches(), expected_branches);

    // Accepting it again would need the same branch: refused, and nothing changes.
    let again = apply_fix(&repo.path(), suggestion, "req-43")
        .await
        .expect_err("branch exists");
    assert!(
        matches!(&again, AgentError::BranchExists { branch, .. } if *branch == fix.branch),
        "{again}"
    );
    assert!(repo.worktrees().is_empty());
}

#[tokio::test]
async fn fixes_work_when_the_repository_is_a_subdirectory_of_its_git_repository() {
    require_tools();
    let repo = TestRepo::with_files(Some("infra"), &[("playbooks/greet.yml", SHORT_NAME)]);
    let suggestions = lint(&repo.path(), &[]).await.expect("lint");
    let suggestion = find(&suggestions, "fqcn[action-core]");
    assert_eq!(suggestion.path, "playbooks/greet.yml");

    let fix = apply_fix(&repo.path(), suggestion, "req-7")
        .await
        .expect("fix");

    assert_eq!(fix.files, ["playbooks/greet.yml"]);
    let git = repo.git();
    let change = diff(
        &git,
        fix.base_commit.parse().expect("oid"),
        fix.commit_id.parse().expect("oid"),
    );
    assert_eq!(change.files, ["infra/playbooks/greet.yml"]);
    assert_eq!(
        change.lines,
        ["-      debug:", "+      ansible.builtin.debug:"]
    );
}

#[tokio::test]
async fn a_fix_that_changes_nothing_leaves_no_branch() {
    require_tools();
    let repo = TestRepo::example();
    // As if the finding had been fixed since it was reported: the file on HEAD is clean.
    let stale = Suggestion {
        id: "0123456789abcdef".into(),
        rule: "fqcn[action-core]".into(),
        category: Category::BestPractices,
        title: "Use FQCN for builtin module actions (debug).".into(),
        reason: String::new(),
        details: String::new(),
        path: "playbooks/deploy-portal.yml".into(),
        line: Some(4),
        severity: Severity::Error,
        fixable: true,
        doc_url: String::new(),
    };
    let branches = repo.branches();

    let error = apply_fix(&repo.path(), &stale, "req-1")
        .await
        .expect_err("nothing to fix");

    assert!(matches!(error, AgentError::FixFailed { .. }), "{error}");
    assert!(
        error.to_string().starts_with(
            "ansible-lint could not fix fqcn[action-core] in playbooks/deploy-portal.yml"
        ),
        "{error}"
    );
    assert_eq!(repo.branches(), branches, "the branch was deleted");
    assert!(repo.worktrees().is_empty());
}

#[tokio::test]
async fn unfixable_suggestions_and_non_git_directories_are_refused() {
    let repo = TestRepo::with_files(None, &[("site.yml", FLAWED)]);
    let mut suggestion = Suggestion {
        id: "fedcba9876543210".into(),
        rule: "no-changed-when".into(),
        category: Category::Idempotency,
        title: "Commands should not change things if nothing needs doing.".into(),
        reason: String::new(),
        details: String::new(),
        path: "site.yml".into(),
        line: Some(6),
        severity: Severity::Error,
        // A stale or forged flag does not matter: the rule table decides.
        fixable: true,
        doc_url: String::new(),
    };
    let branches = repo.branches();

    let error = apply_fix(&repo.path(), &suggestion, "req-1")
        .await
        .expect_err("not fixable");
    assert!(matches!(error, AgentError::NotFixable { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("ansible-lint cannot fix no-changed-when automatically"),
        "{error}"
    );
    assert_eq!(repo.branches(), branches);

    suggestion.rule = "fqcn[action-core]".into();
    let plain = tempfile::tempdir().expect("temp dir");
    std::fs::write(plain.path().join("site.yml"), FLAWED).expect("write");
    let error = apply_fix(plain.path(), &suggestion, "req-1")
        .await
        .expect_err("not a git repository");
    assert!(matches!(error, AgentError::Repository { .. }), "{error}");
    assert!(
        error.to_string().contains("not a git repository"),
        "{error}"
    );

    let error = apply_fix(&repo.path(), &suggestion, "two\nlines")
        .await
        .expect_err("bad request reference");
    assert!(
        matches!(error, AgentError::InvalidArgument { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_ansible_lint_is_a_clear_error() {
    let repo = TestRepo::with_files(None, &[("site.yml", FLAWED)]);
    let error = suggest::Linter::new()
        .with_program("/nonexistent/ansible-lint")
        .lint(&repo.path(), &[])
        .await
        .expect_err("no program");
    assert!(matches!(error, AgentError::ToolMissing { .. }), "{error}");
    assert!(
        error.to_string().contains("install ansible-lint"),
        "{error}"
    );
}
