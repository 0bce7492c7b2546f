//! What a repository's README says about the things it deploys.
//!
//! Homelab repositories often list their applications in the README, one per line: `*
//! [Gitea](https://gitea.io/) - Simple self-hosted GitHub clone`. Those lines are the best
//! description a role has when its own `meta/main.yml` says nothing, and they hold the words
//! people use ("password manager", "media server") when they do not know the application's name.

use super::Scanner;
use super::source;
use std::collections::BTreeMap;
use std::rc::Rc;

/// File names tried for the README, in order, at the repository root.
const README_NAMES: &[&str] = &[
    "README.md",
    "README.markdown",
    "README.rst",
    "README.txt",
    "README",
    "readme.md",
    "Readme.md",
];

/// Separators between an entry's name and its description.
const SEPARATORS: &[&str] = &[" - ", " – ", " — ", ": "];

/// The entries of a README: list items that name something and say what it is.
#[derive(Debug, Default)]
pub(super) struct Readme {
    entries: Vec<Entry>,
    /// Its sentences without markup, for what names only a tag.
    sentences: Vec<Sentence>,
}

/// A sentence of a README and the heading of its section.
#[derive(Debug)]
struct Sentence {
    heading: String,
    text: String,
}

#[derive(Debug)]
struct Entry {
    /// The name as written, e.g. "Home Assistant".
    name: String,
    /// `name` lower-cased with everything but letters and digits removed.
    key: String,
    /// Keys taken from the entry's link: the site's name (`cloudcmd` of `https://cloudcmd.io/`)
    /// and the last path segment (`vaultwarden` of `https://github.com/dani-garcia/vaultwarden`).
    link_keys: Vec<String>,
    /// What the README says it is, without markup.
    description: String,
}

impl Readme {
    /// Reads the entries of `text`: list items, each with the indented lines that continue it;
    /// and its sentences, each with the heading of its section.
    pub(super) fn parse(text: &str) -> Self {
        // List items with their continuation lines, the other paragraphs as one line each, and
        // the lines of code blocks on their own; all with their section's heading.
        let mut items: Vec<(String, String)> = Vec::new();
        let mut paragraphs: Vec<(String, String)> = Vec::new();
        let mut heading = String::new();
        let (mut in_item, mut in_paragraph, mut in_code) = (false, false, false);
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_code = !in_code;
                (in_item, in_paragraph) = (false, false);
                continue;
            }
            if in_code {
                if !trimmed.is_empty() {
                    paragraphs.push((heading.clone(), trimmed.to_owned()));
                }
                continue;
            }
            if let Some(title) = trimmed.strip_prefix('#') {
                heading = title.trim_start_matches('#').trim().to_owned();
                (in_item, in_paragraph) = (false, false);
                continue;
            }
            let blank = trimmed.is_empty();
            if in_item && !blank && line.starts_with([' ', '\t']) && !is_list_item(line) {
                if let Some((_, item)) = items.last_mut() {
                    item.push(' ');
                    item.push_str(trimmed);
                }
                continue;
            }
            in_item = is_list_item(line);
            if in_item {
                items.push((heading.clone(), line.to_owned()));
                in_paragraph = false;
            } else if blank {
                in_paragraph = false;
            } else if in_paragraph {
                if let Some((_, paragraph)) = paragraphs.last_mut() {
                    paragraph.push(' ');
                    paragraph.push_str(trimmed);
                }
            } else {
                paragraphs.push((heading.clone(), trimmed.to_owned()));
                in_paragraph = true;
            }
        }
        let mut entries: Vec<Entry> = items.iter().filter_map(|(_, item)| entry(item)).collect();
        // A site several entries link to (`github.com`) hosts many projects, and the README's
        // own project's site (`ansible-nas.io` under "# Ansible NAS") hosts its documentation:
        // their names say nothing about any one entry.
        let mut linked: BTreeMap<String, usize> = BTreeMap::new();
        for entry in &entries {
            for link in &entry.link_keys {
                *linked.entry(link.clone()).or_default() += 1;
            }
        }
        let project = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("# "))
            .map(key)
            .unwrap_or_default();
        for entry in &mut entries {
            entry
                .link_keys
                .retain(|link| linked.get(link) == Some(&1) && *link != project);
        }
        let sentences = items
            .iter()
            .chain(&paragraphs)
            .flat_map(|(heading, text)| text.split(". ").map(move |part| (heading, part)))
            .map(|(heading, sentence)| Sentence {
                heading: plain(heading),
                text: plain(sentence.trim()),
            })
            .filter(|sentence| sentence.text.split_whitespace().count() >= 3)
            .collect();
        Self { entries, sentences }
    }

    /// What the README says where it names `tag` as a tag (`` `backup_now` `` or `--tags
    /// backup_now`), for a part that only a tag names: the first few such sentences, each under
    /// its section's heading ("Putting a new service behind the proxy: …").
    pub(super) fn mentioning_tag(&self, tag: &str) -> Option<String> {
        const MOST: usize = 3;
        if tag.len() < 3 {
            return None;
        }
        let said: Vec<String> = self
            .sentences
            .iter()
            .filter(|sentence| names_word(&sentence.text, tag))
            .take(MOST)
            .map(|sentence| {
                if sentence.heading.is_empty() {
                    sentence.text.clone()
                } else {
                    format!("{}: {}", sentence.heading, sentence.text)
                }
            })
            .collect();
        (!said.is_empty()).then(|| said.join(" "))
    }

    /// The README's line about the first of `names` (a part's name, its roles, its services)
    /// that an entry is about, as "Name: description".
    /// An entry's name says most, then its link, then a mention of "the X role" in its text.
    pub(super) fn describe(&self, names: &[&str]) -> Option<String> {
        let wanted: Vec<String> = names
            .iter()
            .map(|name| key(name))
            .filter(|key| key.len() >= 3)
            .collect();
        let by_name = |entry: &&Entry| wanted.contains(&entry.key);
        let by_link = |entry: &&Entry| entry.link_keys.iter().any(|link| wanted.contains(link));
        let by_mention = |entry: &&Entry| {
            let words = format!(" {} ", key_words(&entry.description));
            wanted
                .iter()
                .any(|name| words.contains(&format!(" {name} role ")))
        };
        let found = self
            .entries
            .iter()
            .find(by_name)
            .or_else(|| self.entries.iter().find(by_link))
            .or_else(|| self.entries.iter().find(by_mention))?;
        Some(format!("{}: {}", found.name, found.description))
    }
}

/// `text` without its sentences (or clauses after a semicolon) that name one of `tags` as a
/// word: what they say is about the part those tags select.
pub(super) fn without_sentences_naming(text: &str, tags: &[&str]) -> String {
    if tags.is_empty() {
        return text.to_owned();
    }
    // A sentence ends at ". " or "; ", not at the dot of "home.lan".
    let mut sentences = Vec::new();
    let mut start = 0;
    for (index, c) in text.char_indices() {
        if matches!(c, '.' | ';') && text[index + 1..].starts_with(' ') {
            sentences.push(&text[start..=index]);
            start = index + 1;
        }
    }
    sentences.push(&text[start..]);
    sentences
        .into_iter()
        .filter(|sentence| !tags.iter().any(|tag| names_word(sentence, tag)))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `text` holds `word` as a word of its own, not as part of a longer one
/// (`backup_now` in "`--tags backup_now` runs …", not in "backup_nowhere"); a word may hold
/// dots (`healthchecks.io`) but not end a sentence with one.
fn names_word(text: &str, word: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';'))
        .any(|candidate| candidate.trim_end_matches(['.', ':']) == word)
}

impl Scanner {
    /// The repository's README, read once per scan; empty when there is none.
    pub(super) fn readme(&mut self) -> Rc<Readme> {
        if let Some(readme) = &self.readme {
            return Rc::clone(readme);
        }
        let readme = README_NAMES
            .iter()
            .map(|name| self.repo.root.join(name))
            .find(|path| path.is_file())
            .and_then(|path| source::read_text(&path, "README").ok())
            .map(|text| Readme::parse(&text))
            .unwrap_or_default();
        let readme = Rc::new(readme);
        self.readme = Some(Rc::clone(&readme));
        readme
    }
}

/// The text of a Markdown list item after its marker; `None` for other lines.
fn list_item(line: &str) -> Option<&str> {
    let item = line.trim_start();
    item.strip_prefix("* ")
        .or_else(|| item.strip_prefix("- "))
        .or_else(|| item.strip_prefix("+ "))
        .or_else(|| {
            let digits = item.find(|c: char| !c.is_ascii_digit())?;
            (digits > 0).then(|| item[digits..].strip_prefix(". "))?
        })
}

fn is_list_item(line: &str) -> bool {
    list_item(line).is_some()
}

/// The entry a README list item holds, when it has a name and a description.
fn entry(line: &str) -> Option<Entry> {
    let item = list_item(line)?.trim();
    let (name, url, rest) = if let Some(linked) = item.strip_prefix('[') {
        let (name, after) = linked.split_once(']')?;
        let (url, rest) = match after.strip_prefix('(') {
            Some(link) => {
                let (url, rest) = link.split_once(')')?;
                (url, rest)
            }
            None => ("", after),
        };
        (name.trim(), url, rest)
    } else if let Some(bold) = item.strip_prefix("**") {
        let (name, rest) = bold.split_once("**")?;
        (name.trim(), "", rest)
    } else {
        let (name, rest) = SEPARATORS
            .iter()
            .filter_map(|separator| item.split_once(separator))
            .min_by_key(|(name, _)| name.len())?;
        (name.trim(), "", rest)
    };
    let description = plain(
        rest.trim()
            .trim_start_matches(['-', '–', '—', ':'])
            .trim_start(),
    );
    let key = key(name);
    if key.is_empty() || description.is_empty() || name.split_whitespace().count() > 6 {
        return None;
    }
    Some(Entry {
        name: plain(name),
        key,
        link_keys: link_keys(url),
        description,
    })
}

/// Keys of a link: the site name of a project's own domain (`cloudcmd` of `cloudcmd.io`,
/// skipping `www`) and the last path segment.
fn link_keys(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let labels: Vec<&str> = host.split('.').filter(|label| *label != "www").collect();
    let mut keys = Vec::new();
    // `cloudcmd.io` is the project's own site; `hub.docker.com` hosts many projects.
    if let [site, _tld] = labels.as_slice() {
        keys.push(key(site));
    }
    if let Some(segment) = path
        .split(['/', '?', '#'])
        .rfind(|segment| !segment.is_empty())
    {
        keys.push(key(segment));
    }
    keys.retain(|key| key.len() >= 3);
    keys
}

/// Lower-case letters and digits only: "Home Assistant" and "homeassistant" agree.
fn key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Words of `text` as keys, joined by spaces.
fn key_words(text: &str) -> String {
    text.split_whitespace()
        .map(key)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` without Markdown links' targets, bold and code marks.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once("](") {
            Some((label, link)) if !label.contains('[') => {
                out.push_str(label);
                rest = link.split_once(')').map_or("", |(_, tail)| tail);
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // `_` stays: it is part of names (`caddy_sites`) far more often than emphasis.
    out.replace(['*', '`'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "\
# My NAS

Some intro: not an entry.

* [Bitwarden](https://github.com/dani-garcia/vaultwarden) - Password Manger (Technically Vaultwarden)
* [Cloud Commander](https://cloudcmd.io/) - A dual panel file manager
* [Grafana](https://grafana.com/) - Query and visualise your data (via stats role).
* [Home Assistant](https://www.home-assistant.io) - Open source home automation
- **Jellyfin** – the *Free* Software Media System
1. Restic: nightly backups to the NAS
- **caddy** (`caddy`, `proxy`) - the reverse proxy. Every service has a site block
  generated from `caddy_sites` (tag `caddy_sites` to publish sites on their own).

## Running it

Run `ansible-playbook site.yml --tags backup_now` to back up right away.
";

    #[test]
    fn list_items_describe_what_they_name() {
        let readme = Readme::parse(README);
        let said = |name: &str| readme.describe(&[name]);
        assert_eq!(
            said("bitwarden").as_deref(),
            Some("Bitwarden: Password Manger (Technically Vaultwarden)")
        );
        assert_eq!(
            said("homeassistant").as_deref(),
            Some("Home Assistant: Open source home automation")
        );
        assert_eq!(
            said("jellyfin").as_deref(),
            Some("Jellyfin: the Free Software Media System")
        );
        assert_eq!(
            said("restic").as_deref(),
            Some("Restic: nightly backups to the NAS")
        );
    }

    #[test]
    fn the_projects_own_site_and_shared_hosts_name_no_entry() {
        let readme = Readme::parse(
            "# My NAS\n\n\
             * [Logging](https://my-nas.io/docs/stacks/logging/) - log capture and search\n\
             * [Gitea](https://github.com/go-gitea/gitea) - a git forge\n\
             * [Forgejo](https://github.com/forgejo/forgejo) - another git forge\n",
        );
        // "my-nas" is the project, not its Logging stack; github.com hosts both forges.
        assert_eq!(readme.describe(&["my-nas"]), None);
        assert_eq!(readme.describe(&["github"]), None);
        assert!(
            readme
                .describe(&["logging"])
                .is_some_and(|said| said.starts_with("Logging"))
        );
        assert!(
            readme
                .describe(&["go-gitea", "gitea"])
                .is_some_and(|said| said.starts_with("Gitea"))
        );
    }

    #[test]
    fn links_and_role_mentions_name_roles_too() {
        let readme = Readme::parse(README);
        assert!(
            readme
                .describe(&["cloudcmd"])
                .is_some_and(|d| d.starts_with("Cloud Commander"))
        );
        assert!(
            readme
                .describe(&["vaultwarden"])
                .is_some_and(|d| d.starts_with("Bitwarden"))
        );
        assert!(
            readme
                .describe(&["stats"])
                .is_some_and(|d| d.starts_with("Grafana"))
        );
    }

    #[test]
    fn items_continue_on_indented_lines_and_sentences_name_tags() {
        let readme = Readme::parse(README);
        let caddy = readme.describe(&["caddy"]).expect("caddy is described");
        assert!(
            caddy.ends_with("to publish sites on their own)."),
            "{caddy}"
        );
        assert_eq!(
            readme.mentioning_tag("backup_now").as_deref(),
            Some(
                "Running it: Run ansible-playbook site.yml --tags backup_now to back up right away."
            )
        );
        assert_eq!(readme.mentioning_tag("nothing_here"), None);
    }

    #[test]
    fn sentences_naming_another_parts_tag_are_left_to_it() {
        let text = "nightly backups to the USB disk. Installs the script; `--tags backup_now` \
                    runs a backup right away. See home.lan for more";
        assert_eq!(
            without_sentences_naming(&plain(text), &["backup_now"]),
            "nightly backups to the USB disk. Installs the script; See home.lan for more"
        );
        assert_eq!(without_sentences_naming(text, &[]), text);
        assert!(names_word(
            "then run --tags healthchecks.io.",
            "healthchecks.io"
        ));
        assert!(!names_word("see backup_nowhere", "backup_now"));
    }

    #[test]
    fn unknown_names_and_prose_say_nothing() {
        let readme = Readme::parse(README);
        assert_eq!(readme.describe(&["gitea"]), None);
        assert_eq!(readme.describe(&["intro"]), None);
        assert_eq!(readme.describe(&["my"]), None);
    }
}
