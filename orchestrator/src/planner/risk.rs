//! How much harm a playbook step can do, and why, in words an approver checks.

use crate::domain::RiskLevel;
use crate::mapping::{self, PlaybookMatch};
use std::collections::BTreeSet;

/// Words in a playbook's or part's name, path or tags that say it destroys or rebuilds.
const DESTRUCTIVE: &[&str] = &[
    "remove",
    "delete",
    "destroy",
    "wipe",
    "purge",
    "upgrade",
    "reboot",
    "restore",
    "format",
    "reset",
    "uninstall",
    "decommission",
];
/// Words that say it only looks.
const READ_ONLY: &[&str] = &[
    "healthcheck",
    "health",
    "check",
    "report",
    "status",
    "facts",
    "ping",
    "verify",
    "audit",
];

/// A risk level and the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Risk {
    pub level: RiskLevel,
    pub reason: String,
}

/// The risk of running `found` on `hosts` (resolved in `inventory`, empty when unknown).
pub(super) fn of_match(found: &PlaybookMatch, hosts: &[String], inventory: &str) -> Risk {
    let playbook = &found.playbook;
    let mut words_of = vec![
        playbook.path.clone(),
        playbook.name.clone(),
        found.selection.tags.join(" "),
    ];
    match &found.part {
        Some(part) => words_of.push(part.name.clone()),
        None => words_of.push(playbook.tags.join(" ")),
    }
    let words = mapping::content_stems(&words_of.join(" "));
    let said = |list: &[&'static str]| -> Vec<&'static str> {
        list.iter()
            .copied()
            .filter(|word| words.contains(&mapping::stem(word)))
            .collect()
    };

    let production: Vec<&str> = hosts
        .iter()
        .map(String::as_str)
        .chain([inventory, found.selection.limit.as_str()])
        .filter(|name| name.to_lowercase().contains("prod"))
        .collect();
    if !production.is_empty() {
        return Risk {
            level: RiskLevel::High,
            reason: format!(
                "touches production ({})",
                production
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    if found.part.is_none() && mapping::is_site_playbook(playbook) {
        return Risk {
            level: RiskLevel::High,
            reason: format!(
                "runs the whole site playbook {}: all {} roles ({} parts that its tags select \
                 one by one){}",
                playbook.path,
                playbook.roles.len(),
                playbook.parts.len(),
                on_hosts(hosts)
            ),
        };
    }
    let destructive = said(DESTRUCTIVE);
    if !destructive.is_empty() {
        return Risk {
            level: RiskLevel::High,
            reason: format!(
                "its name says it {} things{}",
                destructive.join(" / "),
                on_hosts(hosts)
            ),
        };
    }
    let read_only = said(READ_ONLY);
    if !read_only.is_empty() {
        return Risk {
            level: RiskLevel::Low,
            reason: format!(
                "its name says it only checks ({}){}",
                read_only.join(", "),
                on_hosts(hosts)
            ),
        };
    }
    let roles = match &found.part {
        Some(part) => &part.roles,
        None => &playbook.roles,
    };
    let what = if roles.is_empty() {
        "changes hosts".to_owned()
    } else {
        format!("runs the roles {}", roles.join(", "))
    };
    Risk {
        level: RiskLevel::Medium,
        reason: format!("{what}{}", on_hosts(hosts)),
    }
}

/// The risk of any step run with `--check`.
pub(super) fn dry_run() -> Risk {
    Risk {
        level: RiskLevel::Low,
        reason: "dry run (--check): it reports what would change and changes nothing".to_owned(),
    }
}

/// " on 2 hosts (a, b)", " on 40 hosts (a, b, c, …)", or "" when unknown.
fn on_hosts(hosts: &[String]) -> String {
    const SHOWN: usize = 5;
    match hosts.len() {
        0 => String::new(),
        1 => format!(" on {}", hosts[0]),
        count if count <= SHOWN => format!(" on {count} hosts ({})", hosts.join(", ")),
        count => format!(" on {count} hosts ({}, …)", hosts[..SHOWN].join(", ")),
    }
}
