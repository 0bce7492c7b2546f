//! Chiffon's contracts, generated from `proto/chiffon/v1/*.proto`.
//!
//! The `.proto` files are the source of truth for every API and bus message; this crate only
//! compiles them. Other languages generate their clients from the same files.

pub mod json;

/// Package `chiffon.v1`: the orchestrator and agent APIs and the bus messages.
pub mod v1 {
    #![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]
    tonic::include_proto!("chiffon.v1");
}

impl From<chiffon_types::BranchCommit> for v1::RepositoryCommit {
    fn from(commit: chiffon_types::BranchCommit) -> Self {
        Self {
            branch: commit.branch,
            commit_id: commit.commit_id,
            base_commit: commit.base_commit,
            files: commit.files,
            message: commit.message,
        }
    }
}

impl From<v1::RepositoryCommit> for chiffon_types::BranchCommit {
    fn from(commit: v1::RepositoryCommit) -> Self {
        Self {
            branch: commit.branch,
            commit_id: commit.commit_id,
            base_commit: commit.base_commit,
            files: commit.files,
            message: commit.message,
        }
    }
}

impl v1::RequestStatus {
    /// The status as a word for people, e.g. "awaiting approval"; the server's event messages
    /// and the CLI say the same.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unspecified => "unknown",
            Self::AwaitingApproval => "awaiting approval",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }
}

impl v1::PlanStatus {
    /// The status as a word for people, e.g. "approved".
    pub fn word(self) -> &'static str {
        match self {
            Self::Unspecified => "unknown",
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Encoded `FileDescriptorSet` of every Chiffon proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("chiffon_descriptor");
