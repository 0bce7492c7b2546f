//! Explaining a ranking to people: the reasons behind a candidate and the advice sentence (what
//! to use, or what to write when nothing fits).

use super::PlaybookMatch;
use super::candidates::{Candidate, Explanation, Field, Place};
use super::words::{Token, WordClass};

/// The reasons behind a candidate: what matched, place by place (strongest evidence first), and
/// the task words it leaves unexplained.
pub(super) fn reasons(
    candidate: &Candidate<'_>,
    words: &[Token],
    explanations: &[Explanation],
) -> Vec<String> {
    // Where each explained word was found: one reason per item for fields whose items have names
    // (a tag, a service), one per field for prose (name, description).
    let mut by_place: Vec<(PlaceKey, Vec<&Token>)> = Vec::new();
    let mut unexplained = Vec::new();
    for (word, explanation) in words.iter().zip(explanations) {
        let key = match explanation.place {
            Some(Place::Item(field, item)) => {
                PlaceKey::Item(field, if field.names_items() { item } else { 0 })
            }
            Some(Place::Deploys) => PlaceKey::Deploys,
            Some(Place::AppliesRoles) => PlaceKey::AppliesRoles,
            Some(Place::WholeSite) => PlaceKey::WholeSite,
            None => {
                unexplained.push(format!("'{}'", word.surface));
                continue;
            }
        };
        match by_place.iter_mut().find(|(place, _)| *place == key) {
            Some((_, list)) => list.push(word),
            None => by_place.push((key, vec![word])),
        }
    }
    by_place.sort_by_key(|(place, _)| *place);
    let mut reasons: Vec<String> = by_place
        .into_iter()
        .map(|(place, matched)| {
            let quoted = matched
                .iter()
                .map(|word| format!("'{}'", word.surface))
                .collect::<Vec<_>>()
                .join(", ");
            match place {
                PlaceKey::Item(field, item) => {
                    let name = candidate
                        .field(field)
                        .items
                        .get(item)
                        .map_or("", String::as_str);
                    item_reason(field, name, &quoted)
                }
                PlaceKey::Deploys => {
                    let services = match candidate.part {
                        Some(part) => &part.services,
                        None => &candidate.playbook.services,
                    };
                    match services.first() {
                        Some(service) => format!("deploys {service} (for {quoted})"),
                        None => format!("deploys services (for {quoted})"),
                    }
                }
                PlaceKey::AppliesRoles => match candidate.roles().first() {
                    Some(role) => format!("applies role {role} (for {quoted})"),
                    None => format!("applies roles (for {quoted})"),
                },
                PlaceKey::WholeSite => format!("runs the whole site (for {quoted})"),
            }
        })
        .collect();
    if !unexplained.is_empty() {
        reasons.push(format!("nothing in it matches {}", unexplained.join(", ")));
    }
    reasons
}

/// Places in the order reasons list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PlaceKey {
    Item(Field, usize),
    Deploys,
    AppliesRoles,
    WholeSite,
}

fn item_reason(field: Field, name: &str, quoted: &str) -> String {
    match field {
        Field::Name => format!("name matches {quoted}"),
        Field::Path => format!("path matches {quoted}"),
        Field::Play => format!("play names match {quoted}"),
        Field::Task => format!("task names match {quoted}"),
        Field::Description => format!("description mentions {quoted}"),
        Field::Service => format!("deploys service {name} (for {quoted})"),
        Field::Role => format!("uses role {name} (for {quoted})"),
        Field::Image => format!("runs image {name} (for {quoted})"),
        Field::Tag => format!("tag {name} (for {quoted})"),
        Field::Host => format!("targets hosts {name} (for {quoted})"),
        Field::Template => format!("renders template {name} (for {quoted})"),
        Field::Variable => format!("reads variable {name} (for {quoted})"),
    }
}

/// Why a candidate does not run where the request says: "its plays run on media, not on gw01".
pub(super) fn elsewhere(candidate: &Candidate<'_>, place: &str) -> String {
    let mut patterns: Vec<&str> = candidate
        .plays()
        .iter()
        .map(|play| play.host_pattern.as_str())
        .filter(|pattern| !pattern.is_empty())
        .collect();
    patterns.dedup();
    let own = patterns.join(", ");
    format!("the request names {place}, but its plays run on {own}: it runs on {own}")
}

/// How a person runs a match: "nas.yml --tags gitea".
pub(super) fn command(found: &PlaybookMatch) -> String {
    let mut command = found.playbook.path.clone();
    if !found.selection.tags.is_empty() {
        command.push_str(&format!(" --tags {}", found.selection.tags.join(",")));
    }
    if !found.selection.limit.is_empty() {
        command.push_str(&format!(" --limit {}", found.selection.limit));
    }
    command
}

/// The advice sentence of an outcome.
pub(super) fn advice(
    task: &str,
    words: &[Token],
    explanations: &[Vec<Explanation>],
    matches: &[PlaybookMatch],
    fits: bool,
    threshold: f64,
) -> String {
    let task = task.trim();
    if let (true, Some(best)) = (fits, matches.first()) {
        let mut advice = format!("use {} (confidence {:.2})", command(best), best.confidence);
        if let Some(second) = matches.get(1).filter(|second| {
            second.confidence >= threshold && best.confidence - second.confidence < 0.1
        }) {
            advice.push_str(&format!(
                "; {} is almost as likely ({:.2}), check which one you mean",
                command(second),
                second.confidence
            ));
        }
        return advice;
    }
    let mut advice = format!("no playbook fits \"{task}\"");
    match matches.first() {
        Some(best) => advice.push_str(&format!(
            "; the closest is {} with confidence {:.2}, below the {threshold:.2} needed",
            command(best),
            best.confidence
        )),
        None if explanations.is_empty() => advice.push_str("; the catalog is empty"),
        None => {}
    }
    advice.push_str("; ");
    advice.push_str(&what_to_write(words, explanations));
    advice
}

/// What to create instead: "generate a template for deploying Minecraft server" when the task
/// asks to deploy something, else a playbook for what it asks ("write a playbook for upgrading
/// the kernel").
pub(super) fn what_to_write(words: &[Token], explanations: &[Vec<Explanation>]) -> String {
    let explained_anywhere = |position: usize| {
        explanations
            .iter()
            .any(|candidate| candidate[position].strength > 0.0)
    };
    let action = words.iter().find(|word| word.class == WordClass::Action);
    let things: Vec<&Token> = words
        .iter()
        .filter(|word| word.class != WordClass::Action)
        .collect();
    // Name what the catalog does not know ("minecraft server"); when it knows every word (as in
    // "remove uptime kuma"), the words themselves.
    let unknown: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(position, word)| {
            word.class == WordClass::Object && !explained_anywhere(*position)
        })
        .map(|(_, word)| word.surface.as_str())
        .collect();
    let subject = if unknown.is_empty() {
        things
            .iter()
            .map(|word| word.surface.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        unknown.join(" ")
    };
    let subject = if subject.is_empty() {
        "it".to_owned()
    } else {
        subject
    };
    match action {
        Some(action) if action.is("deploy") => {
            format!("{} {subject}", super::TEMPLATE_OFFER)
        }
        Some(action) => format!(
            "write a playbook for {} {subject} and add it to the repository",
            gerund(action)
        ),
        None => format!("write a playbook for {subject} and add it to the repository"),
    }
}

/// "restore" → "restoring", "back up" → "backing up", "set up" → "setting up".
fn gerund(action: &Token) -> String {
    let lower = action.surface.to_lowercase();
    let (verb, rest) = match lower.split_once(' ') {
        Some((verb, rest)) => (verb.to_owned(), format!(" {rest}")),
        None => (lower.clone(), String::new()),
    };
    if verb.ends_with("ing") {
        return lower;
    }
    let base = match verb.strip_suffix('e') {
        Some(base) if !verb.ends_with("ee") => base.to_owned(),
        _ => verb.clone(),
    };
    let short_cvc = {
        let chars: Vec<char> = base.chars().collect();
        let vowel = |c: char| "aeiou".contains(c);
        chars.len() == 3
            && !vowel(chars[0])
            && vowel(chars[1])
            && !vowel(chars[2])
            && !"wxy".contains(chars[2])
    };
    if short_cvc {
        format!("{base}{}ing{rest}", &base[base.len() - 1..])
    } else {
        format!("{base}ing{rest}")
    }
}
