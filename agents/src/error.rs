//! The one error type of this crate.
//!
//! Failures of a single piece of work (a playbook that fails, a path outside the repository, a
//! timeout) are not errors here: they are [`crate::RunOutcome`]s reported to the orchestrator.
//! [`AgentError`] is for what stops an agent from starting or running at all, and for the
//! failures of the repository tools (suggestions, fixes, templates), which answer a caller
//! directly.

use std::path::PathBuf;

/// What can stop an agent, or make a configuration value unusable.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The infrastructure repository is missing or unreadable.
    #[error("the infrastructure repository {} cannot be used: {reason}", path.display())]
    Repository {
        /// The repository path as configured.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A `--var KEY=VALUE` argument could not be understood.
    #[error("invalid --var {key:?}=…: {reason}")]
    InvalidVar {
        /// The argument's key (what precedes `=`); the value is left out because it may be a
        /// secret.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration setting has a value the agent cannot work with.
    #[error("invalid setting {setting}: {reason}")]
    Config {
        /// Name of the setting, as the operator knows it.
        setting: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// The orchestrator answered with an error that retrying cannot fix (e.g. an invalid agent
    /// id), so the agent gives up instead of retrying forever.
    #[error("the orchestrator refused agent {agent_id}: {message} ({code:?})")]
    Rejected {
        /// The agent's id.
        agent_id: String,
        /// The gRPC status code of the refusal.
        code: tonic::Code,
        /// The orchestrator's explanation.
        message: String,
    },

    /// The message bus failed in a way the agent cannot recover from.
    #[error("the message bus failed: {0}")]
    Bus(#[from] chiffon_bus::BusError),

    /// A git operation on the infrastructure repository failed.
    #[error("git could not {action} in {}: {}", repo.display(), source.message())]
    Git {
        /// The repository (or worktree) git worked on.
        repo: PathBuf,
        /// What Chiffon asked git to do, e.g. "create the branch chiffon/fix-fqcn-1a2b3c4d".
        action: String,
        /// libgit2's error.
        source: git2::Error,
    },

    /// The branch Chiffon wants to create already exists: an earlier suggestion or template was
    /// not merged or deleted yet.
    #[error(
        "the branch {branch} already exists in {}: merge or delete it, then try again",
        repo.display()
    )]
    BranchExists {
        /// The repository.
        repo: PathBuf,
        /// The branch name.
        branch: String,
    },

    /// A path given by the caller cannot be used.
    #[error("path {path:?} is not allowed: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An argument given by the caller (a request reference, an image name, …) cannot be used.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// What the argument is, as the user knows it.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An external program (ansible-lint, ansible-playbook) could not be started.
    #[error("cannot run {}: {source} ({hint})", program.display())]
    ToolMissing {
        /// The program as configured.
        program: PathBuf,
        /// How to make it available.
        hint: &'static str,
        /// Why starting it failed.
        source: std::io::Error,
    },

    /// An external program ended in a way that means it could not do its job.
    #[error("{} failed ({status}): {output}", program.display())]
    ToolFailed {
        /// The program.
        program: PathBuf,
        /// How it ended, e.g. "exit code 3".
        status: String,
        /// The most telling part of its output.
        output: String,
    },

    /// An external program did not finish in time and was stopped.
    #[error("{} did not finish within {} seconds and was stopped", program.display(), timeout.as_secs())]
    ToolTimedOut {
        /// The program.
        program: PathBuf,
        /// How long it was given.
        timeout: std::time::Duration,
    },

    /// An external program's output could not be understood.
    #[error("cannot understand the output of {}: {reason}", program.display())]
    ToolOutput {
        /// The program.
        program: PathBuf,
        /// What is wrong with the output.
        reason: String,
    },

    /// A suggestion was accepted whose rule ansible-lint cannot fix by itself.
    #[error(
        "ansible-lint cannot fix {rule} automatically; change {path} by hand (the suggestion's \
         reason says what to do)"
    )]
    NotFixable {
        /// The rule of the suggestion.
        rule: String,
        /// The file the suggestion is about.
        path: String,
    },

    /// `ansible-lint --fix` ran but did not produce a usable fix.
    #[error("ansible-lint could not fix {rule} in {path}: {reason}")]
    FixFailed {
        /// The rule of the suggestion.
        rule: String,
        /// The file the suggestion is about.
        path: String,
        /// What went wrong.
        reason: String,
    },

    /// A service name for a template cannot be turned into a role name.
    #[error("cannot generate a template for {name:?}: {reason}")]
    InvalidServiceName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A template would overwrite something that already exists in the repository.
    #[error("cannot generate a template for {service}: {what} already exists in {}", repo.display())]
    TemplateExists {
        /// The service, as it was named.
        service: String,
        /// What exists already, e.g. "the role roles/grafana".
        what: String,
        /// The repository.
        repo: PathBuf,
    },

    /// A generated template failed its validation; its branch was deleted.
    #[error("the generated template for {service} does not pass {check}: {output}")]
    TemplateInvalid {
        /// The service, as it was named.
        service: String,
        /// The check that failed, e.g. "ansible-playbook --syntax-check".
        check: &'static str,
        /// What the check reported.
        output: String,
    },

    /// Some of the repository's Galaxy requirements could not be installed.
    #[error("cannot install the Galaxy requirements: {}", failures.join("; "))]
    GalaxyInstall {
        /// One sentence per requirements file and kind that failed, each naming the file, the
        /// Galaxy servers and Ansible's reason.
        failures: Vec<String>,
    },

    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "write".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A background task of the agent panicked; this is a bug.
    #[error("internal error in the agent: {0}")]
    Internal(String),
}
