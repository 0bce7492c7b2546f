//! Where a request says to run: "redeploy jellyfin on media01 only", "apply everything on the
//! edge box", "install glances but only on backup-nas". The place becomes the run's `--limit`
//! and leaves the words matched against the catalog, which are about what to run.
//!
//! A place is a name the catalog knows (a group or host of the plays, as their patterns and the
//! inventories say) after "on", after "to" or before "box" ("apply everything to the edge box",
//! "redeploy the media box"), or any name the request marks explicitly ("only on X", "on X only",
//! "limited to X"). "The media server" stays words to match: it may be what runs there.

use chiffon_proto::v1::Play;
use std::collections::{BTreeMap, BTreeSet};

/// Words before a place: "on the edge box", "apply everything to media01".
const PLACE_LINKS: &[&str] = &["on", "to"];
/// Words that may stand between "on" and the place ("on the edge box").
const ARTICLES: &[&str] = &["the", "a", "my", "our"];
/// Words that may follow the place and say it is one ("the edge box", "media01 host").
const PLACE_NOUNS: &[&str] = &[
    "box", "boxes", "host", "hosts", "server", "servers", "machine", "machines", "node", "nodes",
    "group",
];
/// The place nouns that say a known name is a place wherever it is written: "the media server"
/// may be what runs there (a Jellyfin), "the media box" is the box.
const BOX_NOUNS: &[&str] = &["box", "boxes", "host", "hosts", "machine", "machines"];
/// Words that mark a place explicitly.
const ONLY: &[&str] = &["only", "just"];

/// A request with its place taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Placed {
    /// The request without the words that say where.
    pub what: String,
    /// The host pattern it names, if it names one.
    pub limit: Option<String>,
}

/// The place `task` names among `known` names (lower-cased groups and hosts), or an explicitly
/// marked one.
pub(super) fn place(task: &str, known: &BTreeSet<String>) -> Placed {
    let words: Vec<&str> = task.split_whitespace().collect();
    let bare = |word: &str| {
        word.trim_matches(|c: char| !(c.is_alphanumeric() || "-_.".contains(c)))
            .trim_end_matches('.')
            .to_lowercase()
    };
    for (at, word) in words.iter().enumerate() {
        let word = bare(word);
        let limited = word == "limited" || word == "limit";
        if !PLACE_LINKS.contains(&word.as_str()) && !limited {
            continue;
        }
        let mut name_at = at + 1;
        if limited && words.get(name_at).is_some_and(|next| bare(next) == "to") {
            name_at += 1;
        }
        while words
            .get(name_at)
            .is_some_and(|next| ARTICLES.contains(&bare(next).as_str()))
        {
            name_at += 1;
        }
        let Some(name) = words.get(name_at).map(|name| bare(name)) else {
            continue;
        };
        let mut end = name_at + 1;
        while words
            .get(end)
            .is_some_and(|next| PLACE_NOUNS.contains(&bare(next).as_str()))
        {
            end += 1;
        }
        let marked_before = at > 0 && ONLY.contains(&bare(words[at - 1]).as_str());
        let marked_after = words
            .get(end)
            .is_some_and(|next| ONLY.contains(&bare(next).as_str()));
        let boxed = words
            .get(name_at + 1)
            .is_none_or(|next| BOX_NOUNS.contains(&bare(next).as_str()));
        let known_place = known.contains(&name) && (word == "on" || boxed);
        if !(known_place || marked_before || marked_after || limited) {
            continue;
        }
        let start = if marked_before { at - 1 } else { at };
        let end = if marked_after { end + 1 } else { end };
        let what: Vec<&str> = words[..start]
            .iter()
            .chain(&words[end..])
            .copied()
            // "install glances but only on X": the "but" went with the place.
            .filter(|word| bare(word) != "but")
            .collect();
        return Placed {
            what: what.join(" "),
            limit: Some(name),
        };
    }
    named_box(&words, bare, known).unwrap_or_else(|| Placed {
        what: task.to_owned(),
        limit: None,
    })
}

/// The hosts a catalog's plays run on, as the agents' inventories resolve their patterns: enough
/// to tell that a request's place is none of a candidate's hosts ("restart jellyfin on gw01"
/// when Jellyfin's play runs on the media box), where `--limit` would select no host at all.
#[derive(Debug, Default)]
pub(super) struct Hosts {
    /// Every host some play selects, lower-cased.
    hosts: BTreeSet<String>,
    /// The hosts of each group that is a play's whole pattern, lower-cased.
    groups: BTreeMap<String, BTreeSet<String>>,
}

impl Hosts {
    pub fn of<'p>(plays: impl IntoIterator<Item = &'p Play>) -> Self {
        let mut known = Self::default();
        for targets in plays.into_iter().flat_map(|play| &play.targets) {
            let hosts: BTreeSet<String> = targets.hosts.iter().map(|h| h.to_lowercase()).collect();
            if let [group] = targets.groups.as_slice() {
                known
                    .groups
                    .entry(group.to_lowercase())
                    .or_default()
                    .extend(hosts.iter().cloned());
            }
            known.hosts.extend(hosts);
        }
        known
    }

    /// Whether `plays` run on any host of `place` (a host or a group, lower-cased); `None` when
    /// the inventories do not say.
    pub fn run_on(&self, plays: &[&Play], place: &str) -> Option<bool> {
        let lower = |text: &str| text.to_lowercase();
        if plays.iter().any(|play| {
            play.host_pattern
                .split([',', ':'])
                .any(|term| lower(term.trim()) == place)
        }) {
            return Some(true);
        }
        let wanted = if self.hosts.contains(place) {
            BTreeSet::from([place.to_owned()])
        } else {
            self.groups.get(place)?.clone()
        };
        let selected: BTreeSet<String> = plays
            .iter()
            .flat_map(|play| &play.targets)
            .flat_map(|targets| targets.hosts.iter().map(|host| lower(host)))
            .collect();
        if selected.is_empty() {
            return None;
        }
        Some(!selected.is_disjoint(&wanted))
    }
}

/// A known place named as a box, without "on" or "to": "rebuild the media box".
fn named_box(
    words: &[&str],
    bare: impl Fn(&str) -> String,
    known: &BTreeSet<String>,
) -> Option<Placed> {
    let at = (1..words.len().saturating_sub(1)).find(|&at| {
        ARTICLES.contains(&bare(words[at - 1]).as_str())
            && known.contains(&bare(words[at]))
            && BOX_NOUNS.contains(&bare(words[at + 1]).as_str())
    })?;
    let what: Vec<&str> = words[..at - 1]
        .iter()
        .chain(&words[at + 2..])
        .copied()
        .collect();
    Some(Placed {
        what: what.join(" "),
        limit: Some(bare(words[at])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        ["media", "media01", "edge", "gw01"]
            .map(String::from)
            .into_iter()
            .collect()
    }

    fn placed(task: &str) -> (String, Option<String>) {
        let placed = place(task, &known());
        (placed.what, placed.limit)
    }

    #[test]
    fn known_groups_and_hosts_become_the_limit() {
        assert_eq!(
            placed("redeploy jellyfin on media01 only"),
            ("redeploy jellyfin".to_owned(), Some("media01".to_owned()))
        );
        assert_eq!(
            placed("apply everything on the edge box"),
            ("apply everything".to_owned(), Some("edge".to_owned()))
        );
        assert_eq!(
            placed("apply everything to gw01"),
            ("apply everything".to_owned(), Some("gw01".to_owned()))
        );
        assert_eq!(
            placed("rebuild the media box now"),
            ("rebuild now".to_owned(), Some("media".to_owned()))
        );
    }

    #[test]
    fn marked_places_need_not_be_known() {
        assert_eq!(
            placed("install glances but only on backup-nas"),
            ("install glances".to_owned(), Some("backup-nas".to_owned()))
        );
        assert_eq!(
            placed("upgrade plex, limited to nas2"),
            ("upgrade plex,".to_owned(), Some("nas2".to_owned()))
        );
    }

    #[test]
    fn a_server_may_be_what_runs_there() {
        assert_eq!(placed("add a library to the media server").1, None);
        assert_eq!(placed("restart the media server").1, None);
    }

    #[test]
    fn other_uses_of_on_stay() {
        assert_eq!(placed("turn on the lights").1, None);
        assert_eq!(placed("install kubernetes on the nas").1, None);
        assert_eq!(
            placed("install kubernetes on the nas").0,
            "install kubernetes on the nas"
        );
    }
}
