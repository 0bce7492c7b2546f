//! Reading a text into the content words the matcher compares: lower-cased, stemmed, vocabulary
//! phrases joined into one word ("set up", "reverse proxy"), stop words dropped, each word with
//! its concepts and how much it says about which playbook to run.

use super::lexicon::{self, lexicon};

/// Words after which a request names where something goes, or what it becomes ("add quad9 as
/// upstream dns").
const DESTINATIONS: &[&str] = &["to", "into", "behind", "through", "onto", "in", "as"];

/// Words after which a request to remove something names what it is removed from.
const SOURCES: &[&str] = &["from", "off"];

/// Words that, followed by one of [`PURPOSE_LINKS`], introduce what something is for: in "I
/// need something to manage my passwords" the request is for a password manager, not to manage
/// anything.
const PURPOSE_HEADS: &[&str] = &[
    "something",
    "somewhere",
    "anything",
    "place",
    "app",
    "application",
    "tool",
    "way",
    "software",
    "program",
    "service",
    "solution",
    "thing",
];

/// Words after a [`PURPOSE_HEADS`] word that begin its purpose.
const PURPOSE_LINKS: &[&str] = &["to", "that", "which", "for"];

/// Words after which a word is a noun: "storage for my backups" names backups, it asks for
/// no backing up. Articles are no sure sign: "run a backup" asks for one.
const POSSESSIVES: &[&str] = &["my", "our", "your", "their", "its", "his", "her"];

/// Words after which a text names what it compares the thing it means with ("workflow
/// automation like Zapier", "an alternative to Dropbox"), not the thing itself.
const COMPARISONS: &[&str] = &[
    "like",
    "alternative",
    "alternatives",
    "replacement",
    "instead",
];

/// Words after which the word before them is what a thing is compared with ("a self-hosted
/// Dropbox alternative", "a GitHub clone").
const COMPARED_BEFORE: &[&str] = &["alternative", "alternatives", "replacement", "clone"];

/// Words before "like" that make it a verb ("I'd like calibre web running").
const LIKERS: &[&str] = &["i", "we", "i'd", "we'd", "would", "you", "they"];

/// Verbs before "use" that make what is used a value the subject should take ("clients
/// should use pihole"), as "be" does.
const MODALS: &[&str] = &["should", "must", "shall"];

/// Who is speaking: after a clause boundary, a clause this starts tells what the speaker does
/// ("…, I'm about to wipe a disk", "before I upgrade the nas"), not work to do.
const SPEAKERS: &[&str] = &[
    "i", "i'm", "i'll", "i've", "i'd", "we", "we're", "we'll", "we've", "we'd",
];

/// Words that begin a clause about when or why ("before I upgrade the nas"). "When" and "if"
/// are not among them: "when I open grafana it shows an error" names what to fix.
const SUBORDINATORS: &[&str] = &[
    "before", "after", "because", "since", "while", "until", "as",
];

/// Words after a speaker that make the clause a request after all ("…, I want it on media01").
const WISHES: &[&str] = &["want", "need", "would", "like", "wish", "love", "prefer"];

/// Verbs that, before a verb in "-ing", only say it goes on or ended ("keeps crashing",
/// "stopped working"). "Stop" itself is not one: "stop running the backup" asks to stop it.
const ASPECT_VERBS: &[&str] = &[
    "keep",
    "keeps",
    "kept",
    "keeping",
    "stopped",
    "started",
    "continues",
    "continued",
];

/// Punctuation that ends a clause.
const CLAUSE_ENDS: &[char] = &[',', ';', ':', '!', '?', '—', '–', '(', ')'];

/// Shortest word taken for a product's name when it is no English word ("non", "vs" are not).
const MIN_PRODUCT_LENGTH: usize = 4;

/// Fewest and most capitals an acronym is written with ("VM", "HTTPS").
const MIN_ACRONYM: usize = 2;
const MAX_ACRONYM: usize = 6;

/// What a task word says about the playbook to pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WordClass {
    /// What to do: "deploy", "back up", "remove". Weighs most; a playbook must explain it.
    Action,
    /// What to do it to: "uptime", "kuma", "gitea", "certificates".
    Object,
    /// Words any playbook could be about ("server", "nightly"), which say little.
    Generic,
}

impl WordClass {
    pub fn weight(self) -> f64 {
        match self {
            WordClass::Action => 1.5,
            WordClass::Object => 1.0,
            WordClass::Generic => 0.4,
        }
    }
}

/// A content word of a text.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// The word as written (a phrase's words with spaces), for messages.
    pub surface: String,
    /// Lower-cased stem; a phrase's stems joined by spaces.
    pub stem: String,
    /// The word's letters and digits, lower-cased ("homeassistant" for "Home-Assistant"), to
    /// meet names written without spaces.
    pub compact: String,
    /// Concepts it means (indexes into the lexicon's concepts): those it is listed in and the
    /// ones they relate to.
    pub concepts: Vec<usize>,
    /// The name of a tool of a kind ("caddy"): it meets the kind's words, not other tools.
    pub tool: bool,
    /// Not an English word: the name of a product or project ("photoprism").
    pub product: bool,
    /// The first word of a request, or of what it says a thing is for, an English word not read
    /// as an action: in the imperative it is the verb ("monitor the UPS", "keep my containers
    /// updated", "something to manage my passwords"), not what the request is about, whatever
    /// else the word can mean.
    pub imperative: bool,
    /// A noun for who does what a verb says ("updater"): it names a tool, not work to do.
    pub agent: bool,
    /// An adverb of manner ("automatically"): how, not what. The matcher reads it as generic
    /// unless the repository names something after it (a product called "Feedly").
    pub manner: bool,
    pub class: WordClass,
    pub weight: f64,
    /// Written after a word that says where something goes ("to", "behind", "into"): in "add
    /// the portals to Kuma's config" the destination is what to run, the portals what to add.
    pub after_destination: bool,
    /// Written after "be": a value something should take ("it should be europe/amsterdam"),
    /// not what the request is about.
    pub value: bool,
    /// Named after "like" or "alternative to": what the wanted thing is compared with, not
    /// what the request is about.
    pub compared: bool,
    /// What the task adds somewhere ("sonarr" in "put sonarr behind the proxy"), set by the
    /// matcher: it is not what the task is about.
    pub argument: bool,
    /// Nearly every candidate explains it ("nas" in ansible-nas, whose every part is in
    /// `nas.yml`), set by the matcher: it names the repository, not one thing in it.
    pub names_repository: bool,
}

impl Token {
    /// A product's name the request may ask to deploy: one named where something goes ("show
    /// up in HomeKit", "back up to Backblaze") is what the work connects to, and a role whose
    /// description names it is the connection.
    pub fn may_be_deployed(&self) -> bool {
        self.product && !self.after_destination
    }

    /// True when the word belongs to the concept named `name`.
    pub fn is(&self, name: &str) -> bool {
        let concepts = &lexicon().concepts;
        self.concepts
            .iter()
            .any(|&index| concepts[index].name == name)
    }
}

/// Content words of a request, in order, each once; a misspelt vocabulary word ("deply") is
/// read as the word it misses.
pub(super) fn request_tokens(text: &str) -> Vec<Token> {
    read_tokens(text, true)
}

/// Content words of a repository's text (names, descriptions), in order, each once; taken as
/// written, since a name like "stats" is not a misspelling of "status".
pub(super) fn tokens(text: &str) -> Vec<Token> {
    read_tokens(text, false)
}

/// A network address in a text ("hass.home.lan", "https://<name>.home.lan", "192.168.1.20"):
/// where something is served, not words of what it is.
struct Address {
    /// Byte range of the address in the text.
    span: std::ops::Range<usize>,
    /// The domain its names live under ("home.lan"), lower-cased; empty for an IP address.
    domain: String,
}

/// The network addresses of `text`. In a request, a name of two labels ("healthchecks.io",
/// "netboot.xyz") is a product's name more often than an address, so a host name needs three;
/// a repository's "the home.lan names" names a domain with two.
fn addresses(text: &str, request: bool) -> Vec<Address> {
    let mut found = Vec::new();
    let mut offset = 0;
    for chunk in text.split_inclusive(char::is_whitespace) {
        let start = offset;
        offset += chunk.len();
        let trimmed = chunk
            .trim_end()
            .trim_end_matches([',', ';', ':', ')', '.', '!', '?', '"', '\'']);
        let lead = trimmed.len() - trimmed.trim_start_matches(['(', '"', '\'']).len();
        let word = &trimmed[lead..];
        let (scheme, host) = match word.split_once("://") {
            Some((_, rest)) => (true, rest.split(['/', ':']).next().unwrap_or_default()),
            None => (false, word),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let ip = labels.len() == 4
            && labels
                .iter()
                .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()));
        let named = labels.len() >= if request { 3 } else { 2 }
            && labels.iter().all(|label| !label.is_empty())
            && labels[1..]
                .iter()
                .all(|label| label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            && labels
                .last()
                .is_some_and(|top| top.chars().all(|c| c.is_ascii_alphabetic()));
        if !(ip || named || (scheme && labels.len() >= 2)) {
            continue;
        }
        let domain = if ip {
            String::new()
        } else {
            // The host's own name is the first label of three or more.
            let first = usize::from(labels.len() >= 3);
            labels[first..].join(".").to_lowercase()
        };
        found.push(Address {
            span: start + lead..start + lead + word.len(),
            domain,
        });
    }
    found
}

/// True when `text` names a network address ("hass.home.lan"): a place something goes.
pub(super) fn names_an_address(text: &str) -> bool {
    !addresses(text, true).is_empty()
}

fn read_tokens(text: &str, request: bool) -> Vec<Token> {
    let lexicon = lexicon();
    // The words of an address a request names are no service ("grafana.home.lan" is where
    // Grafana is served, and the certificate it needs is not Grafana's work): the address is
    // one word, its domain. A repository's text keeps the words too.
    let addresses = addresses(text, request);
    let address_of = |word: &str| {
        let start = offset_in(text, word);
        addresses
            .iter()
            .position(|address| address.span.contains(&start))
    };
    // Each address once, at the position among the other words where it was written.
    let mut address_at: Vec<(usize, &str)> = Vec::new();
    let mut words = Vec::new();
    for word in lexicon::raw_words(text) {
        match address_of(word) {
            Some(which) => {
                let domain = addresses[which].domain.as_str();
                if address_at.last().is_none_or(|(_, last)| *last != domain) {
                    address_at.push((words.len(), domain));
                }
                if !request {
                    words.push(word);
                }
            }
            None => words.push(word),
        }
    }
    let raw: Vec<&str> = words
        .into_iter()
        // "Kuma's config": the possessive says nothing.
        .map(|word| {
            word.strip_suffix("'s")
                .or_else(|| word.strip_suffix("’s"))
                .unwrap_or(word)
        })
        .collect();
    let context = if request {
        speaker_clauses(text, &raw)
    } else {
        vec![false; raw.len()]
    };
    // A text written all in capitals is shouted, not made of acronyms.
    let shouted = !text.chars().any(char::is_lowercase);
    // "Run the backup at 4am": a time of day says when work is scheduled.
    let clock_times: Vec<bool> = raw
        .iter()
        .map(|word| is_clock_time(&text[..offset_in(text, word)], word))
        .collect();
    let stems: Vec<String> = raw
        .iter()
        .zip(&clock_times)
        .map(|(word, &clock_time)| {
            let lower = word.to_lowercase();
            if clock_time {
                return lexicon.stem("schedule");
            }
            // "UPDATE the nas" is the vocabulary's "update", not an acronym.
            let vocabulary = !lexicon.concepts_of(&lexicon.stem(&lower)).is_empty();
            if let Some(acronym) = acronym(word).filter(|_| !shouted && !vocabulary) {
                return acronym;
            }
            request
                .then(|| lexicon.corrected(&lower))
                .flatten()
                .map_or_else(|| lexicon.stem(&lower), str::to_owned)
        })
        .collect();
    let mut tokens: Vec<Token> = Vec::new();
    let mut index = 0;
    let mut destination = false;
    let mut purpose = false;
    let mut purpose_verb = false;
    let mut value = false;
    let mut comparison = false;
    let mut pending_addresses = address_at.into_iter().peekable();
    loop {
        while let Some((_, domain)) = pending_addresses.next_if(|(position, _)| *position <= index)
        {
            if !domain.is_empty() && !tokens.iter().any(|token| token.stem == domain) {
                tokens.push(address_token(domain));
            }
        }
        if index >= raw.len() {
            break;
        }
        if context[index] {
            index += 1;
            continue;
        }
        let length = lexicon.phrase_at(&stems[index..]).unwrap_or(1);
        let surface = raw[index..index + length].join(" ");
        let stem = stems[index..index + length].join(" ");
        let lower = surface.to_lowercase();
        let clock_time = length == 1 && clock_times[index];
        if length == 1
            && PURPOSE_HEADS.contains(&lower.as_str())
            && raw
                .get(index + 1)
                .is_some_and(|next| PURPOSE_LINKS.contains(&next.to_lowercase().as_str()))
        {
            // "a place to", "an app that": a placeholder for what follows, not a word of it.
            purpose = true;
            // "Something to manage my passwords": the verb says what the thing does with what
            // the request is about.
            purpose_verb = !raw[index + 1].eq_ignore_ascii_case("for");
            index += length;
            continue;
        }
        let previous = index
            .checked_sub(1)
            .map(|before| raw[before].to_lowercase())
            .unwrap_or_default();
        let owned = POSSESSIVES.contains(&previous.as_str());
        if length == 1
            && COMPARISONS.contains(&lower.as_str())
            && !(lower == "like"
                && (LIKERS.contains(&previous.as_str())
                    || raw
                        .get(index + 1)
                        .is_some_and(|next| next.eq_ignore_ascii_case("to"))))
        {
            let names_before = COMPARED_BEFORE.contains(&lower.as_str())
                && !previous.is_empty()
                && !lexicon.is_stop_word(&previous);
            match tokens.last_mut() {
                Some(before) if names_before => before.compared = true,
                _ => comparison = true,
            }
            index += length;
            continue;
        }
        index += length;
        // "Exclude the downloads from the backup": what something is taken out of is where the
        // work is done, as where it is put is for "add".
        let source =
            SOURCES.contains(&lower.as_str()) && tokens.iter().any(|token| token.is("remove"));
        if length == 1 && (DESTINATIONS.contains(&lower.as_str()) || source) {
            destination = true;
        }
        // "It should be europe/amsterdam", "vpn clients should use pihole": what follows is
        // the value a setting of the subject takes.
        if length == 1 && (lower == "be" || (lower == "use" && MODALS.contains(&previous.as_str())))
        {
            value = true;
        }
        // "As well" is "also", a stop word.
        let as_well = lower == "well" && previous == "as";
        // "Caddy keeps crashing", "episodes stopped showing up": a verb that only says the
        // next one goes on or ended is no work of its own.
        let next_word = raw.get(index);
        let aspect = ASPECT_VERBS.contains(&lower.as_str())
            && next_word.is_some_and(|next| next.len() > 5 && next.to_lowercase().ends_with("ing"));
        let stop = lexicon.is_stop_word(&lower) && !clock_time;
        if length == 1 && (lower.chars().count() < 2 || stop || as_well || aspect) {
            continue;
        }
        if tokens.iter().any(|token| token.stem == stem) {
            continue;
        }
        let mut listed = lexicon.concepts_of(&stem).to_vec();
        let agent = length == 1 && lexicon.is_agent_noun(&lower);
        if agent {
            listed.retain(|&concept| !lexicon.concepts[concept].action);
        }
        let manner = length == 1 && lexicon.is_manner_adverb(&lower);
        // "We bought shelly plugs": what the speaker did is the story, not the work asked for.
        let narrated =
            request && SPEAKERS.contains(&previous.as_str()) && !WISHES.contains(&lower.as_str());
        let class = match class_of(&listed) {
            _ if narrated => WordClass::Generic,
            // What something is for describes it: "manage" in "something to manage passwords";
            // "shut down cleanly" asks for no cleaning.
            WordClass::Action if purpose || manner || owned => WordClass::Object,
            class => class,
        };
        let concepts = lexicon.meanings(&listed);
        // "doesn't" is English however WordNet spells it.
        let product = class == WordClass::Object
            && stem.chars().count() >= MIN_PRODUCT_LENGTH
            && !stem.contains(['\'', '’'])
            && !lexicon.is_english(&stem);
        // "A self-hosted Dropbox" is something in Dropbox's stead, as "a Dropbox alternative" is.
        let self_hosted_before = tokens.last().is_some_and(|before| {
            before.is("deploy") && before.surface.to_lowercase().ends_with("self hosted")
        });
        tokens.push(Token {
            tool: lexicon.is_tool(&stem),
            product,
            agent,
            manner: manner && class == WordClass::Object,
            imperative: request
                && length == 1
                && ((tokens.is_empty() && !purpose) || purpose_verb)
                && class == WordClass::Object
                && lexicon.is_english(&stem),
            compact: compact(&surface),
            surface,
            stem,
            concepts,
            class,
            weight: class.weight(),
            after_destination: destination,
            value,
            compared: comparison || (product && self_hosted_before),
            argument: false,
            names_repository: false,
        });
        purpose_verb = false;
    }
    // A word before an action qualifies it ("base setup of every box"): no verb of its own.
    if let [first, second, ..] = tokens.as_mut_slice()
        && second.class == WordClass::Action
    {
        first.imperative = false;
    }
    tokens
}

/// Marks the words of `raw` (words sliced out of `text`) in clauses about what the speaker
/// does: a speaker after a clause boundary (punctuation, or a word like "before") up to the next
/// punctuation, the word that began the clause included, unless the speaker wishes for something.
fn speaker_clauses(text: &str, raw: &[&str]) -> Vec<bool> {
    let offset = |word: &str| offset_in(text, word);
    let lower = |word: &str| word.to_lowercase().replace(lexicon::APOSTROPHES, "'");
    let mut marks = vec![false; raw.len()];
    let mut inside = false;
    for (index, word) in raw.iter().enumerate() {
        let Some(before) = index.checked_sub(1) else {
            continue;
        };
        let gap = text
            .get(offset(raw[before]) + raw[before].len()..offset(word))
            .unwrap_or_default();
        let punctuated = gap.contains(CLAUSE_ENDS) || gap.contains(". ");
        if punctuated {
            inside = false;
        }
        let subordinated = SUBORDINATORS.contains(&lower(raw[before]).as_str());
        let wishes = raw
            .get(index + 1)
            .is_some_and(|next| WISHES.contains(&lower(next).as_str()));
        if !inside
            && (punctuated || subordinated)
            && SPEAKERS.contains(&lower(word).as_str())
            && !wishes
        {
            inside = true;
            marks[before] |= subordinated && !punctuated;
        }
        marks[index] = inside;
    }
    marks
}

/// The word an address's `domain` is: a place, where a request puts something.
fn address_token(domain: &str) -> Token {
    Token {
        surface: domain.to_owned(),
        stem: domain.to_owned(),
        compact: compact(domain),
        concepts: Vec::new(),
        tool: false,
        product: false,
        imperative: false,
        agent: false,
        manner: false,
        class: WordClass::Object,
        weight: WordClass::Object.weight(),
        after_destination: true,
        value: false,
        compared: false,
        argument: false,
        names_repository: false,
    }
}

/// The words of a vocabulary phrase ("ad" and "blocker" of "ad blocker"), each read on its
/// own; none for a single word.
pub(super) fn phrase_words(phrase: &Token) -> Vec<Token> {
    if !phrase.surface.contains(' ') {
        return Vec::new();
    }
    phrase.surface.split(' ').flat_map(tokens).collect()
}

/// The lower-cased acronym a word written in capitals stands for, plural or not ("UPS" and
/// "UPSes" are `ups`, "VMs" is `vm`): an acronym is no English word to stem ("UPS" is not
/// "up") or to correct.
/// Where `word`, a slice of `text`, begins in it.
fn offset_in(text: &str, word: &str) -> usize {
    word.as_ptr() as usize - text.as_ptr() as usize
}

/// Whether `word`, written after `before`, is a time of day: "4am", "11pm", or the "am" of
/// "4 am".
fn is_clock_time(before: &str, word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let Some(hour) = lower
        .strip_suffix("am")
        .or_else(|| lower.strip_suffix("pm"))
    else {
        return false;
    };
    let is_hour = |digits: &str| {
        (1..=2).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !hour.is_empty() {
        return is_hour(hour);
    }
    // "4 am": the hour is a number before it, which is no word of its own.
    let before = before.trim_end();
    let number_at = before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    is_hour(&before[number_at..])
}

fn acronym(word: &str) -> Option<String> {
    let capitals = word.chars().take_while(char::is_ascii_uppercase).count();
    let rest = &word[capitals..];
    ((MIN_ACRONYM..=MAX_ACRONYM).contains(&capitals) && ["", "s", "es"].contains(&rest))
        .then(|| word[..capitals].to_ascii_lowercase())
}

/// The class of a word with `concepts`: an action if any is one, generic if all are generic.
fn class_of(concepts: &[usize]) -> WordClass {
    let known = &lexicon().concepts;
    if concepts.iter().any(|&index| known[index].action) {
        WordClass::Action
    } else if !concepts.is_empty() && concepts.iter().all(|&index| known[index].generic) {
        WordClass::Generic
    } else {
        WordClass::Object
    }
}

/// Letters and digits of `text`, lower-cased.
pub(super) fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `word` of each content word of the request `text`.
    fn request_words(text: &str, word: impl Fn(Token) -> String) -> Vec<String> {
        request_tokens(text).into_iter().map(word).collect()
    }

    fn surfaces(text: &str) -> Vec<(String, WordClass)> {
        tokens(text)
            .into_iter()
            .map(|token| (token.surface, token.class))
            .collect()
    }

    #[test]
    fn an_address_in_a_request_is_one_word_its_domain() {
        let stems = |text: &str| request_words(text, |token| token.stem);
        assert_eq!(
            stems("publish grafana at https://grafana.home.lan/, please"),
            ["publish", "grafana", "home.lan"]
        );
        assert_eq!(
            stems("point nas01.home.lan at 192.168.1.20"),
            ["point", "home.lan"]
        );
        // Two labels name a product more often than a host.
        assert_eq!(
            stems("install healthchecks.io"),
            ["instal", "healthcheck", "io"]
        );
        // A repository's text keeps the words and names the domain too.
        let written: Vec<String> = tokens("certificates for the home.lan names")
            .into_iter()
            .map(|token| token.stem)
            .collect();
        assert_eq!(written, ["certif", "home.lan", "home", "lan", "name"]);
    }

    #[test]
    fn phrases_stop_words_and_classes() {
        assert_eq!(
            surfaces("Please set up the reverse proxy for Kuma's config, nightly"),
            [
                ("set up".to_owned(), WordClass::Action),
                ("reverse proxy".to_owned(), WordClass::Object),
                ("Kuma".to_owned(), WordClass::Object),
                ("config".to_owned(), WordClass::Action),
                ("nightly".to_owned(), WordClass::Generic),
            ]
        );
    }

    #[test]
    fn what_something_is_for_describes_it() {
        assert_eq!(
            surfaces("I need something to back up my photos"),
            [
                ("back up".to_owned(), WordClass::Object),
                ("photos".to_owned(), WordClass::Object),
            ]
        );
        assert_eq!(surfaces("back up my photos")[0].1, WordClass::Action);
    }

    #[test]
    fn what_the_speaker_does_is_no_work_to_do() {
        let said = |task: &str| -> Vec<String> {
            request_tokens(task)
                .into_iter()
                .map(|token| token.surface)
                .collect()
        };
        assert_eq!(
            said("take a backup before I upgrade the nas"),
            ["take", "backup"]
        );
        assert_eq!(
            said("run restic now, I’m about to wipe a disk"),
            ["restic", "now"]
        );
        // A speaker who wishes for something asks for it; a condition names what to fix.
        assert!(said("add a share, we need it for the scans").contains(&"scans".to_owned()));
        assert!(said("when I open grafana it shows an error").contains(&"grafana".to_owned()));
        assert_eq!(said("back up the nas as well"), said("back up the nas"));
        // A repository's prose is read whole.
        assert!(
            tokens("run it before we upgrade")
                .iter()
                .any(|token| token.surface == "upgrade")
        );
    }

    #[test]
    fn contractions_are_no_product_names() {
        let words = tokens("a wiki that doesn't need a database, I'm told");
        assert!(
            words.iter().all(|word| !word.surface.contains('\'')),
            "{words:?}"
        );
        assert!(tokens("install photoprism")[1].product);
    }

    #[test]
    fn what_the_speaker_did_is_the_story_not_the_work() {
        let tokens = request_tokens("we bought shelly plugs, they need a login");
        let bought = tokens
            .iter()
            .find(|token| token.surface == "bought")
            .expect("bought is a word");
        assert_eq!(bought.class, WordClass::Generic);
        let tokens = request_tokens("we want grafana");
        assert!(
            tokens
                .iter()
                .any(|token| token.surface == "grafana" && token.class == WordClass::Object)
        );
    }

    #[test]
    fn a_verb_that_says_another_goes_on_is_no_work() {
        let surfaces = |task: &str| request_words(task, |token| token.surface);
        assert_eq!(surfaces("caddy keeps crashing"), ["caddy", "crashing"]);
        assert_eq!(
            surfaces("keep prometheus data"),
            ["keep", "prometheus", "data"]
        );
    }

    #[test]
    fn a_time_of_day_says_when_work_is_scheduled() {
        let schedule = lexicon().stem("schedule");
        for task in [
            "run the backup at 4am",
            "run the backup at 4 AM",
            "back up at 11:30 pm",
        ] {
            let tokens = request_tokens(task);
            assert!(
                tokens.iter().any(|token| token.stem == schedule),
                "{task}: {tokens:#?}"
            );
        }
        for task in ["I am moving the backup disk", "the spam filter"] {
            let tokens = request_tokens(task);
            assert!(
                !tokens.iter().any(|token| token.stem == schedule),
                "{task}: {tokens:#?}"
            );
        }
    }

    #[test]
    fn acronyms_adverbs_and_the_leading_verb() {
        let stems: Vec<String> = tokens("UPS UPSes VMs NAS ups")
            .into_iter()
            .map(|token| token.stem)
            .collect();
        assert_eq!(stems, ["ups", "vm", "nas", "up"]);
        assert_eq!(tokens("UPDATE the UPS")[0].stem, lexicon().stem("update"));
        assert_eq!(tokens("MONITOR THE UPS")[1].stem, "up");
        let words = tokens("shut down cleanly and automatically, then apply");
        assert_eq!(words[1].class, WordClass::Object, "{words:?}");
        assert!(words[1].manner && words[2].manner, "{words:?}");
        assert!(!words[3].manner, "{words:?}");
        assert!(request_tokens("monitor the UPS")[0].imperative);
        let purpose = request_tokens("I need something to manage my passwords");
        assert!(
            purpose[0].imperative && !purpose[1].imperative,
            "{purpose:?}"
        );
        assert!(!request_tokens("a place for photos")[0].imperative);
        assert!(!tokens("monitor the UPS")[0].imperative);
        assert!(!request_tokens("reverse proxy for the apps")[0].imperative);
    }

    #[test]
    fn words_are_kept_once_and_compacted() {
        let words = tokens("Home-Assistant and home assistants");
        assert_eq!(words.len(), 2, "{words:?}");
        assert_eq!(words[0].compact, "home");
        assert_eq!(words[1].compact, "assistant");
        assert_eq!(tokens("HomeAssistant")[0].compact, "homeassistant");
    }
}
