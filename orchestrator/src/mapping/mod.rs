//! Task → playbook mapping (INFRA-02): ranks what a task could run — whole playbooks, and the
//! parts of site playbooks that their tags select — each with a confidence in [0, 1] and the
//! reasons a person can check.
//!
//! # How a match is scored
//!
//! The task is cut into content words ([`words`]): lower-cased, stemmed (Snowball English), stop
//! words dropped, vocabulary phrases joined ("set up", "reverse proxy"). Each word may belong to
//! concepts of the infrastructure vocabulary ("install", "set up" and "deploy" all mean
//! *deploy*; "caddy" is a *reverse proxy*) and has WordNet synonyms ([`lexicon`]).
//!
//! Every candidate is indexed by field ([`candidates`]), and each field has a strength. A task
//! word is *explained* by a candidate with the strength of the strongest field holding the same
//! word; a concept, a misspelling or a WordNet synonym counts less, and a name written without
//! spaces ("homeassistant") meets two neighbouring words. A candidate that deploys something
//! explains "install" or "update" by what it is. The confidence is the weighted share of the
//! task's words a candidate explains, so a task half made of words the repository does not know
//! ("install a minecraft server") cannot reach a high confidence however well the other half
//! matches. Then:
//!
//! - a common English word ("keep", "place", "family") weighs less than a rare one ("subtitles",
//!   "rss"), by its frequency in general English, unless the repository names something after
//!   it; and a word many candidates explain weighs less than one few do;
//! - a word a competitor explains through a stronger field counts less for the weaker candidate
//!   ("portal" is what `deploy-portal.yml` is named after; the monitors playbook only mentions
//!   portals), so the runner-up's confidence says how plausible it really is;
//! - action words ("deploy", "back up", "remove", …) weigh more than other words, and a candidate
//!   that does not explain the task's action loses much of its confidence: a playbook that
//!   deploys Uptime Kuma is the wrong answer to "remove Uptime Kuma";
//! - a candidate that explains only the action and none of the things the task names is weak
//!   evidence: many playbooks deploy *something*; one that leaves unexplained what the task is
//!   about (its first thing: "kernel" in "upgrade the kernel on the nas") answers another task;
//!   a word nearly every candidate explains ("nas" in ansible-nas) names the repository, not a
//!   thing in it;
//! - a network address ("hass.home.lan") is one word, its domain, and says where something goes:
//!   "publish home assistant at hass.home.lan" publishes Home Assistant, it does not deploy it;
//! - candidates whose name the task covers rank above broader ones that merely mention the same
//!   words (`deploy-uptime-kuma.yml` over `site.yml` for "deploy Uptime Kuma"), and a whole
//!   playbook ranks above an equally good part of another one (it is the simpler command).
//!
//! Below the threshold the answer is "no playbook fits", still with the closest candidates and
//! advice on what to write instead.

mod candidates;
mod explain;
mod lexicon;
mod options;
mod targets;
mod words;

pub use options::{StatedOptions, stated_options};

use crate::planner::RunOptions;
use candidates::{Candidate, Explanation, Field, Place};
use chiffon_proto::v1::{Playbook, PlaybookPart};
use std::collections::BTreeSet;
use words::{Token, WordClass};

/// Confidence a candidate needs to be used for a task, unless configured otherwise
/// ([`OrchestratorConfig::match_threshold`](crate::OrchestratorConfig::match_threshold)).
///
/// Chosen on the tuning and development sets, never on the held-out ones (run `cargo bench -p
/// chiffon-orchestrator --bench mapping`, which prints accuracy for thresholds from 0.20 to 0.80
/// on those sets). A candidate that leaves what the request is about unexplained loses much of
/// its confidence (see `UNEXPLAINED_HEAD_FACTOR`), so requests nothing in the repository does
/// mostly stay below 0.3, while right answers to requests that describe a service in other
/// words ("a place to read rss feeds") score from 0.3 up. 0.30 is where accuracy peaks on every
/// set; below it, requests nothing does start to find a playbook, which is the costlier mistake:
/// a plan that needs a custom playbook cannot be approved until someone looks at it, a wrong
/// playbook would run as approved.
pub const DEFAULT_THRESHOLD: f64 = 0.30;

/// How many candidates a match returns unless asked for another number.
pub const DEFAULT_LIMIT: usize = 5;

/// The request that has Chiffon write a playbook and role for a service, before the service.
pub const TEMPLATE_OFFER: &str = "generate a template for deploying";

/// How much of the confidence depends on the task covering the candidate's name: a candidate
/// whose name the task leaves entirely unexplained keeps 1 - this.
const NAME_SPECIFICITY_WEIGHT: f64 = 0.15;
/// How hard a stronger competitor reduces a weaker candidate's credit for a word: the credit is
/// multiplied by (own strength / competitor's strength) to this power.
const COMPETITION_EXPONENT: f64 = 1.0;
/// Confidence kept for each action word of the task the candidate does not explain (at most two
/// count).
const UNEXPLAINED_ACTION_FACTOR: f64 = 0.55;
/// Confidence kept for each of the task's first object words the candidate does not explain,
/// when the word is a product's name or a rare English word (commoner words cost less): "install
/// kubernetes on the nas" is not about the NAS's docker role.
const UNEXPLAINED_HEAD_FACTOR: f64 = 0.6;
/// Confidence kept for each tool the task names that the candidate does not explain while it
/// names another tool of the same kind (at most two count).
const RIVAL_TOOL_FACTOR: f64 = 0.5;
/// Weight kept by what a task adds somewhere ("grafana" in "put grafana behind the proxy").
const ARGUMENT_WEIGHT: f64 = 0.5;
/// How many of a task's first object words say what it is about.
const HEAD_OBJECTS: usize = 2;
/// Weight kept by a word every candidate explains; rarer words keep more, up to all of it.
const COMMON_WORD_WEIGHT: f64 = 0.5;
/// Zipf frequency (log10 of occurrences per billion words) at which a task word keeps half its
/// weight: commoner words ("place", "keep", "family") say less about which playbook is meant
/// than rarer ones ("subtitles", "rss"), in any repository.
const HALF_WEIGHT_ZIPF: f64 = 5.0;
/// Strength from which an explanation counts when judging how common a word is in the
/// repository: a task's name or more, not a template's or a variable's.
const TELLING_STRENGTH: f64 = 0.5;
/// Weight kept by an English word that nothing in the repository explains.
const UNKNOWN_WORD_WEIGHT: f64 = 0.5;
/// How many candidates must name settings after a word no dictionary knows for it to be a
/// word of the trade ("hostname") rather than a product's name.
const SETTING_NAME_USES: usize = 2;
/// Confidence kept when the task names things but the candidate explains none of them, or only
/// through WordNet synonyms, which mix every sense of a word.
const NO_OBJECT_FACTOR: f64 = 0.5;
/// Share of the candidates that, explaining a word, make it the repository's own name rather than
/// a thing in it.
const EVERYWHERE_SHARE: f64 = 0.9;
/// Confidence a whole site playbook keeps when the task neither names it nor asks for everything:
/// running everything is the costliest reading of a request, taken only when asked for.
const UNASKED_SITE_FACTOR: f64 = 0.8;
/// Confidence a part keeps against an equally good whole playbook: running
/// `deploy-uptime-kuma.yml` is simpler than `site.yml --tags deploy --limit monitoring`.
const PART_FACTOR: f64 = 0.98;

/// One candidate for a task: a playbook, or a part of one selected by tags.
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
    /// Why, for people: "name matches 'uptime', 'kuma'", "deploys service gitea", …
    pub reasons: Vec<String>,
}

/// The answer to "which playbook does this task?".
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOutcome {
    /// Candidates, best first; the closest ones also when none fits. Candidates with no evidence
    /// at all are left out.
    pub matches: Vec<PlaybookMatch>,
    /// True when the best candidate reaches the threshold.
    pub fits: bool,
    /// The confidence a candidate needed.
    pub threshold: f64,
    /// What to do next, in a sentence.
    pub advice: String,
    /// True when the task asks to deploy something (so a template could be written for it).
    pub asks_to_deploy: bool,
    /// When the task names several products that candidates are named after and the best fit
    /// only mentions one of them, all of them in the task's order: each is work of its own (see
    /// `Matcher::separate_products`). Empty otherwise.
    pub separate_products: Vec<String>,
}

impl MatchOutcome {
    /// The candidate to use, when one fits.
    pub fn best_fit(&self) -> Option<&PlaybookMatch> {
        self.matches.first().filter(|_| self.fits)
    }
}

/// A catalog indexed for matching; build it once and match many tasks against it.
pub struct Matcher<'a> {
    candidates: Vec<Candidate<'a>>,
    /// The groups and hosts the catalog's plays run on, lower-cased: where a task may say to run.
    places: BTreeSet<String>,
    hosts: targets::Hosts,
}

/// Ranks `catalog` for `task`; see [`Matcher::rank`].
pub fn rank(task: &str, catalog: &[Playbook], threshold: f64, limit: usize) -> MatchOutcome {
    Matcher::new(catalog).rank(task, threshold, limit)
}

impl<'a> Matcher<'a> {
    /// Indexes `catalog`: every playbook and every part its tags select.
    pub fn new(catalog: &'a [Playbook]) -> Self {
        let mut places = BTreeSet::new();
        for play in catalog.iter().flat_map(|playbook| &playbook.play_details) {
            places.extend(
                play.host_pattern
                    .split([',', ':'])
                    .map(|term| term.trim().trim_start_matches(['!', '&']).to_lowercase())
                    .filter(|term| !term.is_empty() && term != "all" && !term.contains(['*', '{'])),
            );
            for targets in &play.targets {
                places.extend(targets.groups.iter().map(|group| group.to_lowercase()));
                places.extend(targets.hosts.iter().map(|host| host.to_lowercase()));
            }
        }
        Self {
            candidates: candidates::index(catalog),
            places,
            hosts: targets::Hosts::of(catalog.iter().flat_map(|playbook| &playbook.play_details)),
        }
    }

    /// Ranks the catalog for `task`, returning at most `limit` candidates. The task is not
    /// validated here: empty or unknown words simply explain nothing.
    pub fn rank(&self, task: &str, threshold: f64, limit: usize) -> MatchOutcome {
        let stated = stated_options(task);
        let placed = targets::place(&stated.what, &self.places);
        let mut words = words::request_tokens(&placed.what);
        let explain_all = |words: &[Token]| -> Vec<Vec<Explanation>> {
            self.candidates
                .iter()
                .map(|candidate| candidate.explain(words))
                .collect()
        };
        let mut explanations = explain_all(&words);
        // A word no dictionary knows that the repository names settings after (`plex_hostname`,
        // `deluge_hostname`, …) but nothing else is a word of the trade, not a product's name:
        // "change the hostname" asks for what sets it, wherever prose says so.
        let mut trade_words = false;
        for (position, word) in words.iter_mut().enumerate() {
            let settings = explanations
                .iter()
                .filter(|candidate| {
                    let explanation = &candidate[position];
                    explanation.literal
                        && matches!(
                            explanation.place,
                            Some(Place::Item(Field::Variable | Field::Template, _))
                        )
                })
                .count();
            let named = explanations
                .iter()
                .any(|candidate| candidate[position].by_name());
            if word.product && settings >= SETTING_NAME_USES && !named {
                word.product = false;
                trade_words = true;
            }
        }
        if trade_words {
            explanations = explain_all(&words);
        }
        // What a request compares the wanted thing with ("like Zapier") counts as little,
        // unless the repository says what stands in for it ("a Dropbox alternative").
        for (position, word) in words.iter_mut().enumerate() {
            let stood_in_for = explanations
                .iter()
                .any(|candidate| candidate[position].stands_in_for);
            if word.compared && !stood_in_for {
                word.weight *= ARGUMENT_WEIGHT;
                word.argument = true;
            }
        }
        // "Fix the timezone, it should be europe/amsterdam": the value is an argument too.
        for word in words
            .iter_mut()
            .filter(|word| word.value && word.class == WordClass::Object)
        {
            word.weight *= ARGUMENT_WEIGHT;
            word.argument = true;
        }
        // "Put grafana behind the reverse proxy", "add the portals to Kuma's config": what is
        // added is an argument of the work; where it goes says which playbook does it. So is
        // what is removed from something ("exclude the downloads from the backup").
        if let Some(action) = words
            .iter()
            .position(|word| word.is("add") || word.is("remove"))
        {
            let has_destination = words.iter().any(|word| word.after_destination)
                || words::names_an_address(&placed.what);
            let mut takes_arguments = false;
            for word in words.iter_mut().skip(action + 1) {
                if has_destination && !word.after_destination && word.class == WordClass::Object {
                    word.weight *= ARGUMENT_WEIGHT;
                    word.argument = true;
                    takes_arguments = true;
                }
            }
            // "Remove my old laptop from wireguard" uninstalls nothing: taking an entry out of
            // what a role manages changes its settings, which running the role again does.
            if takes_arguments && words[action].is("remove") {
                let lexicon = lexicon::lexicon();
                words[action].concepts =
                    lexicon.meanings(lexicon.concepts_of(&lexicon.stem("configure")));
                explanations = explain_all(&words);
            }
        }
        // "Back up the home assistant config": work a part of the repository is named for, done
        // to another part, is the first part's work; the thing it is done to is its argument,
        // as what is added somewhere is.
        if let Some(verb) = words
            .iter()
            .position(|word| word.imperative || word.class == WordClass::Action)
        {
            // Named for the work itself, not for a helper it runs beside its main service (the
            // `bw-backup` container of a password manager backs up nothing else).
            let does_the_work = |candidate: &Vec<Explanation>| {
                candidate[verb].by_name()
                    && !matches!(
                        candidate[verb].place,
                        Some(Place::Item(Field::Service | Field::Image, item)) if item > 0
                    )
            };
            if explanations.iter().any(does_the_work) {
                for position in verb + 1..words.len() {
                    let object = |candidate: &Vec<Explanation>| candidate[position].by_name();
                    let named_by_another = explanations
                        .iter()
                        .any(|candidate| object(candidate) && candidate[verb].strength == 0.0);
                    let named_by_a_doer = explanations
                        .iter()
                        .any(|candidate| object(candidate) && does_the_work(candidate));
                    let word = &mut words[position];
                    if word.class == WordClass::Object
                        && !word.argument
                        && named_by_another
                        && !named_by_a_doer
                    {
                        word.weight *= ARGUMENT_WEIGHT;
                        word.argument = true;
                    }
                }
            }
        }
        // A word many candidates explain ("manager", "server") tells less about which one is
        // meant than a word few explain ("password"): its weight falls with how many do.
        let total = self.candidates.len().max(1) as f64;
        for (position, word) in words.iter_mut().enumerate() {
            let names_something = explanations
                .iter()
                .any(|candidate| candidate[position].by_name());
            // "Prometheus is using too much disk": a first word the repository names something
            // after is that thing, not a verb, whatever else the dictionary knows it as.
            if word.imperative
                && explanations
                    .iter()
                    .any(|candidate| candidate[position].by_name() && candidate[position].literal)
            {
                word.imperative = false;
            }
            // "Automatically", "cleanly": how the work is done, not what it is about.
            if word.manner && !names_something {
                word.class = WordClass::Generic;
                word.weight = WordClass::Generic.weight();
            }
            let explaining = explanations
                .iter()
                .filter(|candidate| candidate[position].strength > 0.0)
                .count();
            // An English word nothing in the repository knows mostly qualifies the request
            // ("for the family", "for our gaming group"); a product's name nothing knows is what
            // the request is about ("install kubernetes") and keeps its weight.
            if word.class == WordClass::Object && !word.product && explaining == 0 {
                word.weight *= UNKNOWN_WORD_WEIGHT;
            }
            // A common English word says little ("keep", "place", "family"), unless the
            // repository names something after it (the tag `backup_now` for "right now").
            if word.class == WordClass::Object && !names_something {
                word.weight *= informativeness(&word.surface);
            }
            // Only what says something counts: dozens of variables named `*_password` do not
            // make "password" a common word of the repository.
            let telling = explanations
                .iter()
                .filter(|candidate| candidate[position].strength >= TELLING_STRENGTH)
                .count();
            if word.class == WordClass::Object && telling > 0 {
                let rarity = (total / telling as f64).ln() / total.ln().max(1.0);
                word.weight *= COMMON_WORD_WEIGHT + (1.0 - COMMON_WORD_WEIGHT) * rarity;
            }
            word.names_repository = telling as f64 >= EVERYWHERE_SHARE * total;
        }
        // "Apply everything on the edge box", "rebuild the media box": a place and nothing to
        // run there but the work asks for all of it.
        let asks_for_everything = words.iter().any(|word| word.is("site"))
            || (placed.limit.is_some()
                && !words.iter().any(|word| word.class == WordClass::Object));
        let mut scored: Vec<(f64, usize)> = (0..self.candidates.len())
            .map(|index| {
                let confidence = self.confidence(index, &words, &explanations, asks_for_everything);
                (confidence, index)
            })
            .filter(|(confidence, _)| *confidence > 0.0)
            .collect();
        // Best first; on a tie the one that runs fewer roles (a role rather than the group
        // holding it), then the earlier candidate (playbooks by path, each before its parts),
        // so answers are deterministic.
        let breadth = |index: usize| self.candidates[index].roles().len();
        scored.sort_by(|(a, ia), (b, ib)| {
            b.total_cmp(a)
                .then_with(|| breadth(*ia).cmp(&breadth(*ib)))
                .then_with(|| ia.cmp(ib))
        });
        let fits = scored
            .first()
            .is_some_and(|(confidence, _)| *confidence >= threshold);
        let matches: Vec<PlaybookMatch> = scored
            .iter()
            .take(limit)
            .map(|&(confidence, index)| {
                let candidate = &self.candidates[index];
                let mut selection = selection(candidate);
                let mut reasons = explain::reasons(candidate, &words, &explanations[index]);
                if let Some(place) = &placed.limit {
                    // The request's own place narrows the part's play, which never runs beyond
                    // its hosts anyway; a place none of them is would select no host, so the
                    // part keeps its own and says so.
                    if self.hosts.run_on(&candidate.plays(), place) == Some(false) {
                        reasons.push(explain::elsewhere(candidate, place));
                    } else {
                        selection.limit.clone_from(place);
                    }
                }
                selection.check_mode = stated.check_mode;
                selection.diff = stated.diff;
                PlaybookMatch {
                    playbook: candidate.playbook.clone(),
                    part: candidate.part.cloned(),
                    selection,
                    confidence,
                    reasons,
                }
            })
            .collect();
        let advice = explain::advice(task, &words, &explanations, &matches, fits, threshold);
        MatchOutcome {
            matches,
            fits,
            threshold,
            advice,
            asks_to_deploy: words
                .iter()
                .any(|word| word.class == WordClass::Action && word.is("deploy")),
            separate_products: scored
                .first()
                .filter(|_| fits)
                .map(|&(_, best)| self.separate_products(best, &words, &explanations))
                .unwrap_or_default(),
        }
    }

    /// The products the task names that candidates are named after, in the task's order, when
    /// the best candidate `best` only mentions one of them in prose while another candidate is
    /// named after it: "set up lidarr with prowlarr as its indexer" is answered by Prowlarr
    /// (whose description mentions Lidarr), yet Lidarr is work of its own. Empty otherwise.
    fn separate_products(
        &self,
        best: usize,
        words: &[Token],
        explanations: &[Vec<Explanation>],
    ) -> Vec<String> {
        let named_by = |position: usize| {
            explanations
                .iter()
                .enumerate()
                .filter(move |(_, theirs)| theirs[position].by_name())
                .map(|(candidate, _)| candidate)
        };
        let overlooked = words.iter().enumerate().any(|(position, word)| {
            word.product
                && !explanations[best][position].by_name()
                && named_by(position).next().is_some()
        });
        if !overlooked {
            return Vec::new();
        }
        words
            .iter()
            .enumerate()
            .filter(|(position, word)| word.product && named_by(*position).next().is_some())
            .map(|(_, word)| word.surface.clone())
            .collect()
    }

    /// The confidence of candidate `index` for the task `words`, given how every candidate
    /// explains each word and whether the task asks for everything.
    fn confidence(
        &self,
        index: usize,
        words: &[Token],
        explanations: &[Vec<Explanation>],
        asks_for_everything: bool,
    ) -> f64 {
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

        // What a task is about comes first ("install kubernetes on the nas", "upgrade the
        // kernel on the nas"); a thing named later mostly qualifies ("set up nfs exports"),
        // unless it is a product of its own. A candidate that leaves it unexplained, or only
        // mentions the product in prose, answers another request, the more so the more telling
        // the word is: a product's name, "kernel", more than "read".
        let heads = words
            .iter()
            .zip(own)
            .filter(|(word, _)| {
                word.class == WordClass::Object && !word.argument && !word.imperative
            })
            .take(HEAD_OBJECTS)
            .enumerate();
        // A product the candidate's prose mentions is another product, unless the candidate is
        // named after what the task asks for: then it is a feature ("hardware transcoding for
        // jellyfin").
        let named_after_the_task = own.iter().any(Explanation::by_name);
        for (rank, (word, explained)) in heads {
            let in_prose =
                matches!(explained.place, Some(Place::Item(field, _)) if field.is_prose());
            // Prose describes the product when a phrase of it holds other task words, the
            // candidate manages a file named after it, or is what the task compares it with.
            let described = explained.in_phrase
                || explained.artefact
                || named_after_the_task
                || (word.compared && explained.stands_in_for);
            let unexplained =
                explained.strength == 0.0 || (word.may_be_deployed() && in_prose && !described);
            if !unexplained || (rank > 0 && !word.product) {
                continue;
            }
            let telling = if word.product {
                1.0
            } else {
                informativeness(&word.surface)
            };
            confidence *= 1.0 - (1.0 - UNEXPLAINED_HEAD_FACTOR) * telling;
        }

        // A tool the task names is what it wants, wherever it is named: a candidate built on
        // another tool of its kind answers another request ("a vpn server with wireguard" is
        // not OpenVPN), though one that merely does the kind's work may serve ("a proxy with
        // lets encrypt certs" is Traefik managing certificates).
        let candidate = &self.candidates[index];
        let rival_tools = words
            .iter()
            .zip(own)
            .filter(|(word, explained)| explained.strength == 0.0 && candidate.names_rival_of(word))
            .count();
        confidence *= RIVAL_TOOL_FACTOR.powi(rival_tools.min(2) as i32);

        // An imperative's verb ("keep my containers updated") names nothing, nor does what is
        // added somewhere or taken out of it.
        let is_object =
            |word: &Token| word.class == WordClass::Object && !word.imperative && !word.argument;
        let names_objects = words.iter().any(is_object);
        // A word naming the repository names no thing in it, unless a sentence of the candidate
        // says it with other words of the task ("ensure your NAS is online").
        let explains_an_object = words.iter().zip(own).any(|(word, explained)| {
            is_object(word)
                && explained.strength > 0.0
                && !explained.synonym
                && (explained.in_phrase || !word.names_repository)
        });
        if names_objects && !explains_an_object {
            confidence *= NO_OBJECT_FACTOR;
        }

        let specificity = candidate.name_coverage(words);
        if candidate.site && specificity == 0.0 && !asks_for_everything {
            confidence *= UNASKED_SITE_FACTOR;
        }
        confidence *= 1.0 - NAME_SPECIFICITY_WEIGHT * (1.0 - specificity);
        if candidate.part.is_some() {
            confidence *= PART_FACTOR;
        }
        confidence.clamp(0.0, 1.0)
    }
}

/// The tags and limit that run a candidate: a part's tags, and, in a playbook whose plays run
/// on different hosts, the host patterns of the part's plays.
fn selection(candidate: &Candidate<'_>) -> RunOptions {
    let Some(part) = candidate.part else {
        return RunOptions::default();
    };
    let plays = &candidate.playbook.play_details;
    let patterns: BTreeSet<&str> = plays
        .iter()
        .map(|play| play.host_pattern.as_str())
        .collect();
    let own: Vec<&str> = candidates::plays_of(candidate.playbook, part)
        .into_iter()
        .map(|play| play.host_pattern.as_str())
        .filter(|pattern| !pattern.is_empty())
        .collect();
    let own_set: BTreeSet<&str> = own.iter().copied().collect();
    let limit = if patterns.len() > 1 && own_set != patterns {
        let mut seen = BTreeSet::new();
        own.into_iter()
            .filter(|pattern| seen.insert(*pattern))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        String::new()
    };
    RunOptions {
        tags: part.tags.clone(),
        limit,
        ..RunOptions::default()
    }
}

/// The share of its weight a task word keeps for how common it is in English: about 1 for rare
/// words and names, half at [`HALF_WEIGHT_ZIPF`], 0.1 for "need". A phrase ("reverse proxy")
/// is as telling as its rarest word.
fn informativeness(surface: &str) -> f64 {
    let lexicon = lexicon::lexicon();
    surface
        .split_whitespace()
        .map(|word| {
            let zipf = lexicon.zipf_frequency(&word.to_lowercase());
            1.0 / (1.0 + 10f64.powf(zipf - HALF_WEIGHT_ZIPF))
        })
        .fold(0.0, f64::max)
}

/// Lower-cased, stemmed content words of `text`, for callers that only compare words (the
/// planner's risk rules and clause splitting).
pub(crate) fn content_stems(text: &str) -> BTreeSet<String> {
    words::request_tokens(text)
        .into_iter()
        .map(|token| token.stem)
        .collect()
}

/// True for a site playbook: its tagged parts are most of what it does, so running it whole
/// runs everything.
pub(crate) fn is_site_playbook(playbook: &Playbook) -> bool {
    candidates::is_site(playbook)
}

/// The first action `text` names, as written ("set up" of "set up sonarr"); `None` when it
/// names none.
pub(crate) fn leading_action(text: &str) -> Option<String> {
    words::request_tokens(text)
        .into_iter()
        .find(|token| token.class == WordClass::Action)
        .map(|token| token.surface)
}

/// The stem of one word, as [`content_stems`] stems it.
pub(crate) fn stem(word: &str) -> String {
    lexicon::lexicon().stem(word)
}

#[cfg(test)]
mod tests;
