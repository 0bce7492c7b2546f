//! What each ansible-lint rule means for a homelab: the category a finding is filed under, a
//! one-sentence reason, and whether `ansible-lint --fix` can repair it.
//!
//! Every rule ansible-lint 26 lists (`ansible-lint -L`) and every sub-rule it emits (`fqcn[…]`,
//! `yaml[…]`, …) has an entry. A finding is looked up by its full tag first (`jinja[invalid]`),
//! then by its rule id (`jinja`); a rule nobody knows (a custom rule, a newer ansible-lint) is
//! filed by the tags ansible-lint reports for it, else under [`Category::BestPractices`].
//!
//! Category choices, where they are not obvious:
//! - Findings that make a run fail or hide its failures (`syntax-check`, `args`,
//!   `jinja[invalid]`, `yaml[key-duplicates]`, `inline-env-var`, `no-prompting`) are
//!   [`Category::ErrorHandling`]: the user fixes them for the same reason as `ignore-errors`.
//! - ansible-lint has few rules about speed. [`Category::Performance`] holds `run-once` (a task
//!   meant to run once runs on every host) and `complexity` (plays too long to run only the part
//!   you need). There is no package-in-a-loop rule in ansible-lint 26; `no-free-form` is about
//!   ambiguous arguments, so it is a best practice, not a performance issue.
//! - Permission rules (`risky-file-permissions`, `risky-octal`) are [`Category::Idempotency`]:
//!   both make the permissions a run leaves behind differ from what the repository says.
//! - Metadata and naming formats (`meta-*`, `galaxy`, `role-name`, `schema`) are
//!   [`Category::Standards`], like YAML formatting.
//!
//! Fixable rules are those with an ansible-lint transform (`TransformMixin` in ansible-lint's
//! source, tag `autofix` in `ansible-lint -T`), restricted to the sub-rules the transform
//! handles, plus the `yaml[…]` findings that ansible-lint's YAML reformatting (done by every
//! `--fix` run) resolves.

use super::Category;

/// What Chiffon knows about an ansible-lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// The category findings of the rule are filed under.
    pub category: Category,
    /// Why a homelab user should care, in one sentence.
    pub reason: &'static str,
    /// Whether `ansible-lint --fix` can repair the finding by itself.
    pub fixable: bool,
    /// False when the rule is not in Chiffon's table and category and reason are defaults.
    pub known: bool,
}

/// One table entry: a rule id (`fqcn`) or a full tag (`fqcn[action-core]`).
struct Entry {
    rule: &'static str,
    category: Category,
    reason: &'static str,
    fixable: bool,
}

const fn entry(
    rule: &'static str,
    category: Category,
    fixable: bool,
    reason: &'static str,
) -> Entry {
    Entry {
        rule,
        category,
        reason,
        fixable,
    }
}

use Category::{BestPractices, ErrorHandling, Idempotency, Performance, Standards};

const FQCN: &str = "A short module name can mean a different collection's module depending on \
                    what is installed; the full name (ansible.builtin.copy) always means the same \
                    module.";
const YAML: &str = "Consistent YAML formatting keeps files easy to read and changes easy to \
                    review.";
const PARTIAL_BECOME: &str = "become_user without become at the same level is ignored, so the \
                              task silently runs as the connecting user instead.";
const KEY_ORDER: &str = "Keys in the usual order (name first, block last) make every task read \
                         the same way and avoid surprises in blocks.";
const NO_FREE_FORM: &str = "Arguments written as one key=value string are parsed loosely and \
                            break on spaces or quotes; a YAML mapping is unambiguous.";
const SCHEMA: &str = "The file does not have the structure Ansible expects for its kind, so keys \
                      may be ignored or rejected when it is used.";

/// Every rule, and the sub-rules whose category, reason or fixability differ from their rule.
const TABLE: &[Entry] = &[
    // --- Idempotency --------------------------------------------------------------------------
    entry(
        "no-changed-when",
        Idempotency,
        false,
        "Without changed_when, every run reports a change, so you can't tell when something \
         really changed.",
    ),
    entry(
        "command-instead-of-module",
        Idempotency,
        false,
        "A module checks whether anything needs doing; a raw command runs every time and always \
         reports a change.",
    ),
    entry(
        "command-instead-of-shell",
        Idempotency,
        true,
        "Running through a shell makes the result depend on each host's shell and environment; \
         the command module runs the same way everywhere.",
    ),
    entry(
        "risky-file-permissions",
        Idempotency,
        false,
        "Without an explicit mode, a file's permissions depend on each host's umask, so the same \
         run leaves different permissions on different hosts.",
    ),
    entry(
        "risky-octal",
        Idempotency,
        false,
        "A mode written as a bare number like 644 is not read as octal, so files get permissions \
         you did not intend.",
    ),
    entry(
        "no-handler",
        Idempotency,
        false,
        "A task that runs when another task changed belongs in a handler, which runs once at the \
         end and only when something really changed.",
    ),
    entry(
        "package-latest",
        Idempotency,
        false,
        "state: latest upgrades packages whenever a new version appears, so re-running a \
         playbook can change your servers without any change in the repository.",
    ),
    entry(
        "latest",
        Idempotency,
        false,
        "Checking out a branch instead of a fixed version deploys whatever is newest, so two runs \
         of the same playbook can give different results.",
    ),
    // --- Error handling -----------------------------------------------------------------------
    entry(
        "ignore-errors",
        ErrorHandling,
        false,
        "ignore_errors hides every failure of the task, including the ones you did not expect; \
         failed_when says which failures are acceptable.",
    ),
    entry(
        "risky-shell-pipe",
        ErrorHandling,
        false,
        "Without pipefail, a command that fails before a pipe goes unnoticed, because only the \
         last command's exit status counts.",
    ),
    entry(
        "inline-env-var",
        ErrorHandling,
        false,
        "The command module does not understand VAR=value prefixes, so the variable is never set; \
         use the environment keyword instead.",
    ),
    entry(
        "no-prompting",
        ErrorHandling,
        false,
        "A prompt waits for someone to type an answer, so an unattended run hangs until it times \
         out.",
    ),
    entry(
        "args",
        ErrorHandling,
        false,
        "The task passes arguments the module does not accept, so it fails when it runs.",
    ),
    entry(
        "syntax-check",
        ErrorHandling,
        false,
        "Ansible cannot parse this playbook, so it fails before running anything.",
    ),
    entry(
        "parser-error",
        ErrorHandling,
        false,
        "Ansible cannot parse this file, so anything that uses it fails before running.",
    ),
    entry(
        "load-failure",
        ErrorHandling,
        false,
        "The file cannot be read or parsed, so nothing in it can run or be checked.",
    ),
    entry(
        "internal-error",
        ErrorHandling,
        false,
        "ansible-lint crashed on this file, so it could not be checked; the file may hold \
         something Ansible will also trip over.",
    ),
    entry(
        "jinja[invalid]",
        ErrorHandling,
        false,
        "The Jinja expression is invalid, so the task fails when Ansible renders it.",
    ),
    entry(
        "yaml[key-duplicates]",
        ErrorHandling,
        false,
        "A key written twice silently replaces the first one, so part of what you wrote is \
         ignored.",
    ),
    // --- Performance --------------------------------------------------------------------------
    entry(
        "run-once",
        Performance,
        false,
        "With the free strategy run_once is not guaranteed, so a task meant to run once can run \
         on every host.",
    ),
    entry(
        "complexity",
        Performance,
        false,
        "Very long plays and deeply nested blocks are slow to run and to debug; split them so you \
         can run only the part you need.",
    ),
    // --- Best practices -----------------------------------------------------------------------
    entry("fqcn[action-core]", BestPractices, true, FQCN),
    entry("fqcn[action]", BestPractices, true, FQCN),
    entry("fqcn[canonical]", BestPractices, true, FQCN),
    entry("fqcn", BestPractices, false, FQCN),
    entry(
        "name[casing]",
        BestPractices,
        true,
        "Names that start with an uppercase letter read consistently in run output and logs.",
    ),
    entry(
        "name[template]",
        BestPractices,
        false,
        "A template in the middle of a name makes the task hard to find in run output; put it \
         at the end.",
    ),
    entry(
        "name[unique]",
        BestPractices,
        false,
        "Two tasks with the same name cannot be told apart in run output or with \
         --start-at-task.",
    ),
    entry(
        "name[prefix]",
        BestPractices,
        false,
        "Task names in included files should start with the file's name, so run output shows \
         where they come from.",
    ),
    entry(
        "name",
        BestPractices,
        false,
        "Named plays and tasks make run output readable, so you can see what ran and what \
         failed.",
    ),
    entry(
        "no-jinja-when",
        BestPractices,
        true,
        "when is already a Jinja expression; wrapping it in {{ }} is deprecated and can break \
         with newer Ansible versions.",
    ),
    entry(
        "literal-compare",
        BestPractices,
        false,
        "Comparing to True or False is error-prone; use the variable itself, or not, as the \
         condition.",
    ),
    entry(
        "empty-string-compare",
        BestPractices,
        false,
        "Comparing to an empty string is error-prone; test the value's length or truthiness \
         instead.",
    ),
    entry("partial-become", BestPractices, true, PARTIAL_BECOME),
    entry("no-free-form", BestPractices, true, NO_FREE_FORM),
    entry(
        "no-free-form[raw-non-string]",
        BestPractices,
        false,
        NO_FREE_FORM,
    ),
    entry(
        "deprecated-bare-vars",
        BestPractices,
        false,
        "Bare variables in loops are deprecated and will stop working in a future Ansible \
         version.",
    ),
    entry(
        "deprecated-local-action",
        BestPractices,
        true,
        "local_action is deprecated; delegate_to: localhost does the same and keeps working in \
         future versions.",
    ),
    entry(
        "deprecated-module",
        BestPractices,
        false,
        "This module is deprecated and will be removed from Ansible; switch before an upgrade \
         breaks the playbook.",
    ),
    entry(
        "no-relative-paths",
        BestPractices,
        false,
        "A relative src path is looked up in several places depending on where the task runs \
         from; keep the file in the role's files/ or templates/ directory.",
    ),
    entry(
        "var-naming[no-role-prefix]",
        BestPractices,
        false,
        "Role variables without the role's name as prefix can collide with variables of other \
         roles or of the inventory.",
    ),
    entry(
        "var-naming",
        BestPractices,
        false,
        "Lowercase variable names with underscores, none reserved by Ansible or Python, avoid \
         clashes that silently change what a playbook does.",
    ),
    entry(
        "loop-var-prefix",
        BestPractices,
        false,
        "A role that loops with the default item variable clashes with loops of whatever \
         includes it; a role-prefixed loop_var avoids that.",
    ),
    entry(
        "avoid-implicit",
        BestPractices,
        false,
        "Relying on implicit conversions (such as a dictionary as file content) gives results \
         that change between Ansible versions; make it explicit.",
    ),
    entry(
        "no-log-password",
        BestPractices,
        true,
        "Without no_log, a task that handles passwords in a loop prints them in the run output \
         and logs.",
    ),
    entry(
        "no-same-owner",
        BestPractices,
        false,
        "Copying owner and group across hosts applies user ids that may not exist, or belong to \
         someone else, on the target.",
    ),
    entry(
        "only-builtins",
        BestPractices,
        false,
        "Modules outside ansible.builtin need collections installed wherever the playbook runs; \
         this repository asks for builtin modules only.",
    ),
    entry(
        "role-argument-spec",
        BestPractices,
        false,
        "An argument spec (meta/argument_specs.yml) lets Ansible check a role's variables before \
         it changes anything.",
    ),
    entry(
        "warning",
        BestPractices,
        false,
        "Ansible warned about this file; warnings usually point at something that will break \
         with a future version.",
    ),
    // --- Standards ----------------------------------------------------------------------------
    entry(
        "yaml[truthy]",
        Standards,
        true,
        "yes, no, on and off mean different things in different YAML versions; true and false \
         are unambiguous.",
    ),
    entry(
        "yaml[octal-values]",
        Standards,
        true,
        "An unquoted value like 0644 is read differently by YAML 1.1 and 1.2; quote it.",
    ),
    entry(
        "yaml[line-length]",
        Standards,
        false,
        "Long lines are hard to read and to review; fold them.",
    ),
    entry("yaml[braces]", Standards, false, YAML),
    entry("yaml[anchors]", Standards, false, YAML),
    entry("yaml[document-end]", Standards, false, YAML),
    entry("yaml[empty-values]", Standards, false, YAML),
    entry("yaml[float-values]", Standards, false, YAML),
    entry("yaml[key-ordering]", Standards, false, YAML),
    entry("yaml[quoted-strings]", Standards, false, YAML),
    entry(
        "yaml[syntax]",
        ErrorHandling,
        false,
        "The file is not valid YAML, so nothing in it can run.",
    ),
    // The remaining yaml[…] findings (brackets, colons, commas, comments, comments-indentation,
    // document-start, empty-lines, hyphens, indentation, new-line-at-end-of-file, new-lines,
    // trailing-spaces) are whitespace and layout, which every --fix run rewrites.
    entry("yaml", Standards, true, YAML),
    entry(
        "jinja",
        Standards,
        false,
        "Consistent spacing inside {{ }} makes templates easier to read.",
    ),
    entry(
        "jinja[spacing]",
        Standards,
        true,
        "Consistent spacing inside {{ }} makes templates easier to read.",
    ),
    entry("key-order[play]", Standards, true, KEY_ORDER),
    entry("key-order[task]", Standards, true, KEY_ORDER),
    entry("key-order", Standards, false, KEY_ORDER),
    entry("schema", Standards, false, SCHEMA),
    entry(
        "no-tabs",
        Standards,
        false,
        "Tabs render differently in every editor and are not allowed for YAML indentation; use \
         spaces.",
    ),
    entry(
        "playbook-extension",
        Standards,
        false,
        "Playbooks need a .yml or .yaml extension for Ansible tools and editors to recognise \
         them.",
    ),
    entry(
        "jinja-template-extension",
        Standards,
        false,
        "Template files ending in .j2 are recognised as templates by editors and tools.",
    ),
    entry(
        "role-name",
        Standards,
        false,
        "Role names must be lowercase letters, digits and underscores for Ansible and Galaxy to \
         find them reliably.",
    ),
    entry(
        "meta-incorrect",
        Standards,
        false,
        "The role's meta/main.yml still holds the placeholder values of ansible-galaxy init.",
    ),
    entry(
        "meta-no-tags",
        Standards,
        false,
        "Galaxy tags may only hold lowercase letters and digits.",
    ),
    entry(
        "meta-video-links",
        Standards,
        false,
        "video_links in meta/main.yml must have the format Galaxy expects.",
    ),
    entry(
        "meta-runtime",
        Standards,
        false,
        "meta/runtime.yml requires an Ansible version that is not supported any more.",
    ),
    entry(
        "galaxy",
        Standards,
        false,
        "The collection's galaxy.yml is incomplete or invalid, which blocks building and \
         installing it.",
    ),
    entry(
        "galaxy-version-incorrect",
        Standards,
        false,
        "A collection version below 1.0.0 tells users the collection is not ready to use.",
    ),
    entry(
        "sanity",
        Standards,
        false,
        "Entries in the collection's sanity ignore files must be ones ansible-test allows.",
    ),
];

/// Category, reason and fixability of the rule or full tag `rule` (e.g. `fqcn[action-core]`);
/// rules Chiffon does not know get [`Category::BestPractices`] and the category's description.
pub fn rule_info(rule: &str) -> RuleInfo {
    rule_info_with_tags(rule, &[])
}

/// Like [`rule_info`], filing an unknown rule by the tags ansible-lint reported for it
/// (`idempotency`, `formatting`, …).
pub(crate) fn rule_info_with_tags(rule: &str, tags: &[String]) -> RuleInfo {
    let base = rule_id(rule);
    let found = TABLE
        .iter()
        .find(|e| e.rule == rule)
        .or_else(|| TABLE.iter().find(|e| e.rule == base));
    match found {
        Some(e) => RuleInfo {
            category: e.category,
            reason: e.reason,
            fixable: e.fixable,
            known: true,
        },
        None => {
            let category = category_from_tags(tags);
            RuleInfo {
                category,
                reason: category.description(),
                fixable: false,
                known: false,
            }
        }
    }
}

/// The rule id of a full tag: `fqcn[action-core]` → `fqcn`. This is what `--fix=` takes.
pub fn rule_id(tag: &str) -> &str {
    tag.split_once('[').map_or(tag, |(id, _)| id)
}

/// The category for an unknown rule, from ansible-lint's own tags for it.
fn category_from_tags(tags: &[String]) -> Category {
    let has = |wanted: &[&str]| tags.iter().any(|t| wanted.contains(&t.as_str()));
    if has(&["idempotency"]) {
        Idempotency
    } else if has(&["performance", "speed"]) {
        Performance
    } else if has(&["formatting", "yaml", "metadata"]) {
        Standards
    } else {
        BestPractices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_tags_win_over_rule_ids() {
        assert!(rule_info("fqcn[action-core]").fixable);
        assert!(!rule_info("fqcn[keyword]").fixable);
        assert_eq!(rule_info("fqcn[keyword]").category, BestPractices);
        assert_eq!(rule_info("jinja[invalid]").category, ErrorHandling);
        assert_eq!(rule_info("jinja[spacing]").category, Standards);
        assert!(rule_info("yaml[trailing-spaces]").fixable);
        assert!(!rule_info("yaml[line-length]").fixable);
        assert_eq!(rule_info("schema[playbook]").category, Standards);
        assert!(rule_info("partial-become[task]").fixable);
    }

    #[test]
    fn unknown_rules_have_defaults() {
        let info = rule_info("my-custom-rule");
        assert!(!info.known);
        assert_eq!(info.category, BestPractices);
        assert!(!info.fixable);
        let tagged = rule_info_with_tags("my-custom-rule[x]", &["idempotency".to_owned()]);
        assert_eq!(tagged.category, Idempotency);
    }

    #[test]
    fn entries_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in TABLE {
            assert!(seen.insert(e.rule), "{} twice", e.rule);
            assert!(e.reason.ends_with('.'), "{}: reason is a sentence", e.rule);
        }
    }

    #[test]
    fn rule_ids() {
        assert_eq!(rule_id("fqcn[action-core]"), "fqcn");
        assert_eq!(rule_id("no-changed-when"), "no-changed-when");
    }
}
