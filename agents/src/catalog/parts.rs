//! Which parts of a playbook a person can run on their own with `--tags`.
//!
//! Site playbooks choose what runs by tags: `ansible-playbook nas.yml --tags gitea` runs one
//! application's role out of a hundred, `site.yml --tags jellyfin --limit media` one service of
//! one play. A part is a tagged role entry, block, include or task written in the playbook, or a
//! tagged play of a playbook with several plays. It is selectable when one of its own tags is
//! carried by nothing else in the playbook (Ansible's tags select everything that carries any of
//! them, so a shared tag such as `ansible-nas` selects many parts at once), and those tags are the
//! ones that select it; in a playbook with several plays, a tag the part shares only with plays
//! on other hosts selects it too, with `--limit` to its own. A role tagged alike in several plays
//! (`common` everywhere) is one part.

use super::playbook::{Expansion, PartOutline, PlayOutline};
use std::collections::BTreeSet;

/// Tags with a meaning of their own to Ansible; they never select one part.
const SPECIAL_TAGS: &[&str] = &["all", "always", "never", "tagged", "untagged"];

/// A selectable part: what it is called, the tags that select it, the plays it is in and what
/// it runs.
pub(super) struct Selectable {
    pub name: String,
    /// The tags that select it and nothing else, in the order they are written.
    pub tags: Vec<String>,
    /// Indexes of its plays, in order.
    pub plays: Vec<usize>,
    pub content: Expansion,
}

/// The parts of a playbook with `plays` and tagged `parts` that tags select on their own, in
/// the order they are written (plays first when the playbook has several).
pub(super) fn selectable(plays: &[PlayOutline], parts: &[PartOutline]) -> Vec<Selectable> {
    let mut candidates: Vec<Selectable> = Vec::new();
    if plays.len() > 1 {
        for (index, play) in plays.iter().enumerate() {
            if !play.tags.is_empty() {
                candidates.push(Selectable {
                    name: play_name(play, index),
                    tags: play.tags.clone(),
                    plays: vec![index],
                    content: play.content.clone(),
                });
            }
        }
    }
    let play_candidates = candidates.len();
    for part in parts {
        let Some(play) = part.play else { continue };
        let same = candidates[play_candidates..]
            .iter_mut()
            .find(|known| known.name == part.name && same_tags(&known.tags, &part.tags));
        match same {
            Some(known) => {
                if !known.plays.contains(&play) {
                    known.plays.push(play);
                }
                known.content.absorb(&part.content);
            }
            None => candidates.push(Selectable {
                name: part.name.clone(),
                tags: part.tags.clone(),
                plays: vec![play],
                content: part.content.clone(),
            }),
        }
    }

    // A tag on a play selects all of that play; with one play, it selects everything.
    let play_tags: BTreeSet<&str> = plays
        .iter()
        .flat_map(|play| play.tags.iter().map(String::as_str))
        .collect();
    let hosts_of = |candidate: &Selectable| -> BTreeSet<String> {
        candidate
            .plays
            .iter()
            .filter_map(|&index| plays.get(index))
            .map(|play| play.hosts.join(","))
            .collect()
    };
    let selecting: Vec<Vec<String>> = candidates
        .iter()
        .enumerate()
        .map(|(index, candidate)| {
            let usable: Vec<&String> = candidate
                .tags
                .iter()
                .filter(|tag| !SPECIAL_TAGS.contains(&tag.as_str()) && !tag.contains("{{"))
                .filter(|tag| index < play_candidates || !play_tags.contains(tag.as_str()))
                .collect();
            let others_with = |tag: &String| -> Vec<&Selectable> {
                candidates
                    .iter()
                    .enumerate()
                    .filter(|(other, known)| *other != index && known.tags.contains(tag))
                    .map(|(_, known)| known)
                    .collect()
            };
            let alone: Vec<String> = usable
                .iter()
                .filter(|tag| others_with(tag).is_empty())
                .map(|tag| (*tag).clone())
                .collect();
            if !alone.is_empty() || plays.len() < 2 {
                return alone;
            }
            // Shared tags still select it together with `--limit` to its plays' hosts when
            // every other carrier runs on other hosts (`--tags deploy --limit monitoring`).
            let own_hosts = hosts_of(candidate);
            usable
                .into_iter()
                .filter(|tag| {
                    others_with(tag)
                        .iter()
                        .all(|other| hosts_of(other).is_disjoint(&own_hosts))
                })
                .cloned()
                .collect()
        })
        .collect();
    candidates
        .into_iter()
        .zip(selecting)
        .filter(|(_, tags)| !tags.is_empty())
        .map(|(mut candidate, tags)| {
            candidate.tags = dedup_in_order(tags);
            candidate.plays.sort_unstable();
            candidate
        })
        .collect()
}

fn play_name(play: &PlayOutline, index: usize) -> String {
    if play.name.trim().is_empty() {
        format!("play {} ({})", index + 1, play.hosts.join(","))
    } else {
        play.name.clone()
    }
}

fn same_tags(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

fn dedup_in_order(tags: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    tags.into_iter()
        .filter(|tag| seen.insert(tag.clone()))
        .collect()
}
