//! The things a task can map to, indexed for matching: every playbook as a whole, and every part
//! of a playbook that its tags select on its own (one application's role in a site playbook).
//!
//! Each candidate is indexed by field, and each field has a strength: the services it deploys,
//! the roles and container images it uses say most about what it does; then its name, tags and
//! path; then its plays, hosts and tasks; what the repository says about it (its description, the
//! README's line) and the templates and variables it uses least.
//!
//! A site playbook (one whose parts are most of what it does) is indexed as a whole only by what
//! is about the whole: its name, path, plays, hosts and play tags. Its applications belong to its
//! parts, so "deploy Gitea" finds `nas.yml --tags gitea`, never all of `nas.yml`.

use super::lexicon::{self, lexicon};
use super::words::{self, Token};
use chiffon_proto::v1::{Play, Playbook, PlaybookPart};

/// Quality of a word matching a longer or shorter form of itself ("config" for "configur").
const PREFIX_MATCH: f64 = 0.9;
/// Quality of a word matching a playbook word through a shared concept ("install" for
/// "deploy", "caddy" for "reverse proxy").
const CONCEPT_MATCH: f64 = 0.75;
/// Quality of a word matching its misspelling by one letter ("manger" for "manager").
const TYPO_MATCH: f64 = 0.8;
/// Quality of a word matching a WordNet synonym ("film" for "movie"): weaker, because WordNet
/// mixes every sense of a word.
const SYNONYM_MATCH: f64 = 0.6;
/// Strength with which a candidate that deploys something explains "install", "deploy" or
/// "update" without saying so: an application's role is how it is installed.
pub(super) const IMPLIED_ACTION: f64 = 0.7;
/// Strength with which it explains "configure", "add" or "start": running an application's role
/// again is how its settings change, and "add X" often means installing it.
pub(super) const IMPLIED_RERUN: f64 = 0.5;
/// Share of its strength a product's name keeps when only prose mentions it: descriptions name
/// other products to compare ("like IFTTT", "for Zigbee2MQTT"), so "install Photoprism" is not
/// answered by a gallery whose description mentions Photoprism; "something like Photoprism" is.
const PRODUCT_IN_PROSE: f64 = 0.5;
/// How much task words gain when the same sentence (a description, a task name) holds two or
/// more of them: a shared phrase says more than shared words.
const PHRASE_BOOST: f64 = 1.35;
/// Strength from which a word counts as named by a candidate (see [`Explanation::by_name`]).
const NAMED_STRENGTH: f64 = 0.8;
/// Share of its field's weight a service or image after the first keeps.
const SECONDARY_ITEM: f64 = 0.85;
/// Share of its field's weight a role keeps for a part that borrows some of its tasks (the
/// `caddy_sites` section of the caddy role runs a task of the pihole role): "add blocklists to
/// pihole" is about the part that is Pi-hole.
const TASKS_OF_ROLE: f64 = 0.7;
/// Most letters a word may have beyond another it begins with and still be a form of it.
const MAX_PREFIX_EXTRA: usize = 3;
/// Shortest word (in letters) matched by prefix or written without spaces.
const MIN_PARTIAL_LENGTH: usize = 5;

/// The places a candidate's words come from, strongest evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Field {
    Service,
    Role,
    Image,
    Name,
    Tag,
    Path,
    Play,
    Host,
    Task,
    Description,
    Template,
    Variable,
}

impl Field {
    const ALL: [Field; 12] = [
        Field::Service,
        Field::Role,
        Field::Image,
        Field::Name,
        Field::Tag,
        Field::Path,
        Field::Play,
        Field::Host,
        Field::Task,
        Field::Description,
        Field::Template,
        Field::Variable,
    ];

    pub fn weight(self) -> f64 {
        match self {
            Field::Service | Field::Role => 1.0,
            Field::Image => 0.9,
            Field::Name => 0.85,
            Field::Tag | Field::Path => 0.8,
            Field::Play => 0.7,
            Field::Host => 0.6,
            Field::Task => 0.55,
            // What the repository says a role is: often the only words a person looking for
            // "a password manager" shares with it.
            Field::Description => 0.65,
            Field::Template => 0.45,
            Field::Variable => 0.35,
        }
    }

    /// Fields of names given to what a candidate is: services, roles, images, its name, tags.
    fn is_name(self) -> bool {
        matches!(
            self,
            Field::Service | Field::Role | Field::Image | Field::Name | Field::Tag
        )
    }

    /// Fields of sentences rather than names: descriptions and task names.
    pub(super) fn is_prose(self) -> bool {
        matches!(self, Field::Description | Field::Task | Field::Play)
    }

    /// Whether reasons name the matching item ("tag backup") rather than the matching words
    /// ("name matches 'uptime', 'kuma'").
    pub fn names_items(self) -> bool {
        !matches!(
            self,
            Field::Name | Field::Path | Field::Play | Field::Description | Field::Task
        )
    }
}

/// A word of a candidate's field, with the field item it came from.
struct Term {
    stem: String,
    compact: String,
    concepts: Vec<usize>,
    /// The name of a tool of a kind ("openvpn").
    tool: bool,
    /// A noun for who does what a verb says: the `ddns-updater` service updates DNS records,
    /// it is not what "update" asks for.
    agent: bool,
    /// An action of the vocabulary: "Restart" in the handler "Restart jellyfin".
    action: bool,
    /// What the text compares its subject with ("Dropbox" in "a self-hosted Dropbox
    /// alternative").
    compared: bool,
    /// Index into the field's items.
    item: usize,
}

impl Term {
    /// The word `token` of the field's item `item`.
    fn of(token: Token, item: usize) -> Self {
        Self {
            stem: token.stem,
            compact: token.compact,
            concepts: token.concepts,
            tool: token.tool,
            agent: token.agent,
            action: token.class == words::WordClass::Action,
            compared: token.compared,
            item,
        }
    }
}

/// One field of a candidate: its items as written (for reasons) and their words.
pub(super) struct FieldIndex {
    pub field: Field,
    pub items: Vec<String>,
    terms: Vec<Term>,
    /// Items that keep only [`TASKS_OF_ROLE`] of the field's weight.
    partial: Vec<usize>,
}

impl FieldIndex {
    /// The field's weight for its item `item`: services and images after the first are what a
    /// role runs alongside what it is about (the database of a wiki), and count a little less.
    fn item_weight(&self, item: usize) -> f64 {
        let secondary = item > 0 && matches!(self.field, Field::Service | Field::Image);
        let partial = if self.partial.contains(&item) {
            TASKS_OF_ROLE
        } else {
            1.0
        };
        partial * self.field.weight() * if secondary { SECONDARY_ITEM } else { 1.0 }
    }
}

impl FieldIndex {
    /// The field's `items`, their words read without the `namespaces` names of the field
    /// begin with (see [`namespaces`]).
    fn new(field: Field, items: Vec<String>, namespaces: &[String]) -> Self {
        let mut terms = Vec::new();
        for (item, written) in items.iter().enumerate() {
            let text = match field {
                // The namespace itself is a group's tag, and counts as one (see
                // `Candidate::part`).
                Field::Tag => Some(without_namespace(written, namespaces)),
                field if field.is_name() => own_name(written, namespaces),
                _ => Some(written.as_str()),
            };
            let Some(text) = text else {
                continue;
            };
            for token in words::tokens(text) {
                // "a DNS ad-blocker" also speaks of ads and blocking: a sentence's phrase keeps
                // its words for requests that word it otherwise ("block ads").
                if field.is_prose() && token.class != words::WordClass::Action {
                    terms.extend(
                        words::phrase_words(&token)
                            .into_iter()
                            .map(|word| Term::of(word, item)),
                    );
                }
                terms.push(Term::of(token, item));
            }
            // "calibreweb", "home-assistant": the whole item, written without spaces, so a
            // task that splits or joins its words differently still meets it.
            let whole = words::compact(text);
            if whole.len() >= MIN_PARTIAL_LENGTH && !terms.iter().any(|t| t.compact == whole) {
                terms.push(Term {
                    stem: whole.clone(),
                    compact: whole,
                    concepts: Vec::new(),
                    tool: false,
                    agent: false,
                    action: false,
                    compared: false,
                    item,
                });
            }
        }
        Self {
            field,
            items,
            terms,
            partial: Vec::new(),
        }
    }
}

/// Where a candidate explains a task word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Place {
    /// A field's item.
    Item(Field, usize),
    /// By what it is: it deploys something, so it explains "install".
    Deploys,
    /// By what it is: it applies roles that deploy no service (a base layout), so it explains
    /// "set up" or "apply", more weakly.
    AppliesRoles,
    /// By what it is: a site playbook, so it explains "everything".
    WholeSite,
}

impl Explanation {
    /// Explained strongly by what the candidate is named or tagged after, or what it deploys.
    pub fn by_name(&self) -> bool {
        matches!(
            self.place,
            Some(Place::Item(
                Field::Service | Field::Role | Field::Image | Field::Name | Field::Tag,
                _
            ))
        ) && self.strength >= NAMED_STRENGTH
    }
}

/// How well a candidate explains one task word.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Explanation {
    /// Field weight times match quality; 0 when unexplained.
    pub strength: f64,
    pub place: Option<Place>,
    /// The same word (or name) is there, not a concept, synonym or misspelling of it.
    pub literal: bool,
    /// Only a WordNet synonym is there: one sense among many ("sending" for "mail").
    pub synonym: bool,
    /// A sentence of the repository holds it with other words of the task: a product named
    /// there is described ("an MQTT broker"), not merely compared with ("for Zigbee2MQTT").
    pub in_phrase: bool,
    /// The repository compares the candidate with it ("a self-hosted Dropbox alternative"): a
    /// product named so is what the candidate stands in for.
    pub stands_in_for: bool,
    /// The candidate names a template or a setting after it (`motd.j2`, `common_motd_banner`):
    /// it is something the candidate manages, not another product its prose mentions.
    pub artefact: bool,
}

/// A playbook, or one part of it, indexed for matching.
pub(super) struct Candidate<'a> {
    pub playbook: &'a Playbook,
    pub part: Option<&'a PlaybookPart>,
    fields: Vec<FieldIndex>,
    /// Words of each name it goes by, generic words left out, for specificity: its name, and
    /// the tags that select it when they are other names for it, since `--tags docker` is what
    /// a person calls `geerlingguy.docker`, and `caddy_sites` the section "Publish the sites
    /// behind Caddy".
    names: Vec<Vec<Term>>,
    /// It deploys services or runs images, so "install it" needs no word of its own.
    deploys: bool,
    /// It applies roles but deploys no service: "set up" and "apply" fit it less well.
    applies_roles: bool,
    /// The whole of a site playbook.
    pub site: bool,
}

/// Every candidate of `catalog`: each playbook, then its parts.
pub(super) fn index(catalog: &[Playbook]) -> Vec<Candidate<'_>> {
    let mut candidates = Vec::new();
    for playbook in catalog {
        candidates.push(Candidate::whole(playbook));
        let namespaces = namespaces(playbook);
        for part in &playbook.parts {
            candidates.push(Candidate::part(playbook, part, &namespaces));
        }
    }
    candidates
}

/// Tags of `playbook` that group roles named after them (`ansible-nas` tags the roles
/// `ansible-nas-users`, `ansible-nas-general` and `ansible-nas-docker`): there the tag's name
/// is a namespace the roles share, and only what follows it says what each role is about
/// (`ansible-nas-docker` is about docker, not about the NAS).
fn namespaces(playbook: &Playbook) -> Vec<String> {
    playbook
        .parts
        .iter()
        .filter(|part| part.roles.len() >= 2)
        .flat_map(|part| {
            part.tags
                .iter()
                .filter(|tag| part.roles.iter().all(|role| in_namespace(role, tag)))
                .cloned()
        })
        .collect()
}

/// Of `roles`, the items of a part that selects tasks within roles whose tasks it only borrows:
/// every role but the one its name names ("Publish the sites behind Caddy" is the caddy role's
/// section, which also runs a task of the pihole role), unless it has a single role.
fn side_roles(part: &PlaybookPart, roles: &[String]) -> Vec<usize> {
    if roles.len() < 2 {
        return Vec::new();
    }
    let named: Vec<String> = words::tokens(&part.name)
        .into_iter()
        .map(|token| token.compact)
        .collect();
    roles
        .iter()
        .enumerate()
        .filter(|(_, role)| !named.contains(&words::compact(role)))
        .map(|(item, _)| item)
        .collect()
}

/// True for a name qualified by a Galaxy namespace (`geerlingguy.docker`,
/// `vladgh.samba.server`): the namespace is its author, not what it is about.
fn is_qualified(name: &str) -> bool {
    name.contains('.')
        && name.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// True when `name` is `namespace`, a separator and more (`ansible-nas-docker` in `ansible-nas`).
fn in_namespace(name: &str, namespace: &str) -> bool {
    name.strip_prefix(namespace)
        .and_then(|rest| rest.strip_prefix(['-', '_', '.']))
        .is_some_and(|rest| !rest.is_empty())
}

/// What `name` says of what it names: `name` without its namespace, or nothing when it is one
/// of `namespaces` (a group named after its namespace is named after no one thing).
fn own_name<'n>(name: &'n str, namespaces: &[String]) -> Option<&'n str> {
    let own = without_namespace(name, namespaces);
    (!namespaces.iter().any(|namespace| namespace == own)).then_some(own)
}

/// `name` without the first of `namespaces` it is in.
fn without_namespace<'n>(name: &'n str, namespaces: &[String]) -> &'n str {
    namespaces
        .iter()
        .find(|namespace| in_namespace(name, namespace))
        .map_or(name, |namespace| &name[namespace.len() + 1..])
}

/// True when the parts of `playbook` are most of what it does: at least two, covering at least
/// half of its roles. Then the whole is a site playbook.
pub(super) fn is_site(playbook: &Playbook) -> bool {
    if playbook.parts.len() < 2 {
        return false;
    }
    let in_parts = playbook
        .roles
        .iter()
        .filter(|role| playbook.parts.iter().any(|part| part.roles.contains(role)))
        .count();
    in_parts * 2 >= playbook.roles.len()
}

impl<'a> Candidate<'a> {
    fn whole(playbook: &'a Playbook) -> Self {
        let site = is_site(playbook);
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
        let play_tags: Vec<String> = playbook
            .play_details
            .iter()
            .flat_map(|play| play.tags.iter().cloned())
            .collect();
        let fields = Field::ALL
            .iter()
            .map(|&field| {
                let items = match (field, site) {
                    (Field::Service, false) => services.clone(),
                    (Field::Role, false) => playbook.roles.clone(),
                    (Field::Image, false) => images.clone(),
                    (Field::Tag, false) => playbook.tags.clone(),
                    (Field::Tag, true) => play_tags.clone(),
                    (Field::Template, false) => file_names(&playbook.templates),
                    (Field::Variable, false) => playbook
                        .variables
                        .iter()
                        .map(|variable| variable.name.clone())
                        .collect(),
                    (Field::Name, _) => vec![playbook.name.clone()],
                    (Field::Path, _) => vec![playbook.path.clone()],
                    (Field::Play, _) => playbook.plays.clone(),
                    (Field::Host, _) => playbook.hosts.clone(),
                    (Field::Task, false) => playbook
                        .tasks
                        .iter()
                        .chain(&playbook.handlers)
                        .cloned()
                        .collect(),
                    // A site playbook's description lists what its parts do; the parts answer
                    // for that.
                    (Field::Description, true) => Vec::new(),
                    // A playbook is all of its parts: it says what they say.
                    (Field::Description, false) => std::iter::once(&playbook.description)
                        .chain(playbook.parts.iter().map(|part| &part.description))
                        .cloned()
                        .collect(),
                    _ => Vec::new(),
                };
                FieldIndex::new(field, dedup(items), &[])
            })
            .collect();
        let name = if playbook.name.trim().is_empty() {
            file_stem(&playbook.path)
        } else {
            playbook.name.clone()
        };
        Self {
            playbook,
            part: None,
            fields,
            deploys: (site || !services.is_empty() || !images.is_empty())
                && !names_another_action(&name),
            applies_roles: !playbook.roles.is_empty() && !names_another_action(&name),
            names: vec![name_terms(&name)],
            site,
        }
    }

    /// The plays it runs: its part's plays, or every play of its playbook.
    pub fn plays(&self) -> Vec<&'a Play> {
        match self.part {
            Some(part) => plays_of(self.playbook, part),
            None => self.playbook.play_details.iter().collect(),
        }
    }

    fn part(playbook: &'a Playbook, part: &'a PlaybookPart, namespaces: &[String]) -> Self {
        let plays = plays_of(playbook, part);
        let fields = Field::ALL
            .iter()
            .map(|&field| {
                let items = match field {
                    Field::Service => part.services.clone(),
                    Field::Role => part.roles.clone(),
                    Field::Image => part
                        .images
                        .iter()
                        .map(|image| image_name(image).to_owned())
                        .collect(),
                    Field::Name => vec![part.name.clone()],
                    // Names in a namespace are tagged with it: `ansible-nas-users` is one of
                    // the roles tagged `ansible-nas`.
                    Field::Tag => part
                        .tags
                        .iter()
                        .cloned()
                        .chain(
                            namespaces
                                .iter()
                                .filter(|namespace| {
                                    std::iter::once(&part.name)
                                        .chain(&part.roles)
                                        .chain(&part.services)
                                        .any(|name| {
                                            name == *namespace || in_namespace(name, namespace)
                                        })
                                })
                                .cloned(),
                        )
                        .collect(),
                    Field::Path => vec![playbook.path.clone()],
                    Field::Play => plays
                        .iter()
                        .map(|play| play.name.clone())
                        .filter(|name| *name != part.name)
                        .collect(),
                    Field::Host => plays.iter().map(|play| play.host_pattern.clone()).collect(),
                    Field::Task => part.tasks.iter().chain(&part.handlers).cloned().collect(),
                    Field::Description => vec![part.description.clone()],
                    Field::Template => file_names(&part.templates),
                    Field::Variable => part.variables.clone(),
                };
                let mut index = FieldIndex::new(field, dedup(items), namespaces);
                if field == Field::Role && part.selects_tasks_within_roles {
                    index.partial = side_roles(part, &index.items);
                }
                index
            })
            .collect();
        Self {
            playbook,
            part: Some(part),
            fields,
            names: std::iter::once(&part.name)
                .chain(
                    part.tags
                        .iter()
                        .filter(|_| is_qualified(&part.name) || part.selects_tasks_within_roles),
                )
                .filter_map(|name| own_name(name, namespaces))
                .map(name_terms)
                .collect(),
            deploys: (!part.services.is_empty() || !part.images.is_empty())
                && !names_another_action(&part.name),
            applies_roles: !part.roles.is_empty() && !names_another_action(&part.name),
            site: false,
        }
    }

    /// How the candidate explains each of `words`: the strongest field holding each word, a
    /// name written without spaces that covers two neighbouring words ("home assistant" in
    /// `homeassistant`), or what the candidate is (it deploys something, it is a whole site).
    pub fn explain(&self, words: &[Token]) -> Vec<Explanation> {
        // What the repository says outright, where what a candidate is explains the word better
        // on its own ("update" that Watchtower's description holds, which deploying it implies).
        let mut said: Vec<Option<Explanation>> = Vec::with_capacity(words.len());
        let mut explained: Vec<Explanation> = words
            .iter()
            .map(|word| {
                let mut best = Explanation::default();
                let mut artefact = false;
                for field in &self.fields {
                    for term in &field.terms {
                        let quality = match_quality(word, term, field.field.is_prose());
                        artefact |= quality == 1.0
                            && matches!(field.field, Field::Template | Field::Variable);
                        let strength = quality * field.item_weight(term.item);
                        if strength > best.strength {
                            best = Explanation {
                                strength,
                                place: Some(Place::Item(field.field, term.item)),
                                literal: quality == 1.0,
                                synonym: quality == SYNONYM_MATCH,
                                stands_in_for: term.compared,
                                ..Explanation::default()
                            };
                        }
                    }
                }
                let implied = if self.deploys && (word.is("deploy") || word.is("update")) {
                    Some((Place::Deploys, IMPLIED_ACTION))
                } else if self.deploys
                    && (word.is("configure") || word.is("add") || word.is("start"))
                {
                    Some((Place::Deploys, IMPLIED_RERUN))
                } else if self.applies_roles
                    && (word.is("deploy") || word.is("update") || word.is("configure"))
                {
                    Some((Place::AppliesRoles, IMPLIED_RERUN))
                } else if self.site && word.is("site") {
                    Some((Place::WholeSite, IMPLIED_ACTION))
                } else {
                    None
                };
                let in_prose =
                    |best: &Explanation| matches!(best.place, Some(Place::Item(field, _)) if field.is_prose());
                if let Some((place, strength)) = implied.filter(|(_, s)| best.strength < *s) {
                    said.push(Some(best).filter(|best| best.literal && in_prose(best)));
                    best = Explanation {
                        strength,
                        place: Some(place),
                        ..Explanation::default()
                    };
                } else {
                    said.push(None);
                }
                // A product only prose mentions is compared with, not described (see
                // `PRODUCT_IN_PROSE`), unless the task asks for what the repository says the
                // candidate stands in for ("something like IFTTT"), or the candidate names a
                // file or setting after it: the motd that `motd.j2` writes is its own.
                best.artefact = artefact;
                if word.may_be_deployed()
                    && !(word.compared && best.stands_in_for)
                    && !artefact
                    && matches!(best.place, Some(Place::Item(field, _)) if field.is_prose())
                {
                    best.strength *= PRODUCT_IN_PROSE;
                }
                best
            })
            .collect();
        // Task words that one sentence of the repository holds together ("comics" and "manga"
        // in Komga's description) say more than the same words scattered over a candidate.
        let sentences: Vec<Place> = explained
            .iter()
            .filter(|explanation| explanation.literal)
            .chain(said.iter().flatten())
            .filter_map(|explanation| explanation.place)
            .filter(|place| matches!(place, Place::Item(field, _) if field.is_prose()))
            // A play's name speaks for every role it runs ("NAS and backups"): two of its words
            // single out none of its parts.
            .filter(|place| self.part.is_none() || !matches!(place, Place::Item(Field::Play, _)))
            .collect();
        let shared = |explanation: &Explanation| {
            explanation.literal
                && explanation.place.is_some_and(|place| {
                    sentences.iter().filter(|other| **other == place).count() >= 2
                })
        };
        for (explanation, said) in explained.iter_mut().zip(&said) {
            if let Some(said) = said.filter(|said| shared(said))
                && said.strength * PHRASE_BOOST > explanation.strength
            {
                *explanation = said;
            }
            if shared(explanation) {
                explanation.strength = (explanation.strength * PHRASE_BOOST).min(1.0);
                explanation.in_phrase = true;
            }
        }
        for pair in 0..words.len().saturating_sub(1) {
            let joined = format!("{}{}", words[pair].compact, words[pair + 1].compact);
            for field in &self.fields {
                let strength = field.field.weight();
                if strength <= explained[pair].strength.min(explained[pair + 1].strength) {
                    continue;
                }
                if let Some(term) = field.terms.iter().find(|term| term.compact == joined) {
                    for position in [pair, pair + 1] {
                        if explained[position].strength < strength {
                            explained[position] = Explanation {
                                strength,
                                place: Some(Place::Item(field.field, term.item)),
                                literal: true,
                                ..Explanation::default()
                            };
                        }
                    }
                }
            }
        }
        explained
    }

    /// True when it names a tool of the kind of `tool` other than `tool` ("openvpn" for
    /// "wireguard").
    pub fn names_rival_of(&self, tool: &Token) -> bool {
        tool.tool
            && self
                .fields
                .iter()
                .flat_map(|field| &field.terms)
                .any(|term| {
                    term.tool
                        && term.compact != tool.compact
                        && term
                            .concepts
                            .iter()
                            .any(|kind| tool.concepts.contains(kind))
                })
    }

    /// The roles it runs.
    pub fn roles(&self) -> &[String] {
        match self.part {
            Some(part) => &part.roles,
            None => &self.playbook.roles,
        }
    }

    /// Share of the words of the name it goes by that the task explains best.
    pub fn name_coverage(&self, words: &[Token]) -> f64 {
        self.names
            .iter()
            .filter(|terms| !terms.is_empty())
            .map(|terms| {
                let covered = terms
                    .iter()
                    .filter(|term| {
                        words
                            .iter()
                            .any(|word| match_quality(word, term, false) > 0.0)
                    })
                    .count();
                covered as f64 / terms.len() as f64
            })
            .fold(0.0, f64::max)
    }

    pub fn field(&self, field: Field) -> &FieldIndex {
        // `fields` holds every field in `Field::ALL` order, which is declaration order.
        &self.fields[field as usize]
    }
}

/// The plays of `playbook` that `part` is in.
pub(super) fn plays_of<'p>(playbook: &'p Playbook, part: &PlaybookPart) -> Vec<&'p Play> {
    part.play_indexes
        .iter()
        .filter_map(|&index| usize::try_from(index).ok())
        .filter_map(|index| playbook.play_details.get(index))
        .collect()
}

/// How well task `word` matches a candidate's word: 1 for the same stem or the same name
/// written without spaces, less for a prefix, a shared concept, a typo or, in `prose`, a WordNet
/// synonym (names are names: a variable `docker_home` is not about a "family").
fn match_quality(word: &Token, term: &Term, prose: bool) -> f64 {
    // A tool named for what it does is not the doing: "update" asks for no `ddns-updater`, and
    // "the stack restarter" is not the handler "Restart jellyfin".
    if term.agent && word.class == words::WordClass::Action {
        return 0.0;
    }
    if word.agent && term.action && word.stem == term.stem {
        return 0.0;
    }
    if word.stem == term.stem
        || (word.compact.len() >= MIN_PARTIAL_LENGTH && word.compact == term.compact)
    {
        return 1.0;
    }
    // Another form of the same word ("config", "configure"), not a longer word that begins
    // with it ("photos", "photoprism", "watching", "watchtower"): lengths as written, since
    // stems cut suffixes such as "-ism" off names, and as stemmed, since "-ing" is no letters
    // of a name.
    let shorter = word.stem.len().min(term.stem.len());
    let extra = word.compact.len().abs_diff(term.compact.len());
    let extra_stemmed = word.stem.len().abs_diff(term.stem.len());
    if shorter >= MIN_PARTIAL_LENGTH
        && extra <= MAX_PREFIX_EXTRA
        && extra_stemmed < MAX_PREFIX_EXTRA
        && (word.stem.starts_with(&term.stem) || term.stem.starts_with(&word.stem))
    {
        return PREFIX_MATCH;
    }
    // A request for a kind finds its tools ("reverse proxy" finds caddy); one naming a tool
    // wants that tool.
    if !word.tool
        && word
            .concepts
            .iter()
            .any(|concept| term.concepts.contains(concept))
    {
        return CONCEPT_MATCH;
    }
    if word.compact.len().min(term.compact.len()) >= lexicon::MIN_TYPO_LENGTH
        && lexicon::mistyped(&word.compact, &term.compact)
    {
        return TYPO_MATCH;
    }
    let lexicon = lexicon();
    if prose
        && (lexicon.synonyms_of(&word.stem).contains(&term.stem)
            || lexicon.synonyms_of(&term.stem).contains(&word.stem))
    {
        return SYNONYM_MATCH;
    }
    0.0
}

/// True when `name` starts with an action other than deploying ("Configure Uptime Kuma
/// monitors", "Back up the NAS", `backup_now`): then the candidate does not explain "install" by
/// what it is. A name of one word, or a domain's ("healthchecks.io", "netboot.xyz"), says what
/// it is, not what it does.
fn names_another_action(name: &str) -> bool {
    let domain = name.contains('.') && !name.contains(char::is_whitespace);
    if domain {
        return false;
    }
    match words::tokens(name).as_slice() {
        [first, _, ..] => {
            first.class == words::WordClass::Action && !first.is("deploy") && !first.is("update")
        }
        _ => false,
    }
}

/// The name's words that say something: generic ones ("server") left out.
fn name_terms(name: &str) -> Vec<Term> {
    let tokens = words::tokens(name);
    // A name of generic words only ("docker") is still what the candidate is named after.
    let all_generic = tokens
        .iter()
        .all(|token| token.class == words::WordClass::Generic);
    tokens
        .into_iter()
        .filter(|token| all_generic || token.class != words::WordClass::Generic)
        .map(|token| Term::of(token, 0))
        .collect()
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

fn file_names(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.rsplit('/').next().unwrap_or(path).to_owned())
        .collect()
}

fn file_stem(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').next().unwrap_or(name).to_owned()
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| !item.trim().is_empty() && seen.insert(item.clone()));
    items
}
