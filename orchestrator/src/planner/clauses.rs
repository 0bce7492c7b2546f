//! Cutting a request into the pieces of work it names, as people write them: "deploy Gitea, back
//! it up nightly and rotate the certs afterwards" is three. Every piece is kept, even one nothing
//! in the catalog does, so a plan never silently drops work.
//!
//! Two things people leave out are filled in from the piece before: the action ("install sonarr
//! and radarr" installs both) and what a pronoun stands for ("back *it* up"). The planner tries a
//! piece both with and without the pronoun's referent, because "back it up" usually means "run
//! the backup" rather than "something about Gitea".

use crate::mapping;

/// Separators between pieces of work, tried in this order.
const SEPARATORS: &[&str] = &[
    ";",
    ",",
    ". ",
    " and then ",
    " and afterwards ",
    " afterwards ",
    " then ",
    " and also ",
    " also ",
    " and ",
    " plus ",
    " as well as ",
];

/// Pronouns that refer back to what the piece before was about.
const POSSESSIVES: &[&str] = &["its", "their"];
const PRONOUNS: &[&str] = &["it", "them", "this", "that"];

/// Particles of phrasal verbs a pronoun may sit inside: "back it up", "tear them down".
const PARTICLES: &[&str] = &["up", "down", "out", "off", "over", "on", "in"];

/// One piece of work of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Clause {
    /// The piece as written, trimmed, with its action filled in when it had none.
    pub text: String,
    /// True when the piece refers back to what the piece before was about.
    pub refers_back: bool,
}

impl Clause {
    /// A piece doing this piece's action to `object` alone ("set up lidarr with prowlarr" →
    /// "set up lidarr").
    pub fn with_object(&self, object: &str) -> Clause {
        let action = mapping::leading_action(&self.resolved(None)).unwrap_or_default();
        Clause {
            text: format!("{action} {object}").trim().to_owned(),
            refers_back: false,
        }
    }

    /// The piece with its pronouns replaced by `subject` ("back up gitea nightly"), or without
    /// them ("back up nightly") when there is no subject. Phrasal verbs are put back together
    /// first, so "back it up" still reads as "back up".
    pub fn resolved(&self, subject: Option<&str>) -> String {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|word| bare(word)).collect();
        let mut out: Vec<String> = Vec::with_capacity(words.len());
        let mut index = 0;
        while index < words.len() {
            let word = lower[index].as_str();
            let pronoun = PRONOUNS.contains(&word);
            if pronoun
                && index > 0
                && lower
                    .get(index + 1)
                    .is_some_and(|next| PARTICLES.contains(&next.as_str()))
            {
                // "back it up" → "back up it".
                out.push(words[index + 1].to_owned());
                out.extend(subject.map(str::to_owned));
                index += 2;
                continue;
            }
            if pronoun {
                out.extend(subject.map(str::to_owned));
            } else if POSSESSIVES.contains(&word) {
                out.extend(subject.map(|subject| format!("{subject}'s")));
            } else {
                out.push(words[index].to_owned());
            }
            index += 1;
        }
        out.join(" ")
    }
}

/// The pieces of work `text` names, in order, without ones that have no content words at all.
pub(super) fn clauses(text: &str) -> Vec<Clause> {
    let mut parts = vec![text.to_owned()];
    for separator in SEPARATORS {
        parts = parts
            .iter()
            .flat_map(|part| split_ignoring_case(part, separator))
            .collect();
    }
    let mut clauses: Vec<Clause> = Vec::new();
    let mut action: Option<String> = None;
    for part in parts {
        let part = part
            .trim()
            .trim_end_matches(['.', '!', '?'])
            .trim()
            .to_owned();
        if mapping::content_stems(&part).is_empty() && !mentions_pronoun(&part) {
            continue;
        }
        let refers_back = mentions_pronoun(&part);
        // Read with phrasal verbs put back together: "back it up" does name an action.
        let as_read = Clause {
            text: part.clone(),
            refers_back,
        }
        .resolved(None);
        let own_action = mapping::leading_action(&as_read);
        let text = match (&own_action, &action) {
            (None, Some(previous)) => format!("{previous} {part}"),
            _ => part.clone(),
        };
        if own_action.is_some() {
            action = own_action;
        }
        clauses.push(Clause { text, refers_back });
    }
    clauses
}

fn mentions_pronoun(text: &str) -> bool {
    text.split_whitespace()
        .map(bare)
        .any(|word| PRONOUNS.contains(&word.as_str()) || POSSESSIVES.contains(&word.as_str()))
}

/// A word without surrounding punctuation, lower-cased.
fn bare(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// `text` split at every `separator`, compared without regard to case.
fn split_ignoring_case(text: &str, separator: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    // Lower-casing may change byte lengths outside ASCII; then split as written.
    if lower.len() != text.len() {
        return text.split(separator).map(str::to_owned).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for (at, _) in lower.match_indices(separator) {
        if at < start {
            continue;
        }
        parts.push(text[start..at].to_owned());
        start = at + separator.len();
    }
    parts.push(text[start..].to_owned());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        clauses(text)
            .into_iter()
            .map(|clause| clause.text)
            .collect()
    }

    #[test]
    fn compound_requests_keep_every_piece() {
        assert_eq!(
            texts("Deploy Gitea, back it up nightly and rotate the certs afterwards"),
            [
                "Deploy Gitea",
                "back it up nightly",
                "rotate the certs afterwards"
            ]
        );
        assert_eq!(
            texts("install jellyfin and then put it behind the reverse proxy."),
            ["install jellyfin", "put it behind the reverse proxy"]
        );
        assert_eq!(
            texts("Deploy Uptime Kuma to the homelab And add our existing portals to its config"),
            [
                "Deploy Uptime Kuma to the homelab",
                "add our existing portals to its config"
            ]
        );
    }

    #[test]
    fn a_piece_without_an_action_takes_the_one_before() {
        assert_eq!(
            texts("install sonarr and radarr"),
            ["install sonarr", "install radarr"]
        );
        assert_eq!(
            texts("set up sonarr, radarr and prowlarr"),
            ["set up sonarr", "set up radarr", "set up prowlarr"]
        );
    }

    #[test]
    fn pronouns_resolve_to_the_subject_or_drop() {
        let [_, back, rotate] = clauses("Deploy Gitea, back it up nightly and rotate its certs")
            .try_into()
            .expect("three pieces");
        assert!(back.refers_back && rotate.refers_back);
        assert_eq!(back.resolved(Some("gitea")), "back up gitea nightly");
        assert_eq!(back.resolved(None), "back up nightly");
        assert_eq!(rotate.resolved(Some("gitea")), "rotate gitea's certs");
        assert_eq!(rotate.resolved(None), "rotate certs");
    }
}
