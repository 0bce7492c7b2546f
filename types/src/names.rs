//! Names people type and messages carry unquoted: agent ids, inventory names, and the slug
//! that makes service names and branch names comparable.

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest agent id, in characters.
pub const MAX_AGENT_ID: usize = 128;

/// Longest inventory name, in characters.
pub const MAX_INVENTORY_NAME: usize = 64;

/// True for 1 to `max` ASCII letters, digits, '.', '_' or '-': the names (agent ids,
/// inventories) a person types on a command line and that travel in messages unquoted.
pub fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The one way service names (and anything else free text names: rules, branches) are made
/// comparable: lowercase ASCII letters and digits, each run of anything else one `-`, none at
/// either end. "Uptime Kuma", "uptime_kuma" and "uptime.kuma" all become `uptime-kuma`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The id an agent registers under, e.g. `infra-nas01`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentId(String);

impl AgentId {
    /// `id` if it is 1 to [`MAX_AGENT_ID`] letters, digits, '.', '_' or '-'.
    pub fn parse(id: &str) -> Result<Self, Invalid> {
        if is_plain_name(id, MAX_AGENT_ID) {
            Ok(Self(id.to_owned()))
        } else {
            Err(Invalid::Name {
                value: id.to_owned(),
                max: MAX_AGENT_ID,
                example: "",
            })
        }
    }

    /// `infra-<host>` for a machine called `host`, with what an id cannot hold replaced by `-`.
    pub fn for_host(prefix: &str, host: &str) -> Self {
        let room = MAX_AGENT_ID.saturating_sub(prefix.len() + 1);
        let cleaned: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(room)
            .collect();
        if cleaned.is_empty() {
            Self(prefix.to_owned())
        } else {
            Self(format!("{prefix}-{cleaned}"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AgentId {
    type Err = Invalid;

    fn from_str(id: &str) -> Result<Self, Invalid> {
        Self::parse(id)
    }
}

impl TryFrom<String> for AgentId {
    type Error = Invalid;

    fn try_from(id: String) -> Result<Self, Invalid> {
        Self::parse(&id)
    }
}

impl From<AgentId> for String {
    fn from(id: AgentId) -> Self {
        id.0
    }
}

/// Checks the name of an inventory an agent runs against, e.g. `staging`: 1 to
/// [`MAX_INVENTORY_NAME`] letters, digits, '.', '_' or '-'.
pub fn check_inventory_name(name: &str) -> Result<(), Invalid> {
    if is_plain_name(name, MAX_INVENTORY_NAME) {
        Ok(())
    } else {
        Err(Invalid::Name {
            value: name.to_owned(),
            max: MAX_INVENTORY_NAME,
            example: ", e.g. \"staging\"",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_written_any_way_have_one_slug() {
        for name in [
            "Uptime Kuma",
            "uptime-kuma",
            "uptime_kuma",
            "uptime.kuma",
            " UPTIME  kuma! ",
        ] {
            assert_eq!(slug(name), "uptime-kuma", "{name}");
        }
        assert_eq!(slug("--"), "");
        assert_eq!(slug("Grafana 10"), "grafana-10");
    }

    #[test]
    fn agent_ids_are_plain_names() {
        assert_eq!(
            AgentId::parse("infra-nas01.home").map(String::from),
            Ok("infra-nas01.home".to_owned())
        );
        for bad in ["", "two words", "semi;colon", &"x".repeat(MAX_AGENT_ID + 1)] {
            let error = AgentId::parse(bad).expect_err(bad);
            assert!(
                format!("agent_id {error}").starts_with(&format!("agent_id \"{bad}\" is invalid")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_hosts_agent_id_is_always_valid() {
        for host in ["nas01", "my host/é", "", &"h".repeat(500)] {
            let id = AgentId::for_host("infra", host);
            assert!(AgentId::parse(id.as_str()).is_ok(), "{id}");
            assert!(id.as_str().starts_with("infra"), "{id}");
        }
        assert_eq!(AgentId::for_host("infra", "").as_str(), "infra");
    }

    #[test]
    fn agent_ids_read_from_json_are_checked() {
        let id: AgentId = serde_json::from_str("\"infra-1\"").expect("valid");
        assert_eq!(id.as_str(), "infra-1");
        assert!(serde_json::from_str::<AgentId>("\"in fra\"").is_err());
    }

    #[test]
    fn inventory_names_say_what_a_good_one_looks_like() {
        assert!(check_inventory_name("staging").is_ok());
        let error = check_inventory_name("prod env").expect_err("a space");
        assert_eq!(
            format!("inventory name {error}"),
            "inventory name \"prod env\" is invalid: use 1 to 64 letters, digits, '.', '_' or \
             '-', e.g. \"staging\""
        );
    }
}
