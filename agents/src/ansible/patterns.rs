//! Ansible host patterns resolved against an inventory, the way `ansible-playbook` selects a
//! play's hosts (`InventoryManager` of ansible-core): terms separated by ',' (or ':' when there
//! is no ','), each a group name, a host name or a shell glob (`*`, `?`, `[abc]`, `[!abc]`) over
//! both; `all` and `*` are every host; the union of the plain terms is taken first, then each
//! `&term` intersects it and each `!term` removes from it, whatever their order in the pattern;
//! a pattern of only `&`/`!` terms starts from `all`; `localhost` (and `127.0.0.1`, `::1`) is the
//! implicit local host when the inventory does not name it.
//!
//! What cannot be known before the playbook runs is left unresolved with the reason: Jinja
//! expressions, regular expressions (`~…`) and subscripts (`group[0]`, which depend on the
//! order of the inventory).

use chiffon_proto::v1::{Inventory, PlayTargets};
use std::collections::{BTreeMap, BTreeSet};

/// Names Ansible treats as the implicit local host.
const LOCALHOST_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// The group holding every host.
const ALL: &str = "all";

/// What `pattern` selects in `inventory`.
pub fn resolve_targets(pattern: &str, inventory: &Inventory) -> PlayTargets {
    let mut targets = PlayTargets {
        inventory: inventory.name.clone(),
        ..PlayTargets::default()
    };
    if !inventory.error.is_empty() {
        targets.unresolved_reason = format!("the inventory {} cannot be read", inventory.name);
        return targets;
    }
    match resolve(pattern, &InventoryIndex::new(inventory)) {
        Ok(selection) => {
            targets.groups = selection.groups.into_iter().collect();
            targets.hosts = selection.hosts.into_iter().collect();
        }
        Err(reason) => targets.unresolved_reason = reason,
    }
    targets
}

/// The hosts and groups of one inventory, by name.
struct InventoryIndex<'a> {
    /// Every host of every group, by group name.
    groups: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// Every host.
    hosts: BTreeSet<&'a str>,
}

impl<'a> InventoryIndex<'a> {
    fn new(inventory: &'a Inventory) -> Self {
        let groups: BTreeMap<&str, BTreeSet<&str>> = inventory
            .groups
            .iter()
            .map(|group| {
                (
                    group.name.as_str(),
                    group.hosts.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        let hosts = groups.values().flatten().copied().collect();
        Self { groups, hosts }
    }
}

/// A resolved pattern.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Groups the plain and `&` terms name (`all` alone when they name every group).
    pub(crate) groups: BTreeSet<String>,
    /// The hosts selected.
    pub(crate) hosts: BTreeSet<String>,
}

/// Resolves `pattern` over `index`, or says why it cannot be resolved before the play runs.
fn resolve(pattern: &str, index: &InventoryIndex<'_>) -> Result<Selection, String> {
    if pattern.contains("{{") || pattern.contains("{%") {
        return Err(
            "the pattern is a Jinja expression, so its hosts are known only when the playbook runs"
                .to_owned(),
        );
    }
    let terms = split_terms(pattern);
    if terms.is_empty() {
        return Err("the play names no hosts".to_owned());
    }
    for term in &terms {
        let bare = term.trim_start_matches(['&', '!']);
        if bare.starts_with('~') {
            return Err(format!(
                "the term {term:?} is a regular expression, which Chiffon does not evaluate"
            ));
        }
        if has_subscript(bare) {
            return Err(format!(
                "the term {term:?} picks hosts by their position in the inventory"
            ));
        }
    }

    let (mut plain, mut intersections, mut exclusions) = (Vec::new(), Vec::new(), Vec::new());
    for term in &terms {
        if let Some(term) = term.strip_prefix('&') {
            intersections.push(term);
        } else if let Some(term) = term.strip_prefix('!') {
            exclusions.push(term);
        } else {
            plain.push(term.as_str());
        }
    }
    if plain.is_empty() {
        plain.push(ALL);
    }

    let mut selection = Selection::default();
    let mut hosts: BTreeSet<&str> = BTreeSet::new();
    for term in &plain {
        let matched = match_term(term, index);
        hosts.extend(&matched.hosts);
        selection.groups.extend(matched.groups);
    }
    for term in &intersections {
        let matched = match_term(term, index);
        hosts.retain(|host| matched.hosts.contains(host));
        selection.groups.extend(matched.groups);
    }
    for term in &exclusions {
        let matched = match_term(term, index);
        hosts.retain(|host| !matched.hosts.contains(host));
    }
    if selection.groups.contains(ALL) {
        selection.groups = BTreeSet::from([ALL.to_owned()]);
    }
    selection.hosts = hosts.into_iter().map(str::to_owned).collect();
    Ok(selection)
}

/// What one term (without its `&`/`!`) matches.
struct TermMatch<'a> {
    groups: Vec<String>,
    hosts: BTreeSet<&'a str>,
}

/// Ansible's `_evaluate_patterns` / `_enumerate_matches` for one term: a host of that exact
/// name wins; else the groups it matches (exactly or as a glob) give their hosts, and hosts
/// whose names it matches are added when it matched no group or looks like a glob or a
/// domain name; the implicit local host answers for `localhost` when nothing else does.
fn match_term<'a>(term: &str, index: &InventoryIndex<'a>) -> TermMatch<'a> {
    if let Some(host) = index.hosts.get(term) {
        return TermMatch {
            groups: Vec::new(),
            hosts: BTreeSet::from([*host]),
        };
    }
    let mut groups = Vec::new();
    let mut hosts = BTreeSet::new();
    for (group, members) in &index.groups {
        if glob_matches(term, group) {
            groups.push((*group).to_owned());
            hosts.extend(members);
        }
    }
    if groups.is_empty() || term.contains(['.', '?', '*', '[']) {
        hosts.extend(index.hosts.iter().filter(|host| glob_matches(term, host)));
    }
    if hosts.is_empty()
        && groups.is_empty()
        && let Some(local) = LOCALHOST_NAMES.iter().copied().find(|name| *name == term)
    {
        hosts.insert(local);
    }
    TermMatch { groups, hosts }
}

/// Ansible's `split_host_pattern`: on ',' when there is one, else on ':' outside brackets
/// (IPv6 addresses aside); whitespace around terms is dropped.
fn split_terms(pattern: &str) -> Vec<String> {
    let terms: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_owned).collect()
    } else if is_ipv6_address(pattern.trim()) {
        vec![pattern.to_owned()]
    } else {
        let mut terms = Vec::new();
        let mut current = String::new();
        let mut in_brackets = false;
        for c in pattern.chars() {
            match c {
                '[' => {
                    in_brackets = true;
                    current.push(c);
                }
                ']' => {
                    in_brackets = false;
                    current.push(c);
                }
                ':' if !in_brackets => terms.push(std::mem::take(&mut current)),
                c if c.is_whitespace() && !in_brackets => terms.push(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }
        terms.push(current);
        terms
    };
    terms
        .into_iter()
        .map(|term| term.trim().to_owned())
        .filter(|term| !term.is_empty())
        .collect()
}

/// A bare IPv6 address such as `::1` or `fe80::1`, which ':' must not split.
fn is_ipv6_address(text: &str) -> bool {
    text.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `name[3]`, `name[-1]`, `name[1:5]` or `name[2-]`: a subscript selecting hosts by position
/// (Ansible's `pattern_with_subscript`); other brackets are glob sets.
fn has_subscript(term: &str) -> bool {
    let Some((base, inside)) = term
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
    else {
        return false;
    };
    let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
    let index = digits(inside.strip_prefix('-').unwrap_or(inside));
    let range = inside
        .split_once([':', '-'])
        .is_some_and(|(start, end)| digits(start) && (end.is_empty() || digits(end)));
    !base.is_empty() && (index || range)
}

/// Python's `fnmatch` (case-sensitive, as Ansible compiles it): `*` any text, `?` one
/// character, `[abc]` / `[a-z]` one of a set, `[!abc]` one not in it; anything else itself.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob_from(&pattern, &name)
}

fn glob_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| glob_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && glob_from(&pattern[1..], &name[1..]),
        Some('[') => match character_class(&pattern[1..]) {
            Some((matches, rest)) => {
                name.first().is_some_and(|c| matches(*c)) && glob_from(rest, &name[1..])
            }
            // An unclosed '[' is an ordinary character.
            None => name.first() == Some(&'[') && glob_from(&pattern[1..], &name[1..]),
        },
        Some(literal) => name.first() == Some(literal) && glob_from(&pattern[1..], &name[1..]),
    }
}

/// The set after a '[': a test for a character and the rest of the pattern after its ']'.
fn character_class(pattern: &[char]) -> Option<(impl Fn(char) -> bool + '_, &[char])> {
    let (negated, body_start) = match pattern.first() {
        Some('!') => (true, 1),
        _ => (false, 0),
    };
    // A ']' right at the start belongs to the set, as in Python.
    let close = pattern
        .iter()
        .enumerate()
        .skip(body_start + 1)
        .find(|(_, c)| **c == ']')
        .map(|(i, _)| i)?;
    let body = &pattern[body_start..close];
    let test = move |c: char| {
        let mut i = 0;
        let mut found = false;
        while i < body.len() {
            if i + 2 < body.len() && body[i + 1] == '-' {
                found |= body[i] <= c && c <= body[i + 2];
                i += 3;
            } else {
                found |= body[i] == c;
                i += 1;
            }
        }
        found != negated
    };
    Some((test, &pattern[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chiffon_proto::v1::InventoryGroup;

    /// all: web (web1, web2), db (db1, db2.lab), prod (children web, db1's db), stage (web2),
    /// ungrouped (lonely); `web` is also the name of no host.
    fn inventory() -> Inventory {
        let group = |name: &str, hosts: &[&str]| InventoryGroup {
            name: name.to_owned(),
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            children: Vec::new(),
        };
        Inventory {
            name: "lab".into(),
            groups: vec![
                group("all", &["db1", "db2.lab", "lonely", "web1", "web2"]),
                group("db", &["db1", "db2.lab"]),
                group("prod", &["db1", "db2.lab", "web1", "web2"]),
                group("stage", &["web2"]),
                group("ungrouped", &["lonely"]),
                group("web", &["web1", "web2"]),
                group("db1", &["web1"]),
            ],
            ..Inventory::default()
        }
    }

    fn hosts(pattern: &str) -> Vec<String> {
        let targets = resolve_targets(pattern, &inventory());
        assert_eq!(targets.unresolved_reason, "", "{pattern}");
        targets.hosts
    }

    fn groups(pattern: &str) -> Vec<String> {
        resolve_targets(pattern, &inventory()).groups
    }

    #[test]
    fn names_globs_and_all() {
        assert_eq!(hosts("web"), ["web1", "web2"]);
        assert_eq!(groups("web"), ["web"]);
        assert_eq!(hosts("all"), ["db1", "db2.lab", "lonely", "web1", "web2"]);
        assert_eq!(hosts("*"), hosts("all"));
        assert_eq!(groups("*"), ["all"]);
        assert_eq!(hosts("lonely"), ["lonely"]);
        assert!(groups("lonely").is_empty());
        // A host of the name wins over a group of the same name, as in Ansible.
        assert_eq!(hosts("db1"), ["db1"]);
        assert_eq!(hosts("web?"), ["web1", "web2"]);
        assert_eq!(hosts("*.lab"), ["db2.lab"]);
        assert_eq!(hosts("w*"), ["web1", "web2"]);
        assert_eq!(hosts("web[a12]"), ["web1", "web2"]);
        assert_eq!(hosts("web[!1]"), ["web2"]);
        assert!(hosts("nothing").is_empty());
        assert!(hosts("WEB").is_empty(), "case matters");
    }

    #[test]
    fn unions_then_intersections_then_exclusions() {
        assert_eq!(hosts("web,db"), ["db1", "db2.lab", "web1", "web2"]);
        assert_eq!(hosts("web:db"), hosts("web,db"));
        assert_eq!(hosts(" web , lonely "), ["lonely", "web1", "web2"]);
        assert_eq!(hosts("prod:&web"), ["web1", "web2"]);
        assert_eq!(hosts("prod:!web"), ["db1", "db2.lab"]);
        // Order does not matter: exclusions come last, after every union.
        assert_eq!(hosts("!stage:web"), ["web1"]);
        assert_eq!(hosts("web:!stage:lonely"), ["lonely", "web1"]);
        assert_eq!(hosts("!web"), ["db1", "db2.lab", "lonely"]);
        assert_eq!(hosts("&db"), ["db1", "db2.lab"]);
        assert_eq!(groups("prod:&web:!stage"), ["prod", "web"]);
        assert_eq!(hosts("prod:&web:!stage"), ["web1"]);
    }

    #[test]
    fn localhost_is_implicit() {
        assert_eq!(hosts("localhost"), ["localhost"]);
        assert_eq!(hosts("127.0.0.1"), ["127.0.0.1"]);
        assert_eq!(hosts("::1"), ["::1"]);
        assert_eq!(hosts("web,localhost"), ["localhost", "web1", "web2"]);
        assert!(!hosts("all").contains(&"localhost".to_owned()));
    }

    #[test]
    fn what_only_the_run_knows_stays_unresolved() {
        for (pattern, reason) in [
            ("{{ target }}", "Jinja"),
            ("web:{{ extra }}", "Jinja"),
            ("~web\\d", "regular expression"),
            ("web:!~db.*", "regular expression"),
            ("web[0]", "position"),
            ("web[0:1]", "position"),
            ("web[-1]", "position"),
            ("web[12]", "position"),
            ("web[1-]", "position"),
            ("", "no hosts"),
        ] {
            let targets = resolve_targets(pattern, &inventory());
            assert!(
                targets.unresolved_reason.contains(reason),
                "{pattern}: {}",
                targets.unresolved_reason
            );
            assert!(targets.hosts.is_empty());
            assert_eq!(targets.inventory, "lab");
        }
        let broken = Inventory {
            name: "broken".into(),
            error: "cannot parse".into(),
            ..Inventory::default()
        };
        assert_eq!(
            resolve_targets("all", &broken).unresolved_reason,
            "the inventory broken cannot be read"
        );
    }

    #[test]
    fn globs_follow_fnmatch() {
        for (pattern, name, expected) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[!a-c]x", "dx", true),
            ("[]]", "]", true),
            ("[x", "[x", true),
            ("web.lab", "web.lab", true),
            ("web.lab", "webxlab", false),
        ] {
            assert_eq!(glob_matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }
}
