//! Task → playbook mapping (INFRA-02): ranks catalog playbooks for a task in plain language, each
//! with a confidence in [0, 1] and the reasons a person can check.
//!
//! # How a match is scored
//!
//! The task is cut into content words: lower-cased, stop words dropped, multi-word verbs joined
//! ("set up", "back up"), and stemmed ("portals" → "portal", "configured" → "configur"). Each
//! word may also belong to a concept ("install", "set up" and "deploy" all mean *deploy*;
//! "archive" and "back up" mean *backup*; "uptime" and "monitoring" mean *monitor*; …).
//!
//! Every playbook is indexed by field, and each field has a strength: the services it deploys,
//! the roles and container images it uses say most about what it does; then its name, tags and
//! path; then its plays, hosts, templates and variables; its free-text description least.
//!
//! A task word is *explained* by a playbook with the strength of the strongest field holding the
//! same word (a concept match counts a little less). The confidence is the weighted share of the
//! task's words a playbook explains, so a task half made of words no playbook knows ("install a
//! minecraft server") cannot reach a high confidence however well the other half matches. Then:
//!
//! - a word a competitor explains through a stronger field counts less for the weaker playbook
//!   ("portal" is what `deploy-portal.yml` is named after; the monitors playbook only mentions
//!   portals), so the runner-up's confidence says how plausible it really is;
//! - action words ("deploy", "back up", "remove", …) weigh more than other words, and a playbook
//!   that does not explain the task's action loses much of its confidence: a playbook that
//!   deploys Uptime Kuma is the wrong answer to "remove Uptime Kuma";
//! - a playbook that explains only the action and none of the things the task names is weak
//!   evidence: many playbooks deploy *something*;
//! - playbooks whose name the task covers rank above broader ones that merely mention the same
//!   words (the `deploy-uptime-kuma.yml` over `site.yml` for "deploy Uptime Kuma").
//!
//! Below the threshold the answer is "no playbook fits", still with the closest candidates and
//! advice on what to generate instead.

use crate::planner::RunOptions;
use chiffon_proto::v1::{Playbook, PlaybookPart};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// Confidence a playbook needs to be used for a task, unless configured otherwise
/// ([`OrchestratorConfig::match_threshold`](crate::OrchestratorConfig::match_threshold)).
///
/// Chosen from the labelled set in `orchestrator/benches/mapping-cases.yaml` (run
/// `cargo bench -p chiffon-orchestrator --bench mapping`, which prints accuracy for thresholds
/// from 0.30 to 0.80): on the example repository correct top matches score 0.6 and more while
/// tasks no playbook fits stay at or below about 0.45 (their words are only half explained, or
/// their action is not what the playbook does). 0.5 sits in that gap, at the start of the
/// widest plateau of best accuracy, and leans towards answering "no playbook fits" over running
/// the wrong playbook, which is the costlier mistake: a plan that needs a custom playbook cannot
/// be approved until someone looks at it, a wrong playbook would run as approved.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// How many candidates a match returns unless asked for another number.
pub const DEFAULT_LIMIT: usize = 5;

/// One candidate playbook for a task.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybookMatch {
    /// The playbook.
    pub playbook: Playbook,
    /// The tagged part of the playbook that matches; `None` when the whole playbook does.
    pub part: Option<PlaybookPart>,
    /// The tags and limit that select the part (empty for the whole playbook).
    pub selection: RunOptions,
    /// From 0 (no evidence) to 1 (every word of the task explained by its strongest fields).
    pub confidence: f64,
    /// Why, for people: "name matches 'uptime', 'kuma'", "deploys service uptime-kuma", …
    pub reasons: Vec<String>,
}

/// The answer to "which playbook does this task?".
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOutcome {
    /// Candidates, best first; the closest ones also when none fits. Playbooks with no evidence
    /// at all are left out.
    pub matches: Vec<PlaybookMatch>,
    /// True when the best candidate reaches the threshold.
    pub fits: bool,
    /// The confidence a candidate needed.
    pub threshold: f64,
    /// What to do next, in a sentence.
    pub advice: String,
}

impl MatchOutcome {
    /// The playbook to use, when one fits.
    pub fn best_fit(&self) -> Option<&PlaybookMatch> {
        self.matches.first().filter(|_| self.fits)
    }
}

/// A catalog indexed for matching; build it once and match many tasks against it.
pub struct Matcher<'a> {
    playbooks: Vec<IndexedPlaybook<'a>>,
}

/// Ranks `catalog` for `task`; see [`Matcher::rank`].
pub fn rank(task: &str, catalog: &[Playbook], threshold: f64, limit: usize) -> MatchOutcome {
    Matcher::new(catalog).rank(task, threshold, limit)
}

impl<'a> Matcher<'a> {
    /// Indexes `catalog`.
    pub fn new(catalog: &'a [Playbook]) -> Self {
        Self {
            playbooks: catalog.iter().map(IndexedPlaybook::new).collect(),
        }
    }

    /// Ranks the catalog for `task`, returning at most `limit` candidates. The task is not
    /// validated here: empty or unknown words simply explain nothing.
    pub fn rank(&self, task: &str, threshold: f64, limit: usize) -> MatchOutcome {
        let words = tokens(task);
        let explanations: Vec<Vec<Explanation>> = self
            .playbooks
            .iter()
            .map(|playbook| words.iter().map(|word| playbook.explain(word)).collect())
            .collect();
        let mut scored: Vec<(f64, usize)> = (0..self.playbooks.len())
            .map(|index| (self.confidence(index, &words, &explanations), index))
            .filter(|(confidence, _)| *confidence > 0.0)
            .collect();
        // Best first; on a tie the earlier path, so answers are deterministic.
        scored.sort_by(|(a, ia), (b, ib)| {
            b.total_cmp(a).then_with(|| {
                self.playbooks[*ia]
                    .playbook
                    .path
                    .cmp(&self.playbooks[*ib].playbook.path)
            })
        });
        let fits = scored
            .first()
            .is_some_and(|(confidence, _)| *confidence >= threshold);
        let matches: Vec<PlaybookMatch> = scored
            .iter()
            .take(limit)
            .map(|&(confidence, index)| PlaybookMatch {
                playbook: self.playbooks[index].playbook.clone(),
                part: None,
                selection: RunOptions::default(),
                confidence,
                reasons: reasons(&self.playbooks[index], &words, &explanations[index]),
            })
            .collect();
        let advice = advice(task, &words, &explanations, &matches, fits, threshold);
        MatchOutcome {
            matches,
            fits,
            threshold,
            advice,
        }
    }

    /// The confidence of playbook `index` for the task `words`, given how every playbook
    /// explains each word.
    fn confidence(&self, index: usize, words: &[Token], explanations: &[Vec<Explanation>]) -> f64 {
        let total_weight: f64 = words.iter().map(|word| word.weight).sum();
        if total_weight == 0.0 {
            return 0.0;
        }
        let own = &explanations[index];
        let mut credit = 0.0;
        for (position, word) in words.iter().enumerate() {
            let strength = own[position].strength;
            if strength == 0.0 {
                continue;
            }
            let strongest_other = explanations
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, theirs)| theirs[position].strength)
                .fold(0.0, f64::max);
            let share = if strongest_other > strength {
                (strength / strongest_other).powf(COMPETITION_EXPONENT)
            } else {
                1.0
            };
            credit += word.weight * strength * share;
        }
        let mut confidence = credit / total_weight;

        let unexplained_actions = words
            .iter()
            .zip(own)
            .filter(|(word, explained)| {
                word.class == WordClass::Action && explained.strength == 0.0
            })
            .count();
        confidence *= UNEXPLAINED_ACTION_FACTOR.powi(unexplained_actions.min(2) as i32);

        let names_objects = words.iter().any(|word| word.class == WordClass::Object);
        let explains_an_object = words
            .iter()
            .zip(own)
            .any(|(word, explained)| word.class == WordClass::Object && explained.strength > 0.0);
        if names_objects && !explains_an_object {
            confidence *= NO_OBJECT_FACTOR;
        }

        let specificity = self.playbooks[index].name_coverage(words);
        confidence *= 1.0 - NAME_SPECIFICITY_WEIGHT * (1.0 - specificity);
        confidence.clamp(0.0, 1.0)
    }
}

// ----- weights -----

/// What a task word says about the playbook to pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordClass {
    /// What to do: "deploy", "back up", "remove". Weighs most; a playbook must explain it.
    Action,
    /// What to do it to: "uptime", "kuma", "nas", "portal".
    Object,
    /// Generic infrastructure nouns ("server", "host", "container") that say little.
    Generic,
}

impl WordClass {
    fn weight(self) -> f64 {
        match self {
            WordClass::Action => 1.5,
            WordClass::Object => 1.0,
            WordClass::Generic => 0.4,
        }
    }
}

/// Quality of a word matching a playbook word through a shared concept ("install" for
/// "deploy") rather than the same stem.
const CONCEPT_MATCH: f64 = 0.85;
/// Quality of a word matching a longer or shorter form of itself ("config" for "configur").
const PREFIX_MATCH: f64 = 0.9;
/// How hard a stronger competitor reduces a weaker playbook's credit for a word: the credit is
/// multiplied by (own strength / competitor's strength) to this power.
const COMPETITION_EXPONENT: f64 = 1.0;
/// Confidence kept for each action word of the task the playbook does not explain (at most two
/// count).
const UNEXPLAINED_ACTION_FACTOR: f64 = 0.55;
/// Confidence kept when the task names things but the playbook explains none of them.
const NO_OBJECT_FACTOR: f64 = 0.5;
/// How much of the confidence depends on the task covering the playbook's name: a playbook
/// whose name the task leaves entirely unexplained keeps 1 - this.
const NAME_SPECIFICITY_WEIGHT: f64 = 0.15;

/// The places a playbook's words come from, strongest evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Service,
    Role,
    Image,
    Name,
    Tag,
    Path,
    Play,
    Host,
    Template,
    Variable,
    Description,
}

impl Field {
    const ALL: [Field; 11] = [
        Field::Service,
        Field::Role,
        Field::Image,
        Field::Name,
        Field::Tag,
        Field::Path,
        Field::Play,
        Field::Host,
        Field::Template,
        Field::Variable,
        Field::Description,
    ];

    fn weight(self) -> f64 {
        match self {
            Field::Service | Field::Role => 1.0,
            Field::Image => 0.9,
            Field::Name => 0.85,
            Field::Tag | Field::Path => 0.8,
            Field::Play => 0.7,
            Field::Host => 0.6,
            Field::Description => 0.5,
            Field::Template => 0.45,
            Field::Variable => 0.35,
        }
    }

    /// Whether reasons name the matching item ("tag backup") rather than the matching words
    /// ("name matches 'uptime', 'kuma'").
    fn names_items(self) -> bool {
        !matches!(
            self,
            Field::Name | Field::Path | Field::Play | Field::Description
        )
    }
}

// ----- words -----

/// A content word of a text.
#[derive(Debug, Clone)]
struct Token {
    /// The word as written (multi-word verbs with a space), for messages.
    surface: String,
    /// Lower-cased and stemmed.
    stem: String,
    /// Concepts it belongs to.
    concepts: &'static [&'static str],
    class: WordClass,
    weight: f64,
}

/// Words that say nothing about which playbook to run.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "ahead",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "by",
    "can",
    "could",
    "currently",
    "do",
    "does",
    "done",
    "each",
    "every",
    "existing",
    "for",
    "from",
    "get",
    "go",
    "have",
    "here",
    "how",
    "i",
    "i'd",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "kindly",
    "let",
    "lets",
    "like",
    "make",
    "me",
    "my",
    "need",
    "needs",
    "new",
    "now",
    "of",
    "on",
    "onto",
    "or",
    "our",
    "out",
    "over",
    "please",
    "playbook",
    "playbooks",
    "properly",
    "re",
    "run",
    "running",
    "should",
    "so",
    "some",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "up",
    "us",
    "use",
    "using",
    "want",
    "we",
    "what",
    "when",
    "where",
    "which",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yml",
    "yaml",
    "j2",
    "json",
    "main",
    "roles",
    "tasks",
    "templates",
    "defaults",
    "homelab",
    "one",
    "sure",
    "correctly",
    "again",
    "there",
    "currently",
];

/// Generic infrastructure nouns: they weigh little, because any playbook could be about them.
const GENERIC_WORDS: &[&str] = &[
    "host",
    "server",
    "machine",
    "box",
    "node",
    "service",
    "app",
    "application",
    "container",
    "stack",
    "system",
    "instance",
    "thing",
    "docker",
    "compose",
    "tool",
    "vm",
];

/// Verbs that name an action without a concept of their own; a playbook must explain them too.
const OTHER_ACTIONS: &[&str] = &[
    "upgrade",
    "restart",
    "reboot",
    "stop",
    "start",
    "migrate",
    "rotate",
    "renew",
    "scale",
    "patch",
    "mount",
    "format",
    "rename",
    "disable",
    "enable",
    "clean",
    "prune",
    "encrypt",
    "sync",
    "replicate",
    "expose",
    "harden",
    "secure",
    "test",
    "write",
    "create",
    "open",
    "fix",
    "debug",
    "reset",
    "flush",
    "resize",
    "move",
    "copy",
    "schedule",
];

/// Concepts: words that mean the same thing for picking a playbook. The first entry names the
/// concept; entries are written as words and stemmed when the table is built. `action` marks
/// concepts that are what a task asks to do.
const CONCEPTS: &[(&str, bool, &[&str])] = &[
    (
        "deploy",
        true,
        &[
            "deploy",
            "redeploy",
            "install",
            "reinstall",
            "setup",
            "provision",
            "rollout",
            "launch",
            "spinup",
            "bringup",
            "standup",
            "upgrade",
            "update",
        ],
    ),
    (
        "configure",
        true,
        &[
            "config",
            "configure",
            "configuration",
            "reconfigure",
            "settings",
            "setting",
            "conf",
            "update",
            "customize",
            "customise",
            "tweak",
        ],
    ),
    (
        "backup",
        true,
        &["backup", "archive", "snapshot", "tarball", "tar", "dump"],
    ),
    (
        "check",
        true,
        &[
            "check",
            "healthcheck",
            "health",
            "healthy",
            "verify",
            "probe",
            "audit",
            "validate",
            "inspect",
            "status",
        ],
    ),
    (
        "add",
        true,
        &["add", "register", "include", "enroll", "put"],
    ),
    (
        "remove",
        true,
        &[
            "remove",
            "uninstall",
            "delete",
            "destroy",
            "purge",
            "wipe",
            "teardown",
            "decommission",
        ],
    ),
    ("restore", true, &["restore", "recover", "rollback"]),
    (
        "monitor",
        false,
        &[
            "monitor",
            "monitoring",
            "uptime",
            "watch",
            "alert",
            "alerting",
            "observe",
            "observability",
        ],
    ),
    (
        "portal",
        false,
        &[
            "portal",
            "dashboard",
            "homepage",
            "startpage",
            "landingpage",
            "launchpad",
        ],
    ),
    ("nas", false, &["nas", "fileserver", "storage"]),
    (
        "site",
        false,
        &[
            "site",
            "whole",
            "everything",
            "entire",
            "full",
            "complete",
            "converge",
        ],
    ),
    ("web", false, &["web", "website", "webserver"]),
];

/// Two-word verbs and nouns read as one word (matched on the first word's stem).
const PHRASES: &[(&str, &str, &str)] = &[
    ("set", "up", "setup"),
    ("back", "up", "backup"),
    ("roll", "out", "rollout"),
    ("spin", "up", "spinup"),
    ("bring", "up", "bringup"),
    ("stand", "up", "standup"),
    ("tear", "down", "teardown"),
    ("start", "page", "startpage"),
    ("landing", "page", "landingpage"),
    ("file", "server", "fileserver"),
    ("health", "check", "healthcheck"),
    ("web", "server", "webserver"),
];

/// Stemmed words with their concepts and whether they are actions, built once.
struct Lexicon {
    concepts: HashMap<String, Vec<&'static str>>,
    actions: BTreeSet<String>,
    stop: BTreeSet<String>,
    generic: BTreeSet<String>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut concepts: HashMap<String, Vec<&'static str>> = HashMap::new();
        let mut actions: BTreeSet<String> = OTHER_ACTIONS.iter().map(|w| stem(w)).collect();
        for (concept, is_action, words) in CONCEPTS {
            for word in *words {
                let stemmed = stem(word);
                if *is_action {
                    actions.insert(stemmed.clone());
                }
                concepts.entry(stemmed).or_default().push(concept);
            }
        }
        Lexicon {
            concepts,
            actions,
            stop: STOP_WORDS.iter().map(|w| (*w).to_owned()).collect(),
            generic: GENERIC_WORDS.iter().map(|w| stem(w)).collect(),
        }
    })
}

/// Concept lists live as long as the lexicon; tokens borrow them.
fn concepts_of(stemmed: &str) -> &'static [&'static str] {
    lexicon()
        .concepts
        .get(stemmed)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The raw words of `text`: runs of letters and digits, without pure numbers.
fn raw_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty() && !word.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// Content words of `text`, in order, each once.
fn tokens(text: &str) -> Vec<Token> {
    let lexicon = lexicon();
    let raw = raw_words(text);
    let mut tokens: Vec<Token> = Vec::new();
    let mut index = 0;
    while index < raw.len() {
        let word = raw[index].to_lowercase();
        let next = raw.get(index + 1).map(|w| w.to_lowercase());
        let phrase = next.as_deref().and_then(|next| {
            let first = stem(&word);
            PHRASES
                .iter()
                .find(|(a, b, _)| stem(a) == first && *b == next)
        });
        let (surface, normal) = match phrase {
            Some((_, _, joined)) => {
                let surface = format!("{} {}", raw[index], raw[index + 1]);
                index += 2;
                (surface, (*joined).to_owned())
            }
            None => {
                index += 1;
                (raw[index - 1].to_owned(), word)
            }
        };
        if normal.chars().count() < 2 || lexicon.stop.contains(&normal) {
            continue;
        }
        let stemmed = stem(&normal);
        if tokens.iter().any(|token| token.stem == stemmed) {
            continue;
        }
        let class = if lexicon.actions.contains(&stemmed) {
            WordClass::Action
        } else if lexicon.generic.contains(&stemmed) {
            WordClass::Generic
        } else {
            WordClass::Object
        };
        tokens.push(Token {
            surface,
            concepts: concepts_of(&stemmed),
            stem: stemmed,
            class,
            weight: class.weight(),
        });
    }
    tokens
}

/// Lower-cased, stemmed content words of `text`, for callers that only compare words (the
/// planner's risk rules).
pub(crate) fn content_stems(text: &str) -> BTreeSet<String> {
    tokens(text).into_iter().map(|token| token.stem).collect()
}

/// A small suffix-stripping stemmer: enough that "portals" meets "portal", "configured" and
/// "configuration" meet "configure", "monitoring" meets "monitor" and "deployment" meets
/// "deploy". Stems are for comparing, not for display.
pub(crate) fn stem(word: &str) -> String {
    let word = word.to_lowercase();
    const MIN: usize = 3;
    let strip = |suffix: &str, replacement: &str| -> Option<String> {
        let base = word.strip_suffix(suffix)?;
        (base.chars().count() >= MIN).then(|| format!("{base}{replacement}"))
    };
    let mut stemmed = None;
    for (suffix, replacement) in [
        ("ations", ""),
        ("ation", ""),
        ("ments", ""),
        ("ment", ""),
        ("ings", ""),
        ("ing", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("ed", ""),
    ] {
        if let Some(found) = strip(suffix, replacement) {
            stemmed = Some(found);
            break;
        }
    }
    let mut stemmed = match stemmed {
        Some(found) => {
            // "running" → "runn" → "run"; but "install" keeps its "ll".
            let chars: Vec<char> = found.chars().collect();
            match chars.as_slice() {
                [.., a, b] if a == b && !matches!(a, 'l' | 's' | 'z') && chars.len() > MIN => {
                    chars[..chars.len() - 1].iter().collect()
                }
                _ => found,
            }
        }
        None if word.ends_with('s')
            && !word.ends_with("ss")
            && !word.ends_with("us")
            && !word.ends_with("is")
            && word.chars().count() > MIN =>
        {
            word[..word.len() - 1].to_owned()
        }
        None => word,
    };
    // "configure"/"configur", "archive"/"archiv": drop a final "e" from longer words so the
    // forms above meet.
    if stemmed.ends_with('e') && stemmed.chars().count() > 4 {
        stemmed.pop();
    }
    stemmed
}

// ----- playbooks -----

/// A word of a playbook field, with the field item it came from.
struct Term {
    stem: String,
    concepts: &'static [&'static str],
    /// Index into the field's items.
    item: usize,
}

/// One field of a playbook: its items as written (for reasons) and their words.
struct FieldIndex {
    field: Field,
    items: Vec<String>,
    terms: Vec<Term>,
}

impl FieldIndex {
    fn new(field: Field, items: Vec<String>) -> Self {
        let mut terms = Vec::new();
        for (item, text) in items.iter().enumerate() {
            for token in tokens(text) {
                terms.push(Term {
                    stem: token.stem,
                    concepts: token.concepts,
                    item,
                });
            }
        }
        Self {
            field,
            items,
            terms,
        }
    }
}

/// How well a playbook explains one task word.
#[derive(Debug, Clone, Copy, Default)]
struct Explanation {
    /// Field weight times match quality; 0 when unexplained.
    strength: f64,
    /// Where: the field, and the item within it.
    place: Option<(Field, usize)>,
}

struct IndexedPlaybook<'a> {
    playbook: &'a Playbook,
    fields: Vec<FieldIndex>,
    /// Stems of the name (or, without a name, the file name), for specificity.
    name_terms: Vec<Term>,
}

impl<'a> IndexedPlaybook<'a> {
    fn new(playbook: &'a Playbook) -> Self {
        let file_stem = playbook
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&playbook.path)
            .to_owned();
        let mut services = playbook.services.clone();
        let mut images = Vec::new();
        for stack in &playbook.compose_stacks {
            services.extend(stack.services.iter().cloned());
            images.extend(
                stack
                    .images
                    .iter()
                    .map(|image| image_name(image).to_owned()),
            );
        }
        services.sort();
        services.dedup();
        images.sort();
        images.dedup();
        let fields: Vec<FieldIndex> = Field::ALL
            .iter()
            .map(|&field| {
                let items = match field {
                    Field::Service => services.clone(),
                    Field::Role => playbook.roles.clone(),
                    Field::Image => images.clone(),
                    Field::Name => vec![playbook.name.clone()],
                    Field::Tag => playbook.tags.clone(),
                    Field::Path => vec![playbook.path.clone()],
                    Field::Play => playbook.plays.clone(),
                    Field::Host => playbook.hosts.clone(),
                    Field::Template => playbook
                        .templates
                        .iter()
                        .map(|path| path.rsplit('/').next().unwrap_or(path).to_owned())
                        .collect(),
                    Field::Variable => playbook
                        .variables
                        .iter()
                        .map(|variable| variable.name.clone())
                        .collect(),
                    Field::Description => vec![playbook.description.clone()],
                };
                FieldIndex::new(field, items)
            })
            .collect();
        let name = if playbook.name.trim().is_empty() {
            file_stem
        } else {
            playbook.name.clone()
        };
        let name_terms = FieldIndex::new(Field::Name, vec![name])
            .terms
            .into_iter()
            .filter(|term| !lexicon().generic.contains(&term.stem))
            .collect();
        Self {
            playbook,
            fields,
            name_terms,
        }
    }

    fn explain(&self, word: &Token) -> Explanation {
        let mut best = Explanation::default();
        for field in &self.fields {
            for term in &field.terms {
                let strength =
                    match_quality(word, &term.stem, term.concepts) * field.field.weight();
                if strength > best.strength {
                    best = Explanation {
                        strength,
                        place: Some((field.field, term.item)),
                    };
                }
            }
        }
        best
    }

    /// Share of the name's words the task explains.
    fn name_coverage(&self, words: &[Token]) -> f64 {
        if self.name_terms.is_empty() {
            return 0.0;
        }
        let covered = self
            .name_terms
            .iter()
            .filter(|term| {
                words
                    .iter()
                    .any(|word| match_quality(word, &term.stem, term.concepts) > 0.0)
            })
            .count();
        covered as f64 / self.name_terms.len() as f64
    }

    fn field(&self, field: Field) -> &FieldIndex {
        // `fields` holds every field in `Field::ALL` order, which is declaration order.
        &self.fields[field as usize]
    }
}

/// How well task `word` matches a playbook word: 1 for the same stem, less for a prefix or a
/// shared concept, 0 for none.
fn match_quality(word: &Token, stem: &str, concepts: &[&str]) -> f64 {
    if word.stem == stem {
        return 1.0;
    }
    let shorter = word.stem.len().min(stem.len());
    if shorter >= 5 && (word.stem.starts_with(stem) || stem.starts_with(&word.stem)) {
        return PREFIX_MATCH;
    }
    if word
        .concepts
        .iter()
        .any(|concept| concepts.contains(concept))
    {
        return CONCEPT_MATCH;
    }
    0.0
}

/// "ghcr.io/gethomepage/homepage:v1" → "gethomepage/homepage": registry and tag say nothing
/// about the service.
fn image_name(image: &str) -> &str {
    let without_tag = match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    };
    match without_tag.split_once('/') {
        Some((registry, rest)) if registry.contains('.') || registry.contains(':') => rest,
        _ => without_tag,
    }
}

// ----- explanations for people -----

/// The reasons behind a candidate: what matched, field by field (strongest first), and the
/// task words it leaves unexplained.
fn reasons(
    playbook: &IndexedPlaybook<'_>,
    words: &[Token],
    explanations: &[Explanation],
) -> Vec<String> {
    // Where each explained word was found: one reason per item for fields whose items have names
    // (a tag, a service), one per field for prose (name, description).
    let mut by_place: Vec<((Field, usize), Vec<&Token>)> = Vec::new();
    let mut unexplained = Vec::new();
    for (word, explanation) in words.iter().zip(explanations) {
        match explanation.place {
            Some((field, item)) => {
                let key = (field, if field.names_items() { item } else { 0 });
                match by_place.iter_mut().find(|(place, _)| *place == key) {
                    Some((_, list)) => list.push(word),
                    None => by_place.push((key, vec![word])),
                }
            }
            None => unexplained.push(format!("'{}'", word.surface)),
        }
    }
    by_place.sort_by_key(|(place, _)| *place);
    let mut reasons: Vec<String> = by_place
        .into_iter()
        .map(|((field, item), matched)| {
            let quoted = matched
                .iter()
                .map(|word| format!("'{}'", word.surface))
                .collect::<Vec<_>>()
                .join(", ");
            let name = playbook
                .field(field)
                .items
                .get(item)
                .map_or("", String::as_str);
            match field {
                Field::Name => format!("name matches {quoted}"),
                Field::Path => format!("path matches {quoted}"),
                Field::Play => format!("play names match {quoted}"),
                Field::Description => format!("description mentions {quoted}"),
                Field::Service => format!("deploys service {name} (for {quoted})"),
                Field::Role => format!("uses role {name} (for {quoted})"),
                Field::Image => format!("runs image {name} (for {quoted})"),
                Field::Tag => format!("tag {name} (for {quoted})"),
                Field::Host => format!("targets hosts {name} (for {quoted})"),
                Field::Template => format!("renders template {name} (for {quoted})"),
                Field::Variable => format!("reads variable {name} (for {quoted})"),
            }
        })
        .collect();
    if !unexplained.is_empty() {
        reasons.push(format!("nothing in it matches {}", unexplained.join(", ")));
    }
    reasons
}

/// The advice sentence of an outcome.
fn advice(
    task: &str,
    words: &[Token],
    explanations: &[Vec<Explanation>],
    matches: &[PlaybookMatch],
    fits: bool,
    threshold: f64,
) -> String {
    let task = task.trim();
    if let (true, Some(best)) = (fits, matches.first()) {
        let mut advice = format!(
            "use {} (confidence {:.2})",
            best.playbook.path, best.confidence
        );
        if let Some(second) = matches.get(1).filter(|second| {
            second.confidence >= threshold && best.confidence - second.confidence < 0.1
        }) {
            advice.push_str(&format!(
                "; {} is almost as likely ({:.2}), check which one you mean",
                second.playbook.path, second.confidence
            ));
        }
        return advice;
    }
    let mut advice = format!("no playbook fits \"{task}\"");
    match matches.first() {
        Some(best) => advice.push_str(&format!(
            "; the closest is {} with confidence {:.2}, below the {threshold:.2} needed",
            best.playbook.path, best.confidence
        )),
        None if explanations.is_empty() => advice.push_str("; the catalog is empty"),
        None => {}
    }
    advice.push_str("; ");
    advice.push_str(&suggestion(words, explanations));
    advice
}

/// What to create instead: "generate a template for deploying Minecraft server", or a playbook
/// for another action.
fn suggestion(words: &[Token], explanations: &[Vec<Explanation>]) -> String {
    let explained_anywhere = |position: usize| {
        explanations
            .iter()
            .any(|playbook| playbook[position].strength > 0.0)
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
            word.class != WordClass::Action && !explained_anywhere(*position)
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
        None => format!("generate a template for deploying {subject}"),
        Some(action) if action.concepts.contains(&"deploy") => {
            format!("generate a template for deploying {subject}")
        }
        Some(action) => format!(
            "write a playbook for {} {subject} and add it to the repository",
            gerund(action)
        ),
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
