//! ansible-lint's suggestions as a person acts on them: listed by category with file and line,
//! one accepted through the CLI, and its fix committed on a new branch of the infrastructure
//! repository while the user's branch and working tree stay as they were.

use crate::support::*;
use chiffon_proto::v1 as pb;

/// The example's one deliberate slip: `copy` by its short name in the common role.
const RULE: &str = "fqcn[action-core]";
const FILE: &str = "roles/common/tasks/main.yml";

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_suggestion_is_committed_on_a_new_branch() {
    let workspace = Workspace::new();
    let base = workspace.commit_repo();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;

    let finding = wait_for_suggestion(&dev.endpoint, RULE, FILE).await;
    assert!(finding.fixable, "{finding:?}");
    assert_eq!(finding.status(), pb::SuggestionStatus::Open);
    assert_eq!(finding.category(), pb::SuggestionCategory::BestPractices);
    assert!(finding.line > 0);

    let listed = cli(&dev.endpoint, &["suggestions", "list"]);
    assert!(listed.status.success());
    let text = stdout(&listed);
    assert!(
        text.lines()
            .any(|line| line.starts_with("best practices (")),
        "{text}"
    );
    assert!(text.contains(&format!("{FILE}:{}", finding.line)), "{text}");
    assert!(text.contains(&finding.reason), "{text}");
    let shown = stdout(&cli(
        &dev.endpoint,
        &["suggestions", "show", &finding.suggestion_id],
    ));
    assert!(
        shown.contains(RULE) && shown.contains("fixable:  yes"),
        "{shown}"
    );

    let accepted = cli(
        &dev.endpoint,
        &[
            "suggestions",
            "accept",
            &finding.suggestion_id,
            "--as",
            "alice",
            "--watch",
        ],
    );
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let text = stdout(&accepted);
    let request_id = word_after(&text, "fix request ");
    let branch = word_after(&text, "branch ");
    let commit_id = word_after(&text, "commit ");
    assert!(text.contains("request succeeded"), "{text}");
    // Named after the finding, not the agent: another finding of the same rule gets its own.
    let (agent_id, finding_id) = finding
        .suggestion_id
        .split_once(':')
        .expect("ids are <agent>:<finding>");
    assert!(!branch.contains(agent_id), "{branch}");
    assert!(branch.ends_with(&finding_id[..8]), "{branch}");

    // The fix, read back from the repository.
    let git = git2::Repository::open(workspace.repo()).expect("open the repository");
    let tip = git
        .find_branch(&branch, git2::BranchType::Local)
        .expect("the fix branch exists")
        .get()
        .peel_to_commit()
        .expect("its commit");
    assert_eq!(tip.id().to_string(), commit_id);
    assert_eq!(
        tip.parent_ids().collect::<Vec<_>>(),
        [base],
        "one commit on top of HEAD"
    );
    let message = tip.message().expect("utf-8 message");
    assert!(message.contains(&request_id), "{message}");
    assert!(message.contains(RULE), "{message}");
    let diff = git
        .diff_tree_to_tree(
            Some(&tip.parent(0).expect("parent").tree().expect("tree")),
            Some(&tip.tree().expect("tree")),
            None,
        )
        .expect("diff");
    let changed: Vec<String> = diff
        .deltas()
        .filter_map(|delta| delta.new_file().path().map(|p| p.display().to_string()))
        .collect();
    assert_eq!(changed, [FILE]);
    let mut lines = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-') {
            lines.push(format!(
                "{}{}",
                line.origin(),
                String::from_utf8_lossy(line.content()).trim_end()
            ));
        }
        true
    })
    .expect("print the diff");
    assert_eq!(lines, ["-  copy:", "+  ansible.builtin.copy:"]);

    // The user's branch and files are untouched.
    assert_eq!(git.head().expect("HEAD").target(), Some(base));
    assert!(git.statuses(None).expect("status").is_empty());

    let applied = suggestions(&dev.endpoint)
        .await
        .get_suggestion(pb::GetSuggestionRequest {
            suggestion_id: finding.suggestion_id.clone(),
        })
        .await
        .expect("get suggestion")
        .into_inner()
        .suggestion
        .expect("a suggestion");
    assert_eq!(applied.status(), pb::SuggestionStatus::Applied);
    assert_eq!(applied.request_id, request_id);
    assert_eq!(
        applied.commit.map(|commit| commit.commit_id),
        Some(commit_id)
    );

    // Accepting it again is refused in one line.
    let again = cli(
        &dev.endpoint,
        &["suggestions", "accept", &finding.suggestion_id],
    );
    assert!(!again.status.success());
    assert_eq!(
        stderr(&again).trim().lines().count(),
        1,
        "{}",
        stderr(&again)
    );
}
