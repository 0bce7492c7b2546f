//! Checks of what callers send: ids, lengths, names, run options and page tokens.

use crate::error::{OrchestratorError, Result};
use chiffon_proto::v1 as pb;
use chiffon_types::{AgentId, RunOption, RunOptions};
use uuid::Uuid;

/// Longest request text accepted, in characters.
pub const MAX_REQUEST_TEXT: usize = 4000;
/// Longest reason, comment or feedback accepted, in characters.
pub(crate) const MAX_NOTE: usize = 4000;

/// Refuses run options ansible-playbook would misread, or that could smuggle more than a host
/// pattern and tag names onto its command line; returns them trimmed.
pub(crate) fn validate_run_options(options: Option<&pb::RunOptions>) -> Result<RunOptions> {
    let Some(options) = options else {
        return Ok(RunOptions::default());
    };
    RunOptions::checked(
        &options.limit,
        &options.tags,
        options.check_mode,
        options.diff,
        &options.inventory,
    )
    .map_err(|refused| {
        let field = match refused.option {
            RunOption::Limit => "run_options.limit",
            RunOption::Tags => "run_options.tags",
            RunOption::Inventory => "inventory name",
        };
        invalid(field, &refused.error)
    })
}

/// The caller's error for `field` holding a value `error` refuses.
pub(crate) fn invalid(field: &str, error: &chiffon_types::Invalid) -> OrchestratorError {
    OrchestratorError::InvalidArgument(format!("{field} {error}"))
}

/// The size of a page a caller asked for: `default` for 0, at most `max`.
pub(crate) fn page_size_within(page_size: i32, default: u64, max: u64) -> Result<u64> {
    match u64::try_from(page_size) {
        Ok(0) => Ok(default),
        Ok(size) => Ok(size.min(max)),
        Err(_) => Err(OrchestratorError::InvalidArgument(format!(
            "page_size must not be negative, got {page_size}"
        ))),
    }
}

/// The row id a page token names (the last row of the previous page); `None` for the first
/// page.
pub(crate) fn page_cursor(page_token: &str) -> Result<Option<Uuid>> {
    if page_token.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(page_token).map(Some).map_err(|_| {
        OrchestratorError::InvalidArgument(format!(
            "page_token \"{page_token}\" is not one this server issued; pass the next_page_token of a previous response"
        ))
    })
}

/// Splits `rows`, read with a limit of `size + 1`, into the page and the next page's token.
pub(crate) fn split_page<T>(
    mut rows: Vec<T>,
    size: u64,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, String) {
    if rows.len() as u64 <= size {
        return (rows, String::new());
    }
    rows.truncate(size as usize);
    let next = rows
        .last()
        .map(|row| id(row).to_string())
        .unwrap_or_default();
    (rows, next)
}

pub(crate) fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    if value.trim().is_empty() {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    Uuid::parse_str(value.trim()).map_err(|_| {
        OrchestratorError::InvalidArgument(format!(
            "{field} \"{value}\" is not a valid id (a UUID)"
        ))
    })
}

/// Refuses `text` longer than `max` characters, naming `field`.
pub(crate) fn check_length(field: &str, text: &str, max: usize) -> Result<()> {
    let length = text.chars().count();
    if length > max {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is {length} characters long; the limit is {max}"
        )));
    }
    Ok(())
}

pub(crate) fn required_note<'a>(field: &str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(OrchestratorError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    check_length(field, text, MAX_NOTE)?;
    Ok(text)
}

pub(crate) fn display_name(person: &str) -> &str {
    match person.trim() {
        "" => "an unnamed reviewer",
        name => name,
    }
}

/// Refuses an agent id the agents' own rule refuses.
pub(crate) fn validate_agent_id(agent_id: &str) -> Result<AgentId> {
    AgentId::parse(agent_id).map_err(|error| invalid("agent_id", &error))
}
