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

/// Encoded `FileDescriptorSet` of every Chiffon proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("chiffon_descriptor");
