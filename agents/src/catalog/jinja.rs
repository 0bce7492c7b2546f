//! Just enough Jinja to index a repository: which variables a template or an Ansible string
//! reads, how to set Jinja aside so a templated YAML file (a compose template) can be parsed, and
//! how to fill in a plain `{{ name }}` from a known default.
//!
//! This is not a Jinja parser. It tokenises expressions well enough to tell a variable from an
//! attribute (`a.b`), a filter (`| default`), a test (`is defined`), a keyword argument
//! (`attribute='x'`), a function call (`lookup(...)`) and a string literal, which is all the
//! catalog needs.

use std::collections::BTreeSet;

/// Names Ansible or Jinja provide: they are never something a playbook's user must set.
const MAGIC: &[&str] = &[
    "environment",
    "group_names",
    "groups",
    "hostvars",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "item",
    "omit",
    "play_hosts",
    "playbook_dir",
    "role_name",
    "role_names",
    "role_path",
    "vars",
    // Jinja's own names.
    "caller",
    "cycler",
    "dict",
    "joiner",
    "kwargs",
    "lipsum",
    "loop",
    "namespace",
    "range",
    "self",
    "super",
    "varargs",
    // Ansible's Jinja globals.
    "lookup",
    "now",
    "q",
    "query",
    "undef",
];

/// Jinja keywords and literals that look like names.
const KEYWORDS: &[&str] = &[
    "and",
    "else",
    "false",
    "False",
    "for",
    "if",
    "in",
    "is",
    "none",
    "None",
    "not",
    "or",
    "recursive",
    "true",
    "True",
];

/// True for names Ansible or Jinja define: magic variables, facts and connection variables (all
/// of which start with `ansible_`), loop helpers and Jinja globals.
pub(super) fn is_magic(name: &str) -> bool {
    name.starts_with("ansible_") || MAGIC.contains(&name)
}

/// True when `text` contains a Jinja expression, statement or comment.
pub(super) fn has_jinja(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// A Jinja tag that is opened but never closed, at its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unclosed {
    /// Line of the opening delimiter.
    pub line: usize,
    /// The delimiter, e.g. `{{`.
    pub opener: &'static str,
}

/// Variables a template (a `.j2` file, or any Ansible string) reads, without the names it
/// defines itself (`{% for x in … %}`, `{% set x = … %}`, macro parameters). Magic names are
/// kept; callers drop them with [`is_magic`] when they want user variables only.
pub(super) fn template_refs(text: &str, refs: &mut BTreeSet<String>) -> Result<(), Unclosed> {
    let mut locals = BTreeSet::new();
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(offset) = text[rest..].find('{') {
        let open = rest + offset;
        let after = open + 2;
        let kind = text.get(open..after);
        let (closer, statement) = match kind {
            Some("{{") => ("}}", false),
            Some("{%") => ("%}", true),
            Some("{#") => {
                let end = text[after..]
                    .find("#}")
                    .ok_or_else(|| unclosed(text, open, "{#"))?;
                rest = after + end + 2;
                continue;
            }
            _ => {
                rest = open + 1;
                continue;
            }
        };
        let end = find_close(text, after, closer)
            .ok_or_else(|| unclosed(text, open, if statement { "{%" } else { "{{" }))?;
        let inner = trim_whitespace_control(&text[after..end]);
        rest = end + 2;
        if !statement {
            expression_names(inner, &mut found);
            continue;
        }
        let keyword = inner.split_whitespace().next().unwrap_or_default();
        let body = &inner[keyword.len()..];
        match keyword {
            "raw" => {
                // Everything up to `{% endraw %}` is literal text.
                rest = text[rest..]
                    .find("endraw")
                    .and_then(|at| {
                        text[rest + at..]
                            .find("%}")
                            .map(|close| rest + at + close + 2)
                    })
                    .unwrap_or(text.len());
            }
            "for" => {
                let (targets, source) = split_word(body, "in").unwrap_or((body, ""));
                names_in(targets, &mut locals);
                expression_names(source, &mut found);
            }
            "set" | "with" => {
                for assignment in split_top_level(body, b',') {
                    match assignment_split(assignment) {
                        Some((target, value)) => {
                            names_in(target, &mut locals);
                            expression_names(value, &mut found);
                        }
                        // `{% set x %}…{% endset %}` assigns a block.
                        None => names_in(assignment, &mut locals),
                    }
                }
            }
            "macro" | "call" | "import" | "from" | "block" => names_in(inner, &mut locals),
            "if" | "elif" | "do" => expression_names(body, &mut found),
            "filter" => {
                // The filter's name is not a variable, its arguments may hold some.
                if let Some(open) = body.find('(') {
                    expression_names(&body[open..], &mut found);
                }
            }
            _ => {}
        }
    }
    refs.extend(found.into_iter().filter(|name| !locals.contains(name)));
    Ok(())
}

/// Variables a bare Jinja expression (a `when:`, `changed_when:` or `assert` condition) reads.
pub(super) fn expression_refs(expression: &str, refs: &mut BTreeSet<String>) {
    if has_jinja(expression) {
        // Ansible still accepts `when: "{{ x }}"`; treat it as a template.
        let _ = template_refs(expression, refs);
        return;
    }
    let mut found = Vec::new();
    expression_names(expression, &mut found);
    refs.extend(found);
}

fn unclosed(text: &str, at: usize, opener: &'static str) -> Unclosed {
    Unclosed {
        line: text[..at].matches('\n').count() + 1,
        opener,
    }
}

/// Strips Jinja's whitespace-control markers (`{%-`, `-%}`, `+`) and surrounding spaces.
fn trim_whitespace_control(inner: &str) -> &str {
    inner
        .trim()
        .trim_start_matches(['-', '+'])
        .trim_end_matches(['-', '+'])
        .trim()
}

/// Byte offset of `closer` at bracket depth zero and outside string literals, from `from`.
fn find_close(text: &str, from: usize, closer: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => i = skip_string(bytes, i, quote),
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' if depth > 0 => depth -= 1,
            _ if depth == 0 && text[i..].starts_with(closer) => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the closing quote of the string literal starting at `start` (or the last byte).
fn skip_string(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b if b == quote => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len().saturating_sub(1)
}

/// `text` split at the first standalone word `word` (e.g. the `in` of a for loop).
fn split_word<'t>(text: &'t str, word: &str) -> Option<(&'t str, &'t str)> {
    let mut offset = 0;
    for token in text.split_inclusive(char::is_whitespace) {
        if token.trim() == word {
            return Some((&text[..offset], &text[offset + token.len()..]));
        }
        offset += token.len();
    }
    None
}

/// Splits at `separator` outside brackets and strings.
fn split_top_level(text: &str, separator: u8) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => i = skip_string(bytes, i, quote),
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b if b == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// `target = value` split at a single `=` (not `==`, `!=`, `<=`, `>=`).
fn assignment_split(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let single = bytes[i] == b'='
            && bytes.get(i + 1) != Some(&b'=')
            && (i == 0 || !b"=!<>".contains(&bytes[i - 1]));
        single.then(|| (&text[..i], &text[i + 1..]))
    })
}

/// Every identifier in `text`, as names it defines.
fn names_in(text: &str, names: &mut BTreeSet<String>) {
    identifiers(text, |name| {
        names.insert(name.to_owned());
    });
}

/// What precedes an identifier, which decides whether it is a variable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    Other,
    /// `.`: an attribute.
    Dot,
    /// `|`: a filter name.
    Pipe,
    /// `is` or `is not`: a test name.
    Is,
}

/// Variables an expression reads, in order, possibly repeated.
fn expression_names(expression: &str, found: &mut Vec<String>) {
    let bytes = expression.as_bytes();
    let mut before = Before::Other;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            quote @ (b'\'' | b'"') => {
                i = skip_string(bytes, i, quote) + 1;
                before = Before::Other;
                continue;
            }
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // A fraction is part of the number, not an attribute.
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                }
                before = Before::Other;
                continue;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let name = &expression[start..i];
                let next = expression[i..].trim_start();
                let called = next.starts_with('(');
                let keyword_argument = next.starts_with('=') && !next.starts_with("==");
                before = match (before, name) {
                    (Before::Is, "not") => Before::Is,
                    (Before::Dot | Before::Pipe | Before::Is, _) => Before::Other,
                    (Before::Other, "is") => Before::Is,
                    (Before::Other, _) => {
                        if !KEYWORDS.contains(&name) && !called && !keyword_argument {
                            found.push(name.to_owned());
                        }
                        Before::Other
                    }
                };
                continue;
            }
            b'.' => before = Before::Dot,
            b'|' => before = Before::Pipe,
            _ => before = Before::Other,
        }
        i += 1;
    }
}

/// Calls `visit` with every identifier of `text` outside string literals.
fn identifiers(text: &str, mut visit: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => i = skip_string(bytes, i, quote) + 1,
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                visit(&text[start..i]);
            }
            b if b.is_ascii_digit() => {
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
}

/// Prefix of the placeholders [`mask`] puts where Jinja expressions were; chosen to be a valid
/// plain YAML scalar and unlikely to be written by anyone.
const PLACEHOLDER: &str = "__chiffon_jinja_";

/// A templated text with its Jinja set aside, so the YAML around it can be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Masked {
    /// The text with each `{{ … }}` replaced by a placeholder and each `{% … %}` / `{# … #}`
    /// removed (a line that held only a statement becomes empty, so line numbers stay those of
    /// the template); of `{% if %}…{% else %}…{% endif %}` only the first branch is kept, so
    /// both branches do not define the same keys twice.
    pub text: String,
    /// The original `{{ … }}` text of each placeholder, by number.
    originals: Vec<String>,
}

/// Marks the place of a removed statement until lines are cleaned up.
const STATEMENT_MARK: char = '\u{1}';

/// Sets the Jinja of `template` aside; see [`Masked`].
pub(super) fn mask(template: &str) -> Masked {
    let mut text = String::with_capacity(template.len());
    let mut originals = Vec::new();
    // Per open `{% if %}`: whether its current branch is dropped.
    let mut branches: Vec<bool> = Vec::new();
    // Newlines inside a removed tag, written out at the next line end so lines keep their
    // numbers without breaking the line the tag was on.
    let mut pending_newlines = 0;
    let mut rest = 0;
    let dropping = |branches: &[bool]| branches.iter().any(|dropped| *dropped);
    while rest < template.len() {
        let next_tag = template[rest..].find('{').map(|at| rest + at);
        let chunk_end = next_tag.unwrap_or(template.len());
        let chunk = &template[rest..chunk_end];
        if dropping(&branches) {
            text.extend(std::iter::repeat_n('\n', chunk.matches('\n').count()));
        } else {
            for piece in chunk.split_inclusive('\n') {
                text.push_str(piece);
                if piece.ends_with('\n') {
                    text.extend(std::iter::repeat_n('\n', pending_newlines));
                    pending_newlines = 0;
                }
            }
        }
        let Some(open) = next_tag else { break };
        let kind = template.get(open..open + 2);
        let closer = match kind {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                if !dropping(&branches) {
                    text.push('{');
                }
                rest = open + 1;
                continue;
            }
        };
        let end = if closer == "#}" {
            template[open + 2..].find(closer).map(|at| open + 2 + at)
        } else {
            find_close(template, open + 2, closer)
        };
        let Some(end) = end else {
            // An unclosed tag: keep the rest as it is and let the YAML parser complain.
            text.push_str(&template[open..]);
            break;
        };
        let tag = &template[open..end + 2];
        pending_newlines += tag.matches('\n').count();
        rest = end + 2;
        match kind {
            Some("{{") if !dropping(&branches) => {
                text.push_str(&format!("{PLACEHOLDER}{}__", originals.len()));
                originals.push(tag.to_owned());
            }
            Some("{%") => {
                let inner = trim_whitespace_control(&template[open + 2..end]);
                match inner.split_whitespace().next().unwrap_or_default() {
                    "if" => branches.push(false),
                    "elif" | "else" => {
                        if let Some(last) = branches.last_mut() {
                            *last = true;
                        }
                    }
                    "endif" => {
                        branches.pop();
                    }
                    _ => {}
                }
                text.push(STATEMENT_MARK);
            }
            _ => text.push(STATEMENT_MARK),
        }
    }
    let text = text
        .split_inclusive('\n')
        .map(|line| {
            if !line.contains(STATEMENT_MARK) {
                return line.to_owned();
            }
            let cleaned: String = line.chars().filter(|c| *c != STATEMENT_MARK).collect();
            if cleaned.trim().is_empty() {
                if line.ends_with('\n') { "\n" } else { "" }.to_owned()
            } else {
                cleaned
            }
        })
        .collect();
    Masked { text, originals }
}

impl Masked {
    /// `text` (a string parsed out of the masked YAML) with its placeholders turned back into
    /// the Jinja they stand for.
    pub(super) fn unmask(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(PLACEHOLDER) {
            out.push_str(&rest[..at]);
            let after = &rest[at + PLACEHOLDER.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let original = after[..digits]
                .parse::<usize>()
                .ok()
                .filter(|_| after[digits..].starts_with("__"))
                .and_then(|index| self.originals.get(index));
            match original {
                Some(original) => {
                    out.push_str(original);
                    rest = &after[digits + 2..];
                }
                None => {
                    out.push_str(PLACEHOLDER);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Replaces each `{{ name }}` of `text` (a bare variable, nothing else) by `lookup(name)` when
/// that gives a value; everything else stays as written.
pub(super) fn render_simple(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}").map(|at| open + at) else {
            break;
        };
        let inner = trim_whitespace_control(&rest[open + 2..close]);
        let is_name = !inner.is_empty()
            && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !inner.starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..open]);
        match is_name.then(|| lookup(inner)).flatten() {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..close + 2]),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(template: &str) -> Vec<String> {
        let mut refs = BTreeSet::new();
        template_refs(template, &mut refs).expect("closed tags");
        refs.into_iter().collect()
    }

    fn bare(expression: &str) -> Vec<String> {
        let mut refs = BTreeSet::new();
        expression_refs(expression, &mut refs);
        refs.into_iter().collect()
    }

    #[test]
    fn expressions_read_variables_but_not_attributes_filters_tests_or_arguments() {
        assert_eq!(
            refs(
                "{{ groups[source_group] | default([]) | map('extract', hostvars) \
                  | map(attribute='portals', default=[]) | flatten }}"
            ),
            ["groups", "hostvars", "source_group"]
        );
        assert_eq!(
            refs("{{ portal.health_url | default(portal.url) | to_json }}"),
            ["portal"]
        );
        assert_eq!(
            refs("{{ lookup('env', 'HOME') ~ '/' ~ base_dir }} {{ x is not defined }}"),
            ["base_dir", "x"]
        );
        assert_eq!(
            refs("{{ {'present': result.stat.exists, 'n': 1.5} | to_json }}"),
            ["result"]
        );
        assert_eq!(
            refs("{{ archive[:16] }}{{ 'a' if flag else none }}"),
            ["archive", "flag"]
        );
        assert_eq!(
            bare("'Started' in up.stderr or age >= keep | int"),
            ["age", "keep", "up"]
        );
        assert_eq!(
            bare("x is version('1.2', '>=') and y is sameas true"),
            ["x", "y"]
        );
    }

    #[test]
    fn names_a_template_defines_are_not_reads() {
        let template = "\
{#- a comment with {{ not_a_var }} -#}
{%- set missing = stats.results | rejectattr('stat.exists') | list -%}
{% for category, entries in portals | groupby('category') %}
{{ category }}: {{ entries | length }} {{ missing }}
{% endfor %}
{% macro row(name, size=default_size) %}{{ name }}{% endmacro %}
{% if enabled %}{{ loop.index }}{% endif %}
{% raw %}{{ literal }}{% endraw %}";
        assert_eq!(refs(template), ["enabled", "loop", "portals", "stats"]);
    }

    #[test]
    fn an_unclosed_tag_is_reported_at_its_line() {
        let mut refs = BTreeSet::new();
        let error = template_refs("a\nb {{ x\nc", &mut refs).expect_err("unclosed");
        assert_eq!(
            error,
            Unclosed {
                line: 2,
                opener: "{{"
            }
        );
    }

    #[test]
    fn masking_keeps_lines_and_first_branches_and_unmasks() {
        let template = "\
# {{ ansible_managed }}
services:
  {{ name }}:
{% if tls %}
    image: {{ image }}:{{ version }}
{% else %}
    image: plain
{% endif %}
    ports:
      - \"{{ port }}:80\"
    command: >-
      {{ a
         | b }}
    x: {# gone #}y
";
        let masked = mask(template);
        assert_eq!(masked.text.lines().count(), template.lines().count());
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&masked.text).expect("masked YAML parses");
        let services = value["services"].as_mapping().expect("services");
        let (key, service) = services.iter().next().expect("one service");
        assert_eq!(masked.unmask(key.as_str().expect("key")), "{{ name }}");
        assert_eq!(
            masked.unmask(service["image"].as_str().expect("image")),
            "{{ image }}:{{ version }}"
        );
        assert_eq!(
            masked.unmask(service["ports"][0].as_str().expect("port")),
            "{{ port }}:80"
        );
        assert_eq!(service["x"].as_str(), Some("y"));
        assert_eq!(
            masked.text.lines().position(|l| l.contains("ports")),
            template.lines().position(|l| l.contains("ports"))
        );
    }

    #[test]
    fn plain_names_render_from_their_values() {
        let lookup = |name: &str| (name == "image").then(|| "louislam/uptime-kuma".to_owned());
        assert_eq!(
            render_simple("{{ image }}:{{ version }}", lookup),
            "louislam/uptime-kuma:{{ version }}"
        );
        assert_eq!(
            render_simple("{{ image | lower }}", lookup),
            "{{ image | lower }}"
        );
    }

    #[test]
    fn magic_names_are_recognised() {
        for name in [
            "inventory_hostname",
            "ansible_facts",
            "ansible_host",
            "item",
            "groups",
        ] {
            assert!(is_magic(name), "{name}");
        }
        assert!(!is_magic("homelab_root"));
    }
}
