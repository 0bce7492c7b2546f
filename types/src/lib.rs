//! Validated values shared by the orchestrator, the agents and the CLI, so that each rule about
//! what a name, a pattern or an option may hold is written once and holds on both sides of the
//! wire.
//!
//! Every check returns an [`Invalid`] that reads as what is wrong with the value, written to
//! follow the name of the field that held it: `format!("{field} {error}")` gives
//! `agent_id "x y" is invalid: use 1 to 128 letters, digits, '.', '_' or '-'` for the
//! orchestrator's API and `--agent-id "x y" is invalid: …` for a command line.

mod names;
mod run_options;

pub use names::{
    AgentId, MAX_AGENT_ID, MAX_INVENTORY_NAME, check_inventory_name, is_plain_name, slug,
};
pub use run_options::{
    MAX_HOST_PATTERN, MAX_TAG, MAX_TAGS, RunOption, RunOptions, RunOptionsError,
    check_host_pattern, check_tag,
};

/// Why a value was refused; displays as a predicate about the value (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A name outside the plain-name alphabet or length.
    #[error("\"{value}\" is invalid: use 1 to {max} letters, digits, '.', '_' or '-'{example}")]
    Name {
        /// The value as given.
        value: String,
        /// Its longest allowed length.
        max: usize,
        /// A comma and an example of a valid one, or nothing.
        example: &'static str,
    },
    /// Longer than allowed.
    #[error("is {length} characters long; the limit is {max}")]
    TooLong {
        /// Its length, in characters.
        length: usize,
        /// The longest allowed.
        max: usize,
    },
    /// A host pattern with a character ansible-playbook would misread or a shell would act on.
    #[error(
        "\"{pattern}\" contains {refused:?}: use an Ansible host pattern such as \"web:!nas\" or \
         \"host1,host2\", without spaces or shell characters"
    )]
    HostPattern {
        /// The pattern as given.
        pattern: String,
        /// The first refused character.
        refused: char,
    },
    /// A tag outside the tag alphabet or length.
    #[error("has \"{tag}\": a tag is 1 to {MAX_TAG} letters, digits, '_', '.' or '-'")]
    Tag {
        /// The tag as given.
        tag: String,
    },
    /// More tags than allowed.
    #[error("names {count} tags; the limit is {MAX_TAGS}")]
    TooManyTags {
        /// How many were given.
        count: usize,
    },
}

mod commit;
pub use commit::BranchCommit;

mod template;
pub use template::{Deployment, template_choices};
