//! Playbooks: reading one, following what it uses through roles and imports, and assembling its
//! catalog entry.

use super::parts;
use super::roles::RoleInfo;
use super::source::{self, patterns, scalar_text, string_field, tag_values};
use super::tasks::{Context, PartUse, RoleRef, Usage, Use};
use super::vars::{self, Scope};
use super::{CatalogIssue, Origin, Scanner, jinja, readme, services};
use chiffon_proto::v1::{ComposeStack, Play, Playbook, PlaybookPart, PlaybookVariable};
use serde_yaml_ng::{Mapping, Value};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Keys that make a playbook entry an import of another playbook instead of a play.
const IMPORT_KEYS: &[&str] = &["import_playbook", "ansible.builtin.import_playbook"];

/// A playbook file as written, before following its roles and imports.
#[derive(Debug)]
pub(super) struct PlaybookInfo {
    /// The file (canonical).
    pub path: PathBuf,
    /// Path relative to the repository root.
    pub relative: String,
    /// The file's text, for its leading comment.
    pub text: String,
    /// Names of its plays, in order.
    pub plays: Vec<String>,
    /// What its plays and imports use.
    pub usage: Usage,
}

impl Scanner {
    /// The playbook at `path`, read once per scan; `None` when the file is not a playbook or is
    /// broken (then it is an issue).
    pub(super) fn playbook(&mut self, path: &Path, origin: Origin) -> Option<Rc<PlaybookInfo>> {
        if let Some(cached) = self.playbooks.get(path) {
            return cached.clone();
        }
        let info = match self.read_playbook(path, origin) {
            Ok(info) => info.map(Rc::new),
            Err(issue) => {
                self.issue(issue);
                None
            }
        };
        self.playbooks.insert(path.to_path_buf(), info.clone());
        info
    }

    /// Reads and checks one candidate; `Ok(None)` means "valid YAML, but not a playbook".
    fn read_playbook(
        &mut self,
        path: &Path,
        origin: Origin,
    ) -> Result<Option<PlaybookInfo>, CatalogIssue> {
        let Some(relative) = self.repo.relative(path) else {
            return Err(CatalogIssue::new(
                &path.to_string_lossy(),
                None,
                "the file name is not valid UTF-8".to_owned(),
            ));
        };
        let text = source::read_text(path, &relative)?;
        let document = source::parse_yaml(&text, &relative)?;

        // A mapping or scalar is a vars file or some other tool's configuration: not a playbook,
        // and not worth a warning either.
        let Value::Sequence(entries) = document else {
            return Ok(None);
        };
        let is_play = |entry: &Mapping| entry.contains_key("hosts");
        let is_import = |entry: &Mapping| IMPORT_KEYS.iter().any(|key| entry.contains_key(*key));
        let mappings: Vec<&Mapping> = entries.iter().filter_map(Value::as_mapping).collect();
        if entries.is_empty() || !mappings.iter().any(|m| is_play(m) || is_import(m)) {
            // A list of tasks (an include file) or of anything else.
            return Ok(None);
        }
        if let Some(position) = entries
            .iter()
            .position(|e| !e.as_mapping().is_some_and(|m| is_play(m) || is_import(m)))
        {
            if origin == Origin::TopLevel {
                return Ok(None);
            }
            return Err(CatalogIssue::new(
                &relative,
                source::entry_line(&text, position),
                format!(
                    "entry {} is neither a play (it has no `hosts`) nor an `import_playbook`",
                    position + 1
                ),
            ));
        }

        let dir = path.parent().unwrap_or(&self.repo.root).to_path_buf();
        let context = Context {
            relative: relative.clone(),
            text: Rc::from(text.as_str()),
            task_dirs: vec![dir.clone()],
            template_dirs: vec![dir.join("templates"), dir.clone()],
            file_dirs: vec![dir.join("files"), dir.clone()],
            // Ansible looks for roles next to the playbook first.
            role_dirs: vec![dir.join("roles")],
            tags_select_parts: true,
            inherited_tags: Vec::new(),
        };
        let mut info = PlaybookInfo {
            path: path.to_path_buf(),
            relative,
            text,
            plays: Vec::new(),
            usage: Usage::default(),
        };
        for entry in mappings {
            if is_import(entry) {
                self.import(&context, entry, &mut info.usage);
                continue;
            }
            let name = string_field(entry, "name");
            let hosts = entry.get("hosts").map(patterns).unwrap_or_default();
            let tags = entry.get("tags").map(tag_values).unwrap_or_default();
            info.plays.extend(name.clone());
            let mut content = Usage::default();
            self.play(&context, entry, &mut content);
            info.usage.uses.push(Use::Play {
                name,
                hosts,
                tags,
                content: Box::new(content),
            });
        }
        Ok(Some(info))
    }

    /// An `import_playbook` entry: the imported file (resolved next to the importing one) and
    /// the entry's own tags, condition and variables.
    fn import(&mut self, context: &Context, entry: &Mapping, usage: &mut Usage) {
        if let Some(tags) = entry.get("tags") {
            usage.tags.extend(tag_values(tags));
        }
        if let Some(condition) = entry.get("when") {
            usage.read_conditions(condition);
        }
        if let Some(vars) = entry.get("vars") {
            usage.vars_block(vars);
        }
        let Some(target) = IMPORT_KEYS
            .iter()
            .find_map(|key| entry.get(*key))
            .and_then(scalar_text)
            .filter(|target| !jinja::has_jinja(target))
        else {
            return;
        };
        match self.repo.find_file(&context.task_dirs, &target) {
            Some(path) => usage.uses.push(Use::Playbook(path)),
            None => self.issue(context.issue_at(
                &target,
                format!("imports the playbook {target}, which does not exist"),
            )),
        }
    }

    /// One play: its variables, then what runs in Ansible's order (pre_tasks, roles, tasks,
    /// post_tasks, handlers).
    fn play(&mut self, context: &Context, play: &Mapping, usage: &mut Usage) {
        if let Some(tags) = play.get("tags") {
            usage.tags.extend(tag_values(tags));
        }
        if let Some(vars) = play.get("vars") {
            usage.vars_block(vars);
        }
        for file in play
            .get("vars_files")
            .into_iter()
            .flat_map(|files| files.as_sequence().cloned().unwrap_or_default())
            .filter_map(|file| scalar_text(&file))
            .filter(|file| !jinja::has_jinja(file))
        {
            match self.repo.find_file(&context.task_dirs, &file) {
                Some(path) => {
                    for (name, default) in self.vars_file(&path) {
                        usage.sets.insert(name);
                        usage.read_strings(&default.value);
                    }
                }
                None => self.issue(context.issue_at(
                    &file,
                    format!("reads the vars file {file}, which does not exist"),
                )),
            }
        }
        for prompt in play
            .get("vars_prompt")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(name) = prompt.as_mapping().and_then(|p| string_field(p, "name")) {
                usage.sets.insert(name);
            }
        }
        let mut including = Vec::new();
        if let Some(tasks) = play.get("pre_tasks") {
            self.tasks(context, tasks, usage, &mut including);
        }
        for entry in play
            .get("roles")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let tags = entry
                .as_mapping()
                .and_then(|mapping| mapping.get("tags"))
                .map(tag_values)
                .unwrap_or_default();
            if tags.is_empty() {
                if let Some(role) = self.role_entry(context, entry, usage) {
                    usage.uses.push(Use::Role(role));
                }
                continue;
            }
            let mut part = Usage::default();
            if let Some(role) = self.role_entry(context, entry, &mut part) {
                let name = role.name.clone();
                part.uses.push(Use::Role(role));
                usage.uses.push(Use::Part(Box::new(PartUse {
                    name,
                    tags,
                    usage: part,
                })));
            }
        }
        for key in ["tasks", "post_tasks"] {
            if let Some(tasks) = play.get(key) {
                self.tasks(context, tasks, usage, &mut including);
            }
        }
        if let Some(handlers) = play.get("handlers") {
            let mut handler_usage = Usage::default();
            self.tasks(context, handlers, &mut handler_usage, &mut including);
            usage.absorb_handlers(handler_usage);
        }
    }

    /// The catalog entry of a playbook: everything it uses, through its roles (and theirs) and
    /// the playbooks it imports; its plays; and the parts its tags select.
    pub(super) fn entry(&mut self, info: &PlaybookInfo) -> Playbook {
        let mut expansion = Expansion::default();
        self.expand_playbook(info, &mut expansion);
        let described = self.describe(&expansion, &expansion.hosts, &expansion.playbook_dirs);

        let own_name = info.plays.first().cloned();
        let stem = Path::new(&info.relative)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| info.relative.clone());
        let imports: Vec<String> = info
            .usage
            .uses
            .iter()
            .filter_map(|u| match u {
                Use::Playbook(path) => self.repo.relative(path),
                _ => None,
            })
            .collect();
        let description = leading_comment(&info.text).unwrap_or_else(|| {
            derived_description(&Summary {
                plays: &info.plays,
                imports: &imports,
                hosts: &expansion.hosts,
                roles: &expansion.roles,
                role_descriptions: &role_descriptions(&expansion),
                services: &described.services,
            })
        });
        let parts = self.parts(&expansion);
        Playbook {
            path: info.relative.clone(),
            name: own_name.unwrap_or(stem),
            hosts: expansion.hosts.clone(),
            tags: expansion.tags.iter().cloned().collect(),
            description,
            roles: expansion.roles.clone(),
            services: described.services,
            compose_stacks: described.compose_stacks,
            templates: described.templates,
            variables: described.variables,
            plays: expansion.plays.clone(),
            // The orchestrator fills in which agent reported it.
            agent_id: String::new(),
            play_details: expansion
                .play_details
                .iter()
                .map(|play| Play {
                    name: play.name.clone(),
                    path: play.path.clone(),
                    host_pattern: play.hosts.join(","),
                    tags: play.tags.clone(),
                    roles: play.content.roles.clone(),
                    // The agent resolves host patterns against its inventories after the scan.
                    targets: Vec::new(),
                })
                .collect(),
            parts,
            tasks: expansion.tasks.clone(),
            handlers: expansion.handlers.clone(),
        }
    }

    /// The parts of a playbook a person can run on their own by tags, each described like a
    /// playbook: what it deploys, renders and reads, and what the repository says it is.
    fn parts(&mut self, expansion: &Expansion) -> Vec<PlaybookPart> {
        let selectable = parts::selectable(
            &expansion.play_details,
            &expansion.parts,
            &expansion.role_tags,
        );
        // The tags of parts only a tag names (`backup_now` inside the restic role): a README
        // sentence naming one ("`--tags backup_now` runs a backup right away") is about that
        // part, even within another entry.
        let tag_only_tags: Vec<String> = selectable
            .iter()
            .filter(|part| part.content.role_infos.is_empty())
            .flat_map(|part| part.tags.iter().cloned())
            .collect();
        let mut found = Vec::with_capacity(selectable.len());
        for part in selectable {
            let content = &part.content;
            let hosts: Vec<String> = part
                .plays
                .iter()
                .filter_map(|&index| expansion.play_details.get(index))
                .flat_map(|play| play.hosts.iter().cloned())
                .collect();
            let described = self.describe(content, &hosts, &expansion.playbook_dirs);
            let own_description = content
                .role_infos
                .iter()
                .find(|role| role.name == part.name)
                .or_else(|| content.role_infos.last())
                .and_then(|role| role.description.clone());
            let names: Vec<&str> = std::iter::once(part.name.as_str())
                .chain(content.roles.iter().map(String::as_str))
                .chain(described.services.iter().map(String::as_str))
                .collect();
            let readme = self.readme();
            // A part only tags name (tasks of roles) is what the README says of its tag.
            let tag_only = content.role_infos.is_empty();
            // Otherwise what its role says of itself, then what the README says of it: often
            // in other words ("TV series PVR", "grabs new episodes of the series we follow").
            let description = if tag_only {
                part.tags
                    .iter()
                    .find_map(|tag| readme.mentioning_tag(tag))
                    .unwrap_or_default()
            } else {
                let mut said: Vec<String> = own_description.into_iter().collect();
                let others: Vec<&str> = tag_only_tags
                    .iter()
                    .filter(|tag| !part.tags.contains(tag))
                    .map(String::as_str)
                    .collect();
                said.extend(
                    readme
                        .describe(&names)
                        .map(|text| readme::without_sentences_naming(&text, &others)),
                );
                said.dedup();
                said.join(" ")
            };
            found.push(PlaybookPart {
                name: part.name.clone(),
                tags: part.tags,
                play_indexes: part
                    .plays
                    .iter()
                    .map(|&index| i32::try_from(index).unwrap_or(i32::MAX))
                    .collect(),
                roles: content.roles.clone(),
                services: described.services,
                images: described
                    .compose_stacks
                    .iter()
                    .flat_map(|stack| stack.images.iter().cloned())
                    .chain(described.images)
                    .collect(),
                templates: described.templates,
                variables: described
                    .variables
                    .into_iter()
                    .map(|variable| variable.name)
                    .collect(),
                tasks: content.tasks.clone(),
                handlers: content.handlers.clone(),
                description,
                selects_tasks_within_roles: part.within_roles,
            });
        }
        found
    }

    /// What an expansion deploys, ships, renders and reads, with the defaults that the groups
    /// of `hosts` see.
    fn describe(
        &mut self,
        expansion: &Expansion,
        hosts: &[String],
        playbook_dirs: &[PathBuf],
    ) -> Described {
        let scope = self.scope(expansion, hosts, playbook_dirs);
        let render = |text: &str| jinja::render_simple(text, |name| scope.plain(name));

        let mut compose_stacks = Vec::new();
        for path in &expansion.stacks {
            let stack = self.stack(path);
            compose_stacks.push((
                path.clone(),
                ComposeStack {
                    path: stack.path.clone(),
                    services: stack.services.iter().map(|s| render(s)).collect(),
                    images: stack.images.iter().map(|i| render(i)).collect(),
                },
            ));
        }

        let mut service_names = Vec::new();
        let mut images = Vec::new();
        for source in &expansion.services {
            let found: Vec<Option<String>> = match source {
                ServiceSource::Role {
                    name,
                    in_repository,
                } => {
                    vec![services::from_role(name, *in_repository)]
                }
                ServiceSource::Image(image) => {
                    let image = render(image);
                    let service = services::from_image(&image);
                    push_unique(&mut images, image);
                    vec![service]
                }
                ServiceSource::Stack(path) => compose_stacks
                    .iter()
                    .filter(|(stack_path, _)| stack_path == path)
                    .flat_map(|(_, stack)| {
                        let names = stack
                            .services
                            .iter()
                            .map(|s| services::from_compose_service(s));
                        let images = stack.images.iter().map(|i| services::from_image(i));
                        names.chain(images).collect::<Vec<_>>()
                    })
                    .collect(),
            };
            for name in found.into_iter().flatten() {
                push_unique(&mut service_names, name);
            }
        }
        Described {
            services: service_names,
            compose_stacks: compose_stacks.into_iter().map(|(_, stack)| stack).collect(),
            images,
            templates: expansion
                .templates
                .iter()
                .filter_map(|path| self.repo.relative(path))
                .collect(),
            variables: variables(expansion, &scope),
        }
    }

    fn expand_playbook(&mut self, info: &PlaybookInfo, expansion: &mut Expansion) {
        if !expansion.seen_playbooks.insert(info.path.clone()) {
            return;
        }
        if let Some(dir) = info.path.parent() {
            push_unique(&mut expansion.playbook_dirs, dir.to_path_buf());
        }
        let outer_file = std::mem::replace(&mut expansion.file, info.relative.clone());
        self.expand_usage(&info.usage, expansion);
        expansion.file = outer_file;
    }

    fn expand_usage(&mut self, usage: &Usage, expansion: &mut Expansion) {
        expansion.tags.extend(usage.tags.iter().cloned());
        expansion.reads.extend(usage.reads.iter().cloned());
        expansion.sets.extend(usage.sets.iter().cloned());
        expansion.tasks.extend(usage.task_names.iter().cloned());
        expansion
            .handlers
            .extend(usage.handler_names.iter().cloned());
        for used in &usage.uses {
            match used {
                Use::Role(role) => self.expand_role(role, expansion),
                Use::Template(path) => {
                    push_unique(&mut expansion.templates, path.clone());
                }
                Use::Stack(path) => {
                    if push_unique(&mut expansion.stacks, path.clone()) {
                        expansion.services.push(ServiceSource::Stack(path.clone()));
                    }
                }
                Use::Image(image) => expansion.services.push(ServiceSource::Image(image.clone())),
                Use::Playbook(path) => {
                    if let Some(info) = self.playbook(path, Origin::PlaybookDir) {
                        self.expand_playbook(&info, expansion);
                    }
                }
                Use::Play {
                    name,
                    hosts,
                    tags,
                    content,
                } => {
                    let index = expansion.play_details.len();
                    let mut play = Expansion {
                        play: Some(index),
                        ..Expansion::default()
                    };
                    self.expand_usage(content, &mut play);
                    expansion.plays.extend(name.clone());
                    for host in hosts {
                        push_unique(&mut expansion.hosts, host.clone());
                    }
                    expansion.parts.append(&mut play.parts);
                    expansion.absorb(&play);
                    expansion.play_details.push(PlayOutline {
                        name: name.clone().unwrap_or_default(),
                        path: expansion.file.clone(),
                        hosts: hosts.clone(),
                        tags: tags.clone(),
                        content: play,
                    });
                }
                Use::Part(part) => {
                    let mut content = Expansion {
                        play: expansion.play,
                        ..Expansion::default()
                    };
                    self.expand_usage(&part.usage, &mut content);
                    // A tagged block may hold tagged roles: each is a part of its own too.
                    expansion.parts.append(&mut content.parts);
                    expansion.absorb(&content);
                    expansion.parts.push(PartOutline {
                        name: part.name.clone(),
                        tags: part.tags.clone(),
                        play: expansion.play,
                        content,
                    });
                }
            }
        }
    }

    /// A role, after the roles it depends on (they run first), each once.
    fn expand_role(&mut self, role: &RoleRef, expansion: &mut Expansion) {
        let key = (role.dir.clone(), role.name.clone(), role.tasks_from.clone());
        if !expansion.seen_roles.insert(key) {
            return;
        }
        let Some(dir) = &role.dir else {
            // A role from outside the repository: only its name is known.
            push_unique(&mut expansion.roles, role.name.clone());
            expansion.services.push(ServiceSource::Role {
                name: role.name.clone(),
                in_repository: false,
            });
            return;
        };
        let info = self.role(dir, role.tasks_from.as_deref());
        for dependency in &info.dependencies {
            self.expand_role(dependency, expansion);
        }
        if push_unique(&mut expansion.roles, info.name.clone()) {
            expansion.services.push(ServiceSource::Role {
                name: info.name.clone(),
                in_repository: true,
            });
        }
        expansion.role_infos.push(Rc::clone(&info));
        self.expand_usage(&info.usage, expansion);
        for task in &info.usage.tagged_tasks {
            expansion.role_tags.push(RoleTask {
                role: info.name.clone(),
                task: task.name.clone(),
                tags: task.tags.clone(),
                section_tags: task.section_tags.clone(),
                usage: task.usage.clone(),
                play: expansion.play,
            });
        }
    }

    /// The defaults a playbook sees, highest precedence first: group_vars of the groups it
    /// targets (next to the playbook, then the inventory's), group_vars of `all`, its roles'
    /// defaults, and last group_vars of other groups (which apply to some hosts only).
    fn scope(
        &mut self,
        expansion: &Expansion,
        hosts: &[String],
        playbook_dirs: &[PathBuf],
    ) -> Scope {
        let dirs: Vec<PathBuf> = playbook_dirs
            .iter()
            .chain(&self.repo.inventory_dirs)
            .map(|dir| dir.join("group_vars"))
            .filter(|dir| dir.is_dir())
            .collect();
        let mut group_vars = Vec::new();
        let mut seen_dirs = HashSet::new();
        for dir in dirs {
            if seen_dirs.insert(dir.clone()) {
                group_vars.push(self.group_vars(&dir));
            }
        }
        let targeted: Vec<&str> = hosts
            .iter()
            .flat_map(|pattern| pattern.split([':', ',']))
            .map(|group| group.trim().trim_start_matches(['!', '&']))
            .filter(|group| !group.is_empty() && *group != "all" && *group != "*")
            .collect();
        let mut scope = Scope::default();
        for group in &targeted {
            for vars in &group_vars {
                if let Some(layer) = vars.groups.get(*group) {
                    scope.push(Rc::clone(layer));
                }
            }
        }
        for vars in &group_vars {
            if let Some(layer) = vars.groups.get("all") {
                scope.push(Rc::clone(layer));
            }
        }
        for role in &expansion.role_infos {
            scope.push(Rc::clone(&role.defaults));
        }
        for vars in &group_vars {
            for (group, layer) in &vars.groups {
                if group != "all" && !targeted.contains(&group.as_str()) {
                    scope.push(Rc::clone(layer));
                }
            }
        }
        scope
    }
}

/// Everything a playbook (or one of its plays or parts) uses once its roles and imports are
/// followed.
#[derive(Default, Clone)]
pub(super) struct Expansion {
    roles: Vec<String>,
    role_infos: Vec<Rc<RoleInfo>>,
    seen_roles: HashSet<(Option<PathBuf>, String, Option<String>)>,
    templates: Vec<PathBuf>,
    stacks: Vec<PathBuf>,
    services: Vec<ServiceSource>,
    tags: BTreeSet<String>,
    reads: BTreeSet<String>,
    sets: BTreeSet<String>,
    hosts: Vec<String>,
    plays: Vec<String>,
    playbook_dirs: Vec<PathBuf>,
    seen_playbooks: HashSet<PathBuf>,
    /// Names of the tasks it runs, in order.
    pub tasks: Vec<String>,
    /// Names of the handlers its tasks may notify.
    handlers: Vec<String>,
    /// Its plays, in order, the plays of imported playbooks included.
    play_details: Vec<PlayOutline>,
    /// The parts tags select in its plays, in the order they are written.
    parts: Vec<PartOutline>,
    /// The file being expanded, relative to the repository root.
    file: String,
    /// Index of the play being expanded, in the playbook's `play_details`.
    play: Option<usize>,
    /// The tagged tasks of its roles, where they run.
    pub role_tags: Vec<RoleTask>,
}

/// A tagged task of a role, in the play it runs in.
#[derive(Clone)]
pub(super) struct RoleTask {
    pub role: String,
    pub task: String,
    pub tags: Vec<String>,
    /// See [`TaggedTask::section_tags`](super::tasks::TaggedTask::section_tags).
    pub section_tags: Vec<String>,
    /// See [`TaggedTask::usage`](super::tasks::TaggedTask::usage).
    pub usage: Usage,
    pub play: Option<usize>,
}

impl Expansion {
    /// Adds what `other` (a play or part of this one) uses, keeping first uses first.
    pub(super) fn absorb(&mut self, other: &Expansion) {
        for role in &other.roles {
            push_unique(&mut self.roles, role.clone());
        }
        for role in &other.role_infos {
            if !self.role_infos.iter().any(|known| Rc::ptr_eq(known, role)) {
                self.role_infos.push(Rc::clone(role));
            }
        }
        for template in &other.templates {
            push_unique(&mut self.templates, template.clone());
        }
        // Services in the order they were found; a stack's only with the stack's first use.
        for source in &other.services {
            match source {
                ServiceSource::Stack(stack) => {
                    if push_unique(&mut self.stacks, stack.clone()) {
                        self.services.push(source.clone());
                    }
                }
                _ => self.services.push(source.clone()),
            }
        }
        self.tags.extend(other.tags.iter().cloned());
        self.reads.extend(other.reads.iter().cloned());
        self.sets.extend(other.sets.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
        self.handlers.extend(other.handlers.iter().cloned());
        self.role_tags.extend(other.role_tags.iter().cloned());
    }

    /// What the tasks a tag selects inside roles run: those roles, those tasks.
    pub(super) fn of_role_tasks<'a>(tasks: impl Iterator<Item = &'a RoleTask>) -> Expansion {
        let mut expansion = Expansion::default();
        for task in tasks {
            push_unique(&mut expansion.roles, task.role.clone());
            expansion.tasks.push(task.task.clone());
            for used in &task.usage.uses {
                if let Use::Template(path) = used {
                    push_unique(&mut expansion.templates, path.clone());
                }
            }
            expansion.reads.extend(task.usage.reads.iter().cloned());
            expansion.sets.extend(task.usage.sets.iter().cloned());
        }
        expansion
    }
}

/// One play of a playbook, with what it runs.
#[derive(Clone)]
pub(super) struct PlayOutline {
    pub name: String,
    /// The file it is written in, relative to the repository root.
    pub path: String,
    pub hosts: Vec<String>,
    /// The tags on the play itself.
    pub tags: Vec<String>,
    pub content: Expansion,
}

/// Something of a play its own tags select, with what it runs.
#[derive(Clone)]
pub(super) struct PartOutline {
    pub name: String,
    pub tags: Vec<String>,
    /// Index of its play; `None` only for a part outside any play, which Ansible cannot have.
    pub play: Option<usize>,
    pub content: Expansion,
}

/// What a playbook or part deploys, ships, renders and reads.
struct Described {
    services: Vec<String>,
    compose_stacks: Vec<ComposeStack>,
    /// Images its tasks run directly (compose stacks name theirs).
    images: Vec<String>,
    templates: Vec<String>,
    variables: Vec<PlaybookVariable>,
}

/// `galaxy_info.description` of the roles an expansion uses, in role order.
fn role_descriptions(expansion: &Expansion) -> Vec<String> {
    expansion
        .role_infos
        .iter()
        .filter_map(|role| role.description.clone())
        .collect()
}

/// Where a service name comes from, in order of use.
#[derive(Clone)]
enum ServiceSource {
    Role {
        name: String,
        /// False for a role of a collection or Galaxy, known by name only.
        in_repository: bool,
    },
    Stack(PathBuf),
    Image(String),
}

/// Appends `item` unless present; true when it was appended.
fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    if list.contains(&item) {
        return false;
    }
    list.push(item);
    true
}

/// The variables a playbook reads and does not set itself, by name, with their defaults. A
/// default that reads other variables makes the playbook read those too (`homelab_host_root:
/// "{{ homelab_root }}/…"` brings in `homelab_root`).
/// Shortest part of an outside role's name its settings are taken to be named after (`nfs`).
const MIN_SETTING_PREFIX: usize = 3;

fn variables(expansion: &Expansion, scope: &Scope) -> Vec<PlaybookVariable> {
    let wanted = |name: &str| !expansion.sets.contains(name) && !jinja::is_magic(name);
    let mut names: BTreeSet<String> = expansion
        .reads
        .iter()
        .filter(|name| wanted(name))
        .cloned()
        .collect();
    // What a role from outside the repository reads is not in the repository, but its settings
    // are named after it by convention (`nfs_exports` for `geerlingguy.nfs`), and the values the
    // repository gives them are what a person changes.
    let prefixes: Vec<String> = expansion
        .services
        .iter()
        .filter_map(|source| match source {
            ServiceSource::Role {
                name,
                in_repository: false,
            } => Some(name),
            _ => None,
        })
        .flat_map(|name| {
            // The namespace (`geerlingguy`, `vladgh`) is the author's, not the role's.
            name.split('.')
                .skip(usize::from(name.contains('.')))
                .filter(|segment| segment.len() >= MIN_SETTING_PREFIX)
                .map(|segment| format!("{}_", segment.replace('-', "_")))
        })
        .collect();
    names.extend(
        scope
            .names()
            .into_iter()
            .filter(|name| {
                prefixes
                    .iter()
                    .any(|prefix| name.starts_with(prefix.as_str()))
            })
            .filter(|name| wanted(name))
            .map(str::to_owned),
    );
    let mut pending: Vec<String> = names.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(default) = scope.get(&name) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        vars::refs_of(&default.value, &mut refs);
        for reference in refs {
            if wanted(&reference) && names.insert(reference.clone()) {
                pending.push(reference);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let (default_source, default_value) = scope
                .get(&name)
                .map(|default| (default.source.clone(), vars::display(&name, &default.value)))
                .unwrap_or_default();
            PlaybookVariable {
                name,
                default_source,
                default_value,
            }
        })
        .collect()
}

/// The comment block a playbook starts with (after an optional `---`), joined into one line. A
/// leading `description:` label is dropped so `# Description: Deploys X` reads as "Deploys X".
pub(super) fn leading_comment(text: &str) -> Option<String> {
    let mut lines = text.lines().map(str::trim).peekable();
    while lines.next_if(|l| l.is_empty() || *l == "---").is_some() {}
    let mut words = Vec::new();
    for line in lines {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        // Shebangs and editor modelines are not prose.
        if comment.starts_with('!') || comment.contains("vim:") || comment.contains("-*-") {
            continue;
        }
        let comment = comment.trim_start_matches('#').trim();
        if !comment.is_empty() {
            words.push(comment);
        }
    }
    let joined = words.join(" ");
    let stripped = match joined.split_once(':') {
        Some((label, rest)) if label.trim().eq_ignore_ascii_case("description") => rest.trim(),
        _ => joined.trim(),
    };
    (!stripped.is_empty()).then(|| stripped.to_owned())
}

/// What a derived description is made of.
pub(super) struct Summary<'a> {
    pub plays: &'a [String],
    pub imports: &'a [String],
    pub hosts: &'a [String],
    pub roles: &'a [String],
    /// `galaxy_info.description` of the roles, in role order.
    pub role_descriptions: &'a [String],
    pub services: &'a [String],
}

/// Most items a derived description lists before it says how many more there are.
const MAX_LISTED: usize = 6;

/// `items` joined with ", ", the first [`MAX_LISTED`] of them when there are more.
fn shortened(items: &[String]) -> String {
    if items.len() <= MAX_LISTED {
        return items.join(", ");
    }
    format!(
        "{} and {} more",
        items[..MAX_LISTED].join(", "),
        items.len() - MAX_LISTED
    )
}

/// A description for a playbook without a comment header: what its plays are called (or which
/// playbooks it runs), where, with which roles (and what they say they do), deploying what.
pub(super) fn derived_description(summary: &Summary<'_>) -> String {
    let mut sentences = Vec::new();
    if !summary.plays.is_empty() {
        sentences.push(summary.plays.join("; "));
    } else if !summary.imports.is_empty() {
        sentences.push(format!("Runs {}", summary.imports.join(", ")));
    }
    for (label, items) in [
        ("Targets", summary.hosts),
        ("Uses the roles", summary.roles),
        ("Deploys", summary.services),
    ] {
        if !items.is_empty() {
            sentences.push(format!("{label} {}", shortened(items)));
        }
    }
    // A site playbook of a hundred roles is not described by a hundred descriptions.
    if summary.roles.len() <= MAX_LISTED {
        sentences.extend(summary.role_descriptions.iter().cloned());
    }
    let mut description = String::new();
    for sentence in sentences {
        let mut chars = sentence.chars();
        if let Some(first) = chars.next() {
            if !description.is_empty() {
                description.push(' ');
            }
            description.extend(first.to_uppercase());
            description.push_str(chars.as_str());
            if !description.ends_with(['.', '!', '?']) {
                description.push('.');
            }
        }
    }
    description
}
