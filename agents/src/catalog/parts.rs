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
//! (`common` everywhere) is one part, and a tag several parts share selects them as a group
//! (`arr` for Sonarr and Radarr).

use super::playbook::{Expansion, PartOutline, PlayOutline, RoleTask};
use std::collections::BTreeSet;

/// Tags with a meaning of their own to Ansible or its tools; they never select a part.
const SPECIAL_TAGS: &[&str] = &[
    "all",
    "always",
    "never",
    "tagged",
    "untagged",
    // Markers for tools, not selections: ansible-lint skips, Molecule does not test.
    "skip_ansible_lint",
    "molecule-notest",
    "molecule-idempotence-notest",
    "notest",
];

/// A selectable part: what it is called, the tags that select it, the plays it is in and what
/// it runs.
pub(super) struct Selectable {
    pub name: String,
    /// The tags that select it and nothing else, in the order they are written.
    pub tags: Vec<String>,
    /// Indexes of its plays, in order.
    pub plays: Vec<usize>,
    pub content: Expansion,
    /// Its tags are found only on tasks inside roles: it runs some of their tasks.
    pub within_roles: bool,
}

/// The parts of a playbook with `plays`, tagged `parts` and tagged tasks inside its roles
/// (`role_tasks`) that tags select on their own, in the order they are written (plays first
/// when the playbook has several, tags found only inside roles last).
pub(super) fn selectable(
    plays: &[PlayOutline],
    parts: &[PartOutline],
    role_tasks: &[RoleTask],
) -> Vec<Selectable> {
    let mut candidates: Vec<Selectable> = Vec::new();
    if plays.len() > 1 {
        for (index, play) in plays.iter().enumerate() {
            if !play.tags.is_empty() {
                candidates.push(Selectable {
                    name: play_name(play, index),
                    tags: play.tags.clone(),
                    plays: vec![index],
                    content: play.content.clone(),
                    within_roles: false,
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
                within_roles: false,
            }),
        }
    }

    // A tag found only on tasks inside roles selects those tasks wherever they are: the tasks of
    // several roles that publish a site, a "run it now" switch of one role.
    let mut inner_tags: Vec<&str> = Vec::new();
    for task in role_tasks {
        for tag in &task.tags {
            let known = candidates.iter().any(|known| known.tags.contains(tag))
                || plays.iter().any(|play| play.tags.contains(tag));
            if !known && !inner_tags.contains(&tag.as_str()) {
                inner_tags.push(tag);
            }
        }
    }
    for tag in inner_tags {
        let tagged: Vec<&RoleTask> = role_tasks
            .iter()
            .filter(|task| task.tags.iter().any(|own| own == tag))
            .collect();
        let mut plays: Vec<usize> = tagged.iter().filter_map(|task| task.play).collect();
        plays.dedup();
        // An include that carries the tag itself names the section ("Publish the sites behind
        // Caddy"); the tag alone is a name for scripts.
        let sections: Vec<&str> = tagged
            .iter()
            .filter(|task| task.section_tags.iter().any(|own| own == tag))
            .map(|task| task.task.as_str())
            .collect();
        let name = named_section(tag, &sections).unwrap_or(tag).to_owned();
        candidates.push(Selectable {
            name,
            tags: vec![tag.to_owned()],
            plays,
            content: Expansion::of_role_tasks(tagged.into_iter()),
            within_roles: true,
        });
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
    let groups = groups(&candidates, play_candidates, &play_tags);
    candidates
        .into_iter()
        .zip(selecting)
        .filter(|(_, tags)| !tags.is_empty())
        .map(|(mut candidate, tags)| {
            candidate.tags = dedup_in_order(tags);
            candidate.plays.sort_unstable();
            candidate
        })
        .chain(groups)
        .collect()
}

/// Tags several parts share that select those parts together, e.g. `arr` on the Sonarr and
/// Radarr roles: a name the repository gives a group of services.
fn groups(
    candidates: &[Selectable],
    play_candidates: usize,
    play_tags: &BTreeSet<&str>,
) -> Vec<Selectable> {
    let mut groups: Vec<Selectable> = Vec::new();
    for candidate in &candidates[play_candidates..] {
        for tag in &candidate.tags {
            let usable = !SPECIAL_TAGS.contains(&tag.as_str())
                && !tag.contains("{{")
                && !play_tags.contains(tag.as_str());
            if !usable || groups.iter().any(|group| group.name == *tag) {
                continue;
            }
            let members: Vec<&Selectable> = candidates[play_candidates..]
                .iter()
                .filter(|member| member.tags.contains(tag))
                .collect();
            if members.len() < 2 {
                continue;
            }
            let mut content = Expansion::default();
            let mut plays = Vec::new();
            for member in members {
                content.absorb(&member.content);
                plays.extend(member.plays.iter().copied());
            }
            plays.sort_unstable();
            plays.dedup();
            groups.push(Selectable {
                name: tag.clone(),
                tags: vec![tag.clone()],
                plays,
                content,
                within_roles: false,
            });
        }
    }
    groups
}

/// Of the includes that carry `tag` (`sections`), the one it names: the only one, else the one
/// sharing the most words with the tag when no other shares as many.
fn named_section<'s>(tag: &str, sections: &[&'s str]) -> Option<&'s str> {
    if let [only] = sections {
        return Some(only);
    }
    let most = sections
        .iter()
        .map(|section| words_shared(tag, section))
        .max()
        .filter(|&most| most > 0)?;
    let mut best = sections
        .iter()
        .filter(|section| words_shared(tag, section) == most);
    match (best.next(), best.next()) {
        (Some(section), None) => Some(section),
        _ => None,
    }
}

/// How many words of `tag` (`caddy_sites`) `name` holds ("Publish the sites behind Caddy"),
/// singular or plural.
fn words_shared(tag: &str, name: &str) -> usize {
    let singular = |word: &str| word.to_lowercase().trim_end_matches('s').to_owned();
    let named: BTreeSet<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .map(singular)
        .collect();
    tag.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .filter(|word| named.contains(&singular(word)))
        .count()
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
