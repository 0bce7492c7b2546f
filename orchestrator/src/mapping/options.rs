//! Run options a request states in words: "apply the whole site in check mode", "redeploy caddy
//! as a dry run, with a diff". They become the run's `--check` and `--diff`, and leave the words
//! matched against the catalog: "check" in "check mode" asks for no health check.

/// Phrases asking for a dry run (`--check`), longest first, as lower-cased words.
const CHECK_MODE: &[&[&str]] = &[
    &["in", "check", "mode"],
    &["as", "a", "dry", "run"],
    &["with", "--check"],
    &["check", "mode"],
    &["a", "dry", "run"],
    &["dry", "run"],
    &["dry-run"],
    &["dryrun"],
    &["--check"],
];

/// Phrases asking to show the differences (`--diff`), longest first, as lower-cased words.
const DIFF: &[&[&str]] = &[
    &["and", "show", "the", "diff"],
    &["show", "the", "diff"],
    &["show", "the", "diffs"],
    &["with", "a", "diff"],
    &["with", "diffs"],
    &["with", "diff"],
    &["with", "--diff"],
    &["--diff"],
];

/// Punctuation that ends a clause, kept when the option phrase before it is taken out.
const CLAUSE_MARKS: &[char] = &[',', ';', ':', '.', '!', '?'];

/// A request with the run options it states taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatedOptions {
    /// The request without the words that state options.
    pub what: String,
    /// It asks for a dry run.
    pub check_mode: bool,
    /// It asks to show the differences.
    pub diff: bool,
}

/// The run options `task` states, and the rest of it.
pub fn stated_options(task: &str) -> StatedOptions {
    let words: Vec<&str> = task.split_whitespace().collect();
    let bare: Vec<String> = words
        .iter()
        .map(|word| {
            word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '-'))
                .to_lowercase()
        })
        .collect();
    let mut kept: Vec<&str> = Vec::with_capacity(words.len());
    let (mut check_mode, mut diff) = (false, false);
    let mut at = 0;
    while at < words.len() {
        let starts = |phrase: &&[&str]| {
            bare.get(at..at + phrase.len())
                .is_some_and(|here| here.iter().zip(phrase.iter()).all(|(a, b)| a == b))
        };
        let found = CHECK_MODE
            .iter()
            .find(|phrase| starts(phrase))
            .map(|phrase| (phrase.len(), &mut check_mode))
            .or_else(|| {
                DIFF.iter()
                    .find(|phrase| starts(phrase))
                    .map(|phrase| (phrase.len(), &mut diff))
            });
        match found {
            Some((length, option)) => {
                *option = true;
                // "In check mode, then restart it": the clause still ends there.
                let last = words[at + length - 1];
                let mark = &last[last.trim_end_matches(CLAUSE_MARKS).len()..];
                if !mark.is_empty() {
                    kept.push(mark);
                }
                at += length;
            }
            None => {
                kept.push(words[at]);
                at += 1;
            }
        }
    }
    StatedOptions {
        what: kept.join(" "),
        check_mode,
        diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_runs_and_diffs_are_options_not_words_to_match() {
        assert_eq!(
            stated_options("apply the whole site in check mode"),
            StatedOptions {
                what: "apply the whole site".to_owned(),
                check_mode: true,
                diff: false,
            }
        );
        let both = stated_options("Redeploy caddy as a dry run and show the diff");
        assert!(both.check_mode && both.diff, "{both:?}");
        assert_eq!(both.what, "Redeploy caddy");
        assert!(stated_options("deploy jellyfin --check --diff").check_mode);
        assert!(stated_options("dry-run the certs role").check_mode);
        // A health check is work to do, and "diff" alone names nothing to show.
        assert_eq!(
            stated_options("deploy caddy in check mode, then restart it").what,
            "deploy caddy , then restart it"
        );
        let plain = stated_options("check the backup runs, diff the configs");
        assert!(!plain.check_mode && !plain.diff, "{plain:?}");
        assert_eq!(plain.what, "check the backup runs, diff the configs");
    }
}
