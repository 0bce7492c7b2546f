//! How a request's playbooks run: the ansible-playbook options a person sets, and the rules
//! that keep them from being misread or from smuggling more onto the command line.

use crate::{Invalid, check_inventory_name};
use serde::{Deserialize, Serialize};

/// Longest `--limit` host pattern, in characters.
pub const MAX_HOST_PATTERN: usize = 1000;

/// Most `--tags` one run may name.
pub const MAX_TAGS: usize = 50;

/// Longest tag, in characters.
pub const MAX_TAG: usize = 128;

/// Checks a `--limit` host pattern: at most [`MAX_HOST_PATTERN`] characters, none of them
/// whitespace, control characters or shell metacharacters. `&` stays allowed: it is Ansible's
/// intersection (`web:&staging`), and the limit reaches ansible-playbook as one argument, never
/// through a shell.
pub fn check_host_pattern(pattern: &str) -> Result<(), Invalid> {
    let length = pattern.chars().count();
    if length > MAX_HOST_PATTERN {
        return Err(Invalid::TooLong {
            length,
            max: MAX_HOST_PATTERN,
        });
    }
    match pattern
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || ";|$`<>\\\"'(){}".contains(*c))
    {
        Some(refused) => Err(Invalid::HostPattern {
            pattern: pattern.to_owned(),
            refused,
        }),
        None => Ok(()),
    }
}

/// Checks a tag: 1 to [`MAX_TAG`] letters, digits, '_', '.' or '-'.
pub fn check_tag(tag: &str) -> Result<(), Invalid> {
    let valid = !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(Invalid::Tag {
            tag: tag.to_owned(),
        })
    }
}

/// How the playbooks of a request run. Stored as a JSON object on requests and steps, and part
/// of a plan's content hash, so its field names and order are part of the stored format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Host pattern restricting every run (`--limit`); empty for no limit.
    pub limit: String,
    /// Only tasks with these tags (`--tags`); empty for all.
    pub tags: Vec<String>,
    /// Dry run (`--check`).
    pub check_mode: bool,
    /// Show differences (`--diff`).
    pub diff: bool,
    /// Name of the agent inventory to run against; empty for the agent's default.
    pub inventory: String,
}

/// Which run option was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOption {
    /// The host pattern (`--limit`).
    Limit,
    /// The tags (`--tags`).
    Tags,
    /// The inventory name.
    Inventory,
}

impl RunOption {
    /// The option's name as the API spells it: "limit", "tags" or "inventory".
    pub fn name(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Tags => "tags",
            Self::Inventory => "inventory",
        }
    }
}

/// A refused run option: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {error}", option.name())]
pub struct RunOptionsError {
    /// The option.
    pub option: RunOption,
    /// What is wrong with it.
    pub error: Invalid,
}

impl RunOptions {
    /// Checked options from what a person sent: the limit, tags and inventory trimmed, tags
    /// each kept once in their first order.
    pub fn checked(
        limit: &str,
        tags: &[String],
        check_mode: bool,
        diff: bool,
        inventory: &str,
    ) -> Result<Self, RunOptionsError> {
        let refuse = |option| move |error| RunOptionsError { option, error };
        let limit = limit.trim();
        check_host_pattern(limit).map_err(refuse(RunOption::Limit))?;
        if tags.len() > MAX_TAGS {
            return Err(refuse(RunOption::Tags)(Invalid::TooManyTags {
                count: tags.len(),
            }));
        }
        let mut kept: Vec<String> = Vec::with_capacity(tags.len());
        for tag in tags.iter().map(|tag| tag.trim()) {
            check_tag(tag).map_err(refuse(RunOption::Tags))?;
            if !kept.iter().any(|seen| seen == tag) {
                kept.push(tag.to_owned());
            }
        }
        let inventory = inventory.trim();
        if !inventory.is_empty() {
            check_inventory_name(inventory).map_err(refuse(RunOption::Inventory))?;
        }
        Ok(Self {
            limit: limit.to_owned(),
            tags: kept,
            check_mode,
            diff,
            inventory: inventory.to_owned(),
        })
    }

    /// The options a step of a request with these options runs with, when the planner chose
    /// `selection` (the tags and limit that select the step's part of its playbook): what the
    /// person set wins field by field, the rest comes from the selection (a dry run or a diff
    /// either asks for is asked for). A person's limit is enough on its own: a play never runs
    /// beyond its own hosts, whatever the limit.
    pub fn applied_to(&self, selection: &RunOptions) -> RunOptions {
        RunOptions {
            limit: if self.limit.is_empty() {
                selection.limit.clone()
            } else {
                self.limit.clone()
            },
            tags: if self.tags.is_empty() {
                selection.tags.clone()
            } else {
                self.tags.clone()
            },
            // The request's words may ask for a dry run or a diff the person's options don't.
            check_mode: self.check_mode || selection.check_mode,
            diff: self.diff || selection.diff,
            inventory: self.inventory.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn options_are_trimmed_and_tags_kept_once() {
        let options = RunOptions::checked(
            " web:&staging:!nas ",
            &tags(&["deploy", " deploy", "config"]),
            true,
            false,
            " staging ",
        )
        .expect("valid");
        assert_eq!(options.limit, "web:&staging:!nas");
        assert_eq!(options.tags, tags(&["deploy", "config"]));
        assert_eq!(options.inventory, "staging");
        assert!(options.check_mode && !options.diff);
    }

    #[test]
    fn shell_characters_and_spaces_never_reach_the_limit() {
        for (limit, refused) in [("web; rm -rf /", ';'), ("web nas", ' '), ("$(id)", '$')] {
            let error = RunOptions::checked(limit, &[], false, false, "").expect_err(limit);
            assert_eq!(error.option, RunOption::Limit);
            assert_eq!(
                error.error,
                Invalid::HostPattern {
                    pattern: limit.to_owned(),
                    refused
                }
            );
        }
        let long = "h".repeat(MAX_HOST_PATTERN + 1);
        assert_eq!(
            check_host_pattern(&long),
            Err(Invalid::TooLong {
                length: MAX_HOST_PATTERN + 1,
                max: MAX_HOST_PATTERN
            })
        );
    }

    #[test]
    fn tags_and_inventories_follow_their_alphabets() {
        let error = RunOptions::checked("", &tags(&["ok", "not ok"]), false, false, "")
            .expect_err("a space in a tag");
        assert_eq!(error.option, RunOption::Tags);
        assert_eq!(
            format!("run_options.tags {}", error.error),
            "run_options.tags has \"not ok\": a tag is 1 to 128 letters, digits, '_', '.' or '-'"
        );
        let many: Vec<String> = (0..=MAX_TAGS).map(|n| format!("t{n}")).collect();
        assert_eq!(
            RunOptions::checked("", &many, false, false, "").map_err(|error| error.error),
            Err(Invalid::TooManyTags {
                count: MAX_TAGS + 1
            })
        );
        let error = RunOptions::checked("", &[], false, false, "pro d").expect_err("a space");
        assert_eq!(error.option, RunOption::Inventory);
        assert!(
            error
                .to_string()
                .starts_with("inventory \"pro d\" is invalid"),
            "{error}"
        );
    }

    #[test]
    fn what_a_person_set_wins_over_the_planners_selection() {
        let person = RunOptions {
            limit: "nas".into(),
            check_mode: true,
            ..RunOptions::default()
        };
        let selection = RunOptions {
            limit: "web".into(),
            tags: tags(&["jellyfin"]),
            diff: true,
            ..RunOptions::default()
        };
        let applied = person.applied_to(&selection);
        assert_eq!(applied.limit, "nas");
        assert_eq!(applied.tags, tags(&["jellyfin"]));
        assert!(applied.check_mode && applied.diff);
    }

    #[test]
    fn the_stored_json_keeps_its_field_names() {
        // Plan content hashes cover this JSON: renaming a field would change every hash.
        let json = serde_json::to_string(&RunOptions {
            limit: "web".into(),
            tags: tags(&["a"]),
            check_mode: true,
            diff: false,
            inventory: "staging".into(),
        })
        .expect("serialises");
        assert_eq!(
            json,
            r#"{"limit":"web","tags":["a"],"check_mode":true,"diff":false,"inventory":"staging"}"#
        );
    }
}
