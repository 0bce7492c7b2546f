//! A commit Chiffon made on a branch of its own: a suggested fix or a service template, as the
//! agent makes it, the orchestrator stores it and people review it.

use serde::{Deserialize, Serialize};

/// A commit on a branch Chiffon created, with where the branch starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchCommit {
    /// The branch, e.g. `chiffon/fix-no-changed-when-1a2b3c4d`.
    pub branch: String,
    /// Full hexadecimal id of the commit.
    pub commit_id: String,
    /// Full id of the commit the branch starts from (the commit's parent).
    #[serde(default)]
    pub base_commit: String,
    /// Files the commit changed, relative to the infrastructure repository, sorted.
    #[serde(default)]
    pub files: Vec<String>,
    /// The commit message.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_stored_before_files_and_messages_were_kept_still_read() {
        let commit: BranchCommit =
            serde_json::from_str(r#"{"branch":"chiffon/fix-x","commit_id":"abc"}"#)
                .expect("an old stored commit");
        assert_eq!(commit.branch, "chiffon/fix-x");
        assert!(commit.files.is_empty() && commit.message.is_empty());
    }
}
