//! What words mean: the infrastructure vocabulary (`vocabulary.txt`), general English synonyms
//! from WordNet, how common English words are (`word-frequencies.txt`, from wordfreq), stop
//! words, and stems. Built once per process, on first use.
//!
//! Two sources, on purpose. The vocabulary is short and specific: actions ("install" is
//! *deploy*), kinds of infrastructure and their common tools ("caddy" is a *reverse proxy*),
//! phrases read as one word ("set up", "reverse proxy"). WordNet (through the
//! `thesaurus-wordnet` data crate) supplies the general English a vocabulary never covers
//! ("movie"/"film", "photo"/"picture"); its synonyms are weaker evidence, because they mix every
//! sense of a word.

use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The vocabulary, one concept per line (see the file's header).
const VOCABULARY: &str = include_str!("vocabulary.txt");

/// How common English words are, on the Zipf scale (see the file's header).
const WORD_FREQUENCIES: &str = include_str!("word-frequencies.txt");

/// Shortest English word an adverb is made of ("safe" in "safely"): shorter ones ("app" in
/// "apply", "rep" in "reply") make "-ly" words that are no adverbs.
const MIN_ADVERB_BASE: usize = 4;

/// Zipf frequency a word needs to be read as the verb of an agent noun ("update" of
/// "updater"): rarer strings ("registe") are no words.
const MIN_VERB_ZIPF: f64 = 3.0;

/// Words that say nothing about which playbook to run.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
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
    "one",
    "sure",
    "correctly",
    "ansible",
    "via",
    "too",
    "yes",
    "ok",
    "okay",
    "hey",
    "thanks",
    "thank",
    "something",
    "anything",
    "way",
    "sort",
    "kind",
    "bit",
    "every",
    "somewhere",
    "someone",
    "possible",
    "able",
    "role",
    "tag",
    "tags",
    "pls",
    "plz",
    "thx",
    "asap",
    "behind",
    "through",
    "onto",
    "who",
    "whom",
    "whose",
    "was",
    "were",
    "has",
    "had",
    "did",
    "doing",
    "goes",
    "going",
    "gone",
    "went",
    "gets",
    "got",
    "getting",
    "being",
];

/// The apostrophes people type: the typewriter's and the typographic one.
pub(super) const APOSTROPHES: &[char] = &['\'', '’'];

/// What follows the apostrophe of a contracted verb: "I'm", "we're", "it's", "you'll".
const CONTRACTED_VERBS: &[&str] = &["m", "s", "re", "ve", "ll", "d"];

/// The Zipf frequency of every word in [`WORD_FREQUENCIES`]: lines of a frequency followed by
/// the words that have it.
fn load_frequencies() -> HashMap<&'static str, f64> {
    WORD_FREQUENCIES
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let zipf: f64 = fields.next()?.parse().ok()?;
            Some(fields.map(move |word| (word, zipf)))
        })
        .flatten()
        .collect()
}

/// Shortest word (in characters) whose misspelling by one letter still counts as the word.
pub(super) const MIN_TYPO_LENGTH: usize = 6;
/// Shortest unknown word read as the vocabulary word it misspells ("deply", "instal").
const MIN_CORRECTED_LENGTH: usize = 5;

/// A concept of the vocabulary.
#[derive(Debug)]
pub(super) struct Concept {
    /// Its name, e.g. "deploy" or "reverse-proxy".
    pub name: &'static str,
    /// What people do ("install") rather than what they do it to.
    pub action: bool,
    /// Says little about which playbook to run ("server", "nightly").
    pub generic: bool,
    /// A concept (written before it) every member also means, without its kind.
    pub related: Option<usize>,
}

/// Everything known about words, built once.
pub(super) struct Lexicon {
    stemmer: Stemmer,
    stop: HashSet<&'static str>,
    pub concepts: Vec<Concept>,
    /// Stem (of a word, or of a phrase's words joined by spaces) → concepts it belongs to.
    members: HashMap<String, Vec<usize>>,
    /// First word's stem → the phrases (as stem lists) that start with it, longest first.
    phrases: HashMap<String, Vec<Vec<String>>>,
    /// Stem → WordNet synonyms' stems.
    synonyms: HashMap<String, Vec<String>>,
    /// Stems of the vocabulary's tool names ("caddy", "restic").
    tools: HashSet<String>,
    /// The vocabulary's single words as written, with their stems, to read a misspelt one
    /// ("deply", "instal") as the word it misses.
    member_words: Vec<(String, String)>,
    /// Stems of the words WordNet knows: English, as opposed to product names ("photoprism").
    english: HashSet<String>,
    /// Lower-cased word → its Zipf frequency (log10 of occurrences per billion words), for
    /// the words at 3.0 and above.
    zipf: HashMap<&'static str, f64>,
}

/// The lexicon, built on first use.
pub(super) fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(Lexicon::build)
}

impl Lexicon {
    fn build() -> Self {
        let mut lexicon = Lexicon {
            stemmer: Stemmer::create(Algorithm::English),
            stop: STOP_WORDS.iter().copied().collect(),
            concepts: Vec::new(),
            members: HashMap::new(),
            phrases: HashMap::new(),
            synonyms: HashMap::new(),
            tools: HashSet::new(),
            member_words: Vec::new(),
            english: HashSet::new(),
            zipf: load_frequencies(),
        };
        lexicon.load_vocabulary();
        lexicon.load_wordnet();
        lexicon
    }

    fn load_vocabulary(&mut self) {
        for line in VOCABULARY.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((head, members)) = line.split_once(':') else {
                continue;
            };
            let (head, related) = match head.split_once('(') {
                Some((head, related)) => (head, Some(related.trim_end_matches(')').trim())),
                None => (head, None),
            };
            let (action, generic, name) = match head.trim() {
                name if name.starts_with('!') => (true, false, &name[1..]),
                name if name.starts_with('~') => (false, true, &name[1..]),
                name => (false, false, name),
            };
            let index = self.concepts.len();
            self.concepts.push(Concept {
                name,
                action,
                generic,
                related: related
                    .and_then(|related| self.concepts.iter().position(|c| c.name == related)),
            });
            let (kinds, tools) = members.split_once('|').unwrap_or((members, ""));
            let listed = kinds
                .split(',')
                .map(|member| (member, false))
                .chain(tools.split(',').map(|member| (member, true)));
            for (member, tool) in listed {
                let stems = self.stems_of(member);
                if tool && !stems.is_empty() {
                    self.tools.insert(stems.join(" "));
                }
                if let [stem] = stems.as_slice() {
                    let word = member.trim().to_lowercase();
                    if !self.member_words.iter().any(|(known, _)| *known == word) {
                        self.member_words.push((word, stem.clone()));
                    }
                }
                if stems.is_empty() {
                    continue;
                }
                if stems.len() > 1 {
                    let phrases = self.phrases.entry(stems[0].clone()).or_default();
                    if !phrases.contains(&stems) {
                        phrases.push(stems.clone());
                        phrases.sort_by_key(|phrase| std::cmp::Reverse(phrase.len()));
                    }
                }
                let concepts = self.members.entry(stems.join(" ")).or_default();
                if !concepts.contains(&index) {
                    concepts.push(index);
                }
            }
        }
    }

    /// WordNet's synonyms of single words, by stem. Multi-word synonyms ("motion picture") and
    /// stop words are left out: a match needs one word to stand for another.
    fn load_wordnet(&mut self) {
        let data = thesaurus_wordnet::uncompress();
        for line in data.lines() {
            let mut words = line.split('|');
            let Some(word) = words.next().filter(|word| is_plain_word(word)) else {
                continue;
            };
            let stem = self.stem(word);
            self.english.insert(stem.clone());
            if self.stop.contains(word) {
                continue;
            }
            let mut synonyms: Vec<String> = words
                .filter(|synonym| is_plain_word(synonym) && !self.stop.contains(synonym))
                .map(|synonym| self.stem(synonym))
                .filter(|synonym| *synonym != stem)
                .collect();
            if synonyms.is_empty() {
                continue;
            }
            let known = self.synonyms.entry(stem).or_default();
            known.append(&mut synonyms);
            known.sort_unstable();
            known.dedup();
        }
    }

    /// Lower-cased stem of one word.
    pub fn stem(&self, word: &str) -> String {
        let lower = word.to_lowercase();
        self.stemmer.stem(&lower).into_owned()
    }

    /// Stems of the content words of `text`, in order (stop words kept: phrases need them).
    fn stems_of(&self, text: &str) -> Vec<String> {
        raw_words(text).iter().map(|word| self.stem(word)).collect()
    }

    /// How often `lower` occurs in English on the Zipf scale: about 7 for "the", 5.7 for
    /// "place", 3.5 for "subtitles", 0 for words rarer than 3 and for product names.
    pub fn zipf_frequency(&self, lower: &str) -> f64 {
        self.zipf.get(lower).copied().unwrap_or(0.0)
    }

    /// True for a noun naming who does what a verb says ("updater", "installer"): a tool
    /// named so does the work, it is not the work to do on it.
    pub fn is_agent_noun(&self, lower: &str) -> bool {
        let Some(root) = lower.strip_suffix("er") else {
            return false;
        };
        let stem = self.stem(lower);
        [format!("{root}e"), root.to_owned()]
            .iter()
            .any(|verb| self.zipf_frequency(verb) >= MIN_VERB_ZIPF && self.stem(verb) == stem)
    }

    pub fn is_stop_word(&self, lower: &str) -> bool {
        self.stop.contains(lower) || self.is_stop_contraction(lower)
    }

    /// "won't", "I'm", "it's": a stop word run together with "not" or a verb says no more than
    /// the stop word. "sonarr's" is no such thing.
    fn is_stop_contraction(&self, lower: &str) -> bool {
        let plain = lower.replace(APOSTROPHES, "'");
        plain.ends_with("n't")
            || plain.split_once('\'').is_some_and(|(head, tail)| {
                CONTRACTED_VERBS.contains(&tail) && self.stop.contains(head)
            })
    }

    /// The stem of the vocabulary word `lower` misspells by one letter ("deply" → deploy), when
    /// it is no word of its own and exactly one vocabulary word is that close.
    pub fn corrected(&self, lower: &str) -> Option<&str> {
        if lower.chars().count() < MIN_CORRECTED_LENGTH {
            return None;
        }
        let stem = self.stem(lower);
        if self.english.contains(&stem) || self.members.contains_key(&stem) {
            return None;
        }
        let mut close = self
            .member_words
            .iter()
            .filter(|(word, _)| mistyped(word, lower));
        match (close.next(), close.next()) {
            (Some((_, stem)), None) => Some(stem.as_str()),
            _ => None,
        }
    }

    /// The concepts a stem (or a phrase's stems joined by spaces) is listed in.
    pub fn concepts_of(&self, stem: &str) -> &[usize] {
        self.members.get(stem).map_or(&[], Vec::as_slice)
    }

    /// `concepts` and the concepts they relate to: everything the word means when matching.
    pub fn meanings(&self, concepts: &[usize]) -> Vec<usize> {
        let mut meanings = concepts.to_vec();
        for &concept in concepts {
            if let Some(related) = self.concepts[concept].related
                && !meanings.contains(&related)
            {
                meanings.push(related);
            }
        }
        meanings
    }

    /// The longest vocabulary phrase that `stems` starts with, as its number of words.
    pub fn phrase_at(&self, stems: &[String]) -> Option<usize> {
        let first = stems.first()?;
        self.phrases
            .get(first)?
            .iter()
            .find(|phrase| stems.starts_with(phrase))
            .map(Vec::len)
    }

    /// True for the name of a tool of some kind ("caddy"), which meets the kind's words but not
    /// other tools.
    pub fn is_tool(&self, stem: &str) -> bool {
        self.tools.contains(stem)
    }

    /// True for a stem of an English word WordNet or the vocabulary knows; false for names of
    /// products and projects ("photoprism", "zigbee2mqtt").
    pub fn is_english(&self, stem: &str) -> bool {
        self.english.contains(stem) || self.members.contains_key(stem)
    }

    /// True for an adverb made of an English word by "-ly" ("automatically", "cleanly",
    /// "securely"): it says how something is done, not what to do it to.
    pub fn is_manner_adverb(&self, lower: &str) -> bool {
        let Some(base) = lower.strip_suffix("ly") else {
            return false;
        };
        let bases = [
            base.to_owned(),
            // "automatically" from "automatic", "happily" from "happy".
            base.strip_suffix("al").unwrap_or(base).to_owned(),
            base.strip_suffix('i')
                .map_or_else(|| base.to_owned(), |stem| format!("{stem}y")),
        ];
        bases.iter().any(|base| {
            base.chars().count() >= MIN_ADVERB_BASE && self.is_english(&self.stem(base))
        })
    }

    /// WordNet synonyms of a stem, as stems.
    pub fn synonyms_of(&self, stem: &str) -> &[String] {
        self.synonyms.get(stem).map_or(&[], Vec::as_slice)
    }
}

/// A single alphabetic word, as WordNet writes one (no spaces, digits or punctuation but `-`).
fn is_plain_word(word: &str) -> bool {
    word.len() >= 2
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_uppercase() || c == '-')
}

/// The raw words of `text`: runs of letters and digits (`'` inside a word kept), without pure
/// numbers.
pub(super) fn raw_words(text: &str) -> Vec<&str> {
    // Typographic apostrophes too: "won’t" is one word.
    text.split(|c: char| !(c.is_alphanumeric() || APOSTROPHES.contains(&c)))
        .map(|word| word.trim_matches(APOSTROPHES))
        .filter(|word| !word.is_empty() && !word.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// Whether `a` is a typing slip for `b` or the other way round: one edit apart (see
/// [`one_edit_apart`]), or the same letters with a letter doubled in the wrong place
/// (`sonnar` for `sonarr`), which is two edits but one slip.
pub(super) fn mistyped(a: &str, b: &str) -> bool {
    let undoubled = |word: &str| {
        let mut letters: Vec<char> = word.chars().collect();
        letters.dedup();
        letters
    };
    one_edit_apart(a, b) || undoubled(a) == undoubled(b)
}

/// Whether `a` and `b` differ by at most one insertion, deletion, substitution or swap of
/// neighbours (`manger` for `manager`, `jellyfn` for `jellyfin`).
pub(super) fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => {
            let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match differ.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 => {
            let skip = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[skip..] == long[skip + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_knows_actions_phrases_and_tools() {
        let lexicon = lexicon();
        let concept = |word: &str| -> Vec<&str> {
            lexicon
                .concepts_of(&lexicon.stem(word))
                .iter()
                .map(|&index| lexicon.concepts[index].name)
                .collect()
        };
        assert_eq!(concept("installing"), ["deploy"]);
        // A backup job is a thing that runs, like a service: it says little on its own.
        assert_eq!(concept("jobs"), ["infrastructure"]);
        assert_eq!(concept("certs"), ["certificate"]);
        let restic = lexicon.concepts_of(&lexicon.stem("restic"));
        assert!(
            lexicon
                .meanings(restic)
                .iter()
                .any(|&index| lexicon.concepts[index].name == "backup")
        );
        assert_eq!(concept("caddy"), ["reverse-proxy"]);
        assert!(concept("rotate").contains(&"renew"));
        // Lists of domains to block or let through are one kind; so are the clouds backups go to.
        assert_eq!(concept("whitelist"), ["filter-list"]);
        assert_eq!(concept("blocklists"), ["filter-list"]);
        assert_eq!(concept("backblaze"), ["object-storage"]);
        assert_eq!(concept("b2"), ["object-storage"]);
        let phrase: Vec<String> = ["reverse", "proxy", "now"]
            .iter()
            .map(|w| lexicon.stem(w))
            .collect();
        assert_eq!(lexicon.phrase_at(&phrase), Some(2));
        assert!(
            lexicon
                .concepts_of(&phrase[..2].join(" "))
                .iter()
                .any(|&index| lexicon.concepts[index].name == "reverse-proxy")
        );
    }

    #[test]
    fn misspelt_vocabulary_words_are_read_as_meant() {
        let lexicon = lexicon();
        assert_eq!(
            lexicon.corrected("deply"),
            Some(lexicon.stem("deploy").as_str())
        );
        assert_eq!(
            lexicon.corrected("instll"),
            Some(lexicon.stem("install").as_str())
        );
        assert_eq!(lexicon.corrected("deploy"), None);
        assert_eq!(lexicon.corrected("gitea"), None);
        assert_eq!(lexicon.corrected("family"), None);
    }

    #[test]
    fn wordnet_supplies_general_synonyms() {
        let lexicon = lexicon();
        let movie = lexicon.stem("movie");
        assert!(
            lexicon.synonyms_of(&movie).contains(&lexicon.stem("film")),
            "{:?}",
            lexicon.synonyms_of(&movie)
        );
    }

    #[test]
    fn one_edit_covers_typos_and_nothing_more() {
        assert!(one_edit_apart("manager", "manger"));
        assert!(one_edit_apart("jellyfin", "jellyfn"));
        assert!(one_edit_apart("gitea", "gitae"));
        assert!(one_edit_apart("radarr", "radar"));
        assert!(!one_edit_apart("sonarr", "radarr"));
        assert!(!one_edit_apart("backup", "bakcpu"));
    }

    #[test]
    fn a_letter_doubled_in_the_wrong_place_is_one_slip() {
        assert!(!one_edit_apart("sonnar", "sonarr"));
        assert!(mistyped("sonnar", "sonarr"));
        assert!(mistyped("jelyfin", "jellyfin"));
        assert!(!mistyped("sonarr", "radarr"));
        assert!(!mistyped("nextcloud", "netcloud1"));
    }

    #[test]
    fn forms_and_contractions_of_stop_words_are_stop_words() {
        let lexicon = lexicon();
        for word in ["goes", "got", "won't", "doesn’t", "i'm", "it's", "we've"] {
            assert!(lexicon.is_stop_word(word), "{word}");
        }
        assert!(!lexicon.is_stop_word("sonarr's"));
    }
}
