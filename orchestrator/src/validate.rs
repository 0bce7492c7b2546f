//! Checks of what callers send: ids, lengths, names, run options and page tokens.

use crate::catalog::validate_inventory_name;
use crate::error::{OrchestratorError, Result};
use crate::planner::RunOptions;
use chiffon_proto::v1 as pb;
use uuid::Uuid;

/// Longest request text accepted, in characters.
pub const MAX_REQUEST_TEXT: usize = 4000;
/// Longest reason, comment or feedback accepted, in characters.
pub(crate) const MAX_NOTE: usize = 4000;
/// Longest `--limit` host pattern accepted, in characters.
pub const MAX_LIMIT_PATTERN: usize = 1000;
/// Most `--tags` a request may name.
pub const MAX_TAGS: usize = 50;

/// Refuses run options ansible-playbook would misread, or that could smuggle more than a host
/// pattern and tag names onto its command line; returns them trimmed.
pub(crate) fn validate_run_options(options: Option<&pb::RunOptions>) -> Result<RunOptions> {
    let Some(options) = options else {
        return Ok(RunOptions::default());
    };
    let limit = options.limit.trim();
    check_length("run_options.limit", limit, MAX_LIMIT_PATTERN)?;
    if let Some(bad) = limit.chars().find(|c| refused_in_limit(*c)) {
        return Err(OrchestratorError::InvalidArgument(format!(
            "run_options.limit \"{limit}\" contains {bad:?}: use an Ansible host pattern such as \
             \"web:!nas\" or \"host1,host2\", without spaces or shell characters"
        )));
    }
    if options.tags.len() > MAX_TAGS {
        return Err(OrchestratorError::InvalidArgument(format!(
            "run_options.tags names {} tags; the limit is {MAX_TAGS}",
            options.tags.len()
        )));
    }
    let mut tags = Vec::with_capacity(options.tags.len());
    for tag in &options.tags {
        let tag = tag.trim();
        let valid = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(OrchestratorError::InvalidArgument(format!(
                "run_options.tags has \"{tag}\": a tag is 1 to 128 letters, digits, '_', '.' or '-'"
            )));
        }
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    let inventory = options.inventory.trim();
    if !inventory.is_empty() {
        validate_inventory_name(inventory)?;
    }
    Ok(RunOptions {
        limit: limit.to_owned(),
        tags,
        check_mode: options.check_mode,
        diff: options.diff,
        inventory: inventory.to_owned(),
    })
}

/// True for the characters a `--limit` host pattern may not contain: whitespace, control
/// characters and shell metacharacters. `&` stays allowed: it is Ansible's intersection
/// (`web:&staging`), and the limit reaches ansible-playbook as one argument, never via a shell.
pub(crate) fn refused_in_limit(c: char) -> bool {
    c.is_whitespace() || c.is_control() || ";|$`<>\\\"'(){}".contains(c)
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

/// True for 1 to `max` letters, digits, '.', '_' or '-': the names (agent ids, inventories) a
/// person types on a command line and that travel in messages unquoted.
pub(crate) fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub(crate) fn validate_agent_id(agent_id: &str) -> Result<()> {
    if is_plain_name(agent_id, 128) {
        Ok(())
    } else {
        Err(OrchestratorError::InvalidArgument(format!(
            "agent_id \"{agent_id}\" is invalid: use 1 to 128 letters, digits, '.', '_' or '-'"
        )))
    }
}
