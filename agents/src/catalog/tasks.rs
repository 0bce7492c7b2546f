//! Walking task lists (of plays, roles and included task files): what they use, in order, and
//! which variables they read and set.

use super::source::{self, for_each_string, scalar_text, string_field, string_keys, tag_values};
use super::{CatalogIssue, Scanner, compose, jinja};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Keys of a block whose values are further task lists.
const BLOCK_KEYS: &[&str] = &["block", "rescue", "always"];
/// Modules that run the tasks of another file or role.
const INCLUDE_MODULES: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "include",
    "include_role",
    "import_role",
];

/// Task keys whose values are bare Jinja expressions (no `{{ }}`).
const CONDITION_KEYS: &[&str] = &["when", "changed_when", "failed_when", "until"];

/// Prefixes of Ansible's own modules, which may also be written without them.
const BUILTIN_PREFIXES: &[&str] = &["ansible.builtin.", "ansible.legacy."];

/// Something a task list uses, in the order it is used.
#[derive(Debug, Clone)]
pub(super) enum Use {
    /// A role (`roles:`, `include_role`, `import_role`).
    Role(RoleRef),
    /// A template file it renders (canonical path).
    Template(PathBuf),
    /// A compose file or template it ships (canonical path).
    Stack(PathBuf),
    /// A container image it runs directly (e.g. `docker_container`), as written.
    Image(String),
    /// A playbook it imports (canonical path).
    Playbook(PathBuf),
    /// A play of a playbook, in file order among its imports.
    Play {
        /// The play's name, if it has one.
        name: Option<String>,
        /// Its host patterns.
        hosts: Vec<String>,
        /// The tags on the play itself.
        tags: Vec<String>,
        /// What the play runs.
        content: Box<Usage>,
    },
    /// Something of a play that its own tags select: a tagged role entry, block, include or
    /// task written in the playbook (not inside a role).
    Part(Box<PartUse>),
}

/// A part of a play selected by its own tags, with what it uses.
#[derive(Debug, Clone)]
pub(super) struct PartUse {
    /// What a person calls it: the role's name, or the block's, include's or task's name.
    pub name: String,
    /// The tags written on it.
    pub tags: Vec<String>,
    /// What it uses, reads and sets.
    pub usage: Usage,
}

/// A role as a play or task names it.
#[derive(Debug, Clone)]
pub(super) struct RoleRef {
    /// The role's name: as written, or the last part of a path.
    pub name: String,
    /// Its directory (canonical), when it is in the repository.
    pub dir: Option<PathBuf>,
    /// The tasks file to run instead of `main` (`include_role: tasks_from:`).
    pub tasks_from: Option<String>,
}

/// What a piece of Ansible content uses, reads and sets.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    /// Roles, templates, stacks, images and playbooks, in order of use.
    pub uses: Vec<Use>,
    /// Tags on plays, tasks, blocks and role entries.
    pub tags: BTreeSet<String>,
    /// Variable names referenced (magic names included; the playbook filters them).
    pub reads: BTreeSet<String>,
    /// Variables it defines itself: `vars:`, `register:`, `set_fact`, loop variables, role
    /// parameters and role `vars/`.
    pub sets: BTreeSet<String>,
    /// Names of its tasks, in order (blocks are not tasks; their tasks are).
    pub task_names: Vec<String>,
    /// Names of its handlers: "Restart jellyfin", "Flag Caddy for a config reload". They run
    /// when its tasks notify them, so they are part of what it does, though Ansible's task
    /// listing leaves them out.
    pub handler_names: Vec<String>,
    /// Named tasks inside a role that carry tags (their own and their blocks' or includes'):
    /// `--tags` selects them across roles, e.g. the tasks of several roles that publish a site.
    pub tagged_tasks: Vec<TaggedTask>,
}

/// A named task of a role with the tags it carries.
#[derive(Debug, Clone)]
pub(super) struct TaggedTask {
    pub name: String,
    pub tags: Vec<String>,
    /// The templates it renders and the variables it reads and sets (an include's, all of its
    /// tasks').
    pub usage: Usage,
    /// The tags it carries itself when it includes or imports other tasks: then its name says
    /// what those tasks do together ("Publish the sites behind Caddy"), and it names the
    /// section its tags select.
    pub section_tags: Vec<String>,
}

impl Usage {
    /// Adds everything `other` uses, reads and sets, after what this one does.
    fn absorb(&mut self, other: Usage) {
        self.uses.extend(other.uses);
        self.tags.extend(other.tags);
        self.reads.extend(other.reads);
        self.sets.extend(other.sets);
        self.task_names.extend(other.task_names);
        self.handler_names.extend(other.handler_names);
        self.tagged_tasks.extend(other.tagged_tasks);
    }

    /// Adds what the handlers walked into `handlers` use, their names as handler names.
    pub(super) fn absorb_handlers(&mut self, mut handlers: Usage) {
        self.handler_names
            .append(&mut std::mem::take(&mut handlers.task_names));
        self.absorb(handlers);
    }

    /// Adds the variables every string inside `value` references.
    pub(super) fn read_strings(&mut self, value: &Value) {
        for_each_string(value, &mut |text| {
            // An unclosed tag inside a YAML string fails at run time with Ansible's own error;
            // the catalog only wants the names.
            let _ = jinja::template_refs(text, &mut self.reads);
        });
    }

    /// Adds the variables of a bare condition (`when:`), a string or a list of strings.
    pub(super) fn read_conditions(&mut self, value: &Value) {
        match value {
            Value::String(expression) => jinja::expression_refs(expression, &mut self.reads),
            Value::Sequence(items) => items.iter().for_each(|item| self.read_conditions(item)),
            _ => {}
        }
    }

    /// Records a `vars:` mapping: its names are set here, its values may read others.
    pub(super) fn vars_block(&mut self, vars: &Value) {
        self.sets.extend(string_keys(vars).map(str::to_owned));
        self.read_strings(vars);
    }
}

/// Where a task list is written, which decides where its relative references are looked up.
#[derive(Debug, Clone)]
pub(super) struct Context {
    /// The file, relative to the repository (issues point at it).
    pub relative: String,
    /// The file's text, to find the line of a reference.
    pub text: Rc<str>,
    /// Where `include_tasks` / `import_tasks` files are looked up.
    pub task_dirs: Vec<PathBuf>,
    /// Where `template` sources are looked up.
    pub template_dirs: Vec<PathBuf>,
    /// Where `copy` sources are looked up.
    pub file_dirs: Vec<PathBuf>,
    /// Where roles are looked up before the repository's roles path.
    pub role_dirs: Vec<PathBuf>,
    /// True in a playbook and the task files it includes, where a tagged task is something a
    /// person selects with `--tags`; false inside roles, which are selected as a whole.
    pub tags_select_parts: bool,
    /// Tags of the blocks and includes around the tasks here, which they inherit.
    pub inherited_tags: Vec<String>,
}

impl Context {
    /// This context for what a tagged block or include holds: its tasks inherit `tags`.
    fn inheriting(&self, tags: &[String]) -> Context {
        let mut inner = self.clone();
        for tag in tags {
            if !inner.inherited_tags.contains(tag) {
                inner.inherited_tags.push(tag.clone());
            }
        }
        inner
    }

    /// An issue about this file, at the line where `needle` is written.
    pub(super) fn issue_at(&self, needle: &str, message: String) -> CatalogIssue {
        CatalogIssue::new(&self.relative, source::line_of(&self.text, needle), message)
    }

    /// An issue about the role `name` as this file names it.
    pub(super) fn role_issue(&self, name: &str, message: String) -> CatalogIssue {
        CatalogIssue::new(&self.relative, source::role_line(&self.text, name), message)
    }
}

/// A module name without the `ansible.builtin.` / `ansible.legacy.` prefix.
fn module_name(key: &str) -> &str {
    BUILTIN_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix))
        .unwrap_or(key)
}

/// Module arguments, whichever way a task writes them: a mapping, or `key=value` words.
enum Args<'v> {
    Map(&'v Mapping),
    FreeForm(&'v str),
    None,
}

impl<'v> Args<'v> {
    fn of(value: &'v Value) -> Self {
        match value {
            Value::Mapping(mapping) => Self::Map(mapping),
            Value::String(text) => Self::FreeForm(text),
            _ => Self::None,
        }
    }

    /// The argument `name` as text, also looking at the task's `args:`.
    fn get(&self, task: &Mapping, name: &str) -> Option<String> {
        let direct = match self {
            Self::Map(mapping) => mapping.get(name).and_then(scalar_text),
            Self::FreeForm(text) => text.split_whitespace().find_map(|word| {
                let (key, value) = word.split_once('=')?;
                (key == name).then(|| value.trim_matches(['"', '\'']).to_owned())
            }),
            Self::None => None,
        };
        direct.or_else(|| {
            task.get("args")
                .and_then(Value::as_mapping)
                .and_then(|args| args.get(name))
                .and_then(scalar_text)
        })
    }

    /// The free-form text when it is a bare parameter (`include_tasks: setup.yml`).
    fn raw(&self) -> Option<&'v str> {
        match self {
            Self::FreeForm(text) if !text.contains('=') => Some(text.trim()),
            _ => None,
        }
    }

    fn value(&self, name: &str) -> Option<&'v Value> {
        match self {
            Self::Map(mapping) => mapping.get(name),
            _ => None,
        }
    }
}

impl Scanner {
    /// Walks a task list (a sequence of tasks and blocks) written in `context`.
    pub(super) fn tasks(
        &mut self,
        context: &Context,
        tasks: &Value,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        let Some(tasks) = tasks.as_sequence() else {
            return;
        };
        for task in tasks.iter().filter_map(Value::as_mapping) {
            self.task(context, task, usage, including);
        }
    }

    /// Reads a task file (an `include_tasks` target, a role's `tasks/main.yml`) and walks it.
    /// `including` holds the files being walked, so a file that includes itself is not walked
    /// forever.
    pub(super) fn task_file(
        &mut self,
        context: &Context,
        path: &Path,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        if including.iter().any(|walked| walked == path) {
            return;
        }
        let Some(relative) = self.repo.relative(path) else {
            return;
        };
        let parsed = source::read_text(path, &relative)
            .and_then(|text| source::parse_yaml(&text, &relative).map(|value| (text, value)));
        let (text, value) = match parsed {
            Ok(parsed) => parsed,
            Err(issue) => return self.issue(issue),
        };
        if !matches!(value, Value::Sequence(_) | Value::Null) {
            return self.issue(CatalogIssue::new(
                &relative,
                None,
                "a task file must be a list of tasks".to_owned(),
            ));
        }
        // A file included from a subdirectory may include its neighbours by their bare name.
        let mut task_dirs = context.task_dirs.clone();
        if let Some(dir) = path.parent()
            && !task_dirs.iter().any(|known| known == dir)
        {
            task_dirs.push(dir.to_path_buf());
        }
        let file_context = Context {
            relative,
            text: text.into(),
            task_dirs,
            ..context.clone()
        };
        including.push(path.to_path_buf());
        self.tasks(&file_context, &value, usage, including);
        including.pop();
    }

    /// One task, block or include; in a playbook, a tagged one is recorded as a part.
    fn task(
        &mut self,
        context: &Context,
        task: &Mapping,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        let tags = task.get("tags").map(tag_values).unwrap_or_default();
        if !context.tags_select_parts || tags.is_empty() {
            return self.task_body(context, task, usage, including);
        }
        let mut part = Usage::default();
        self.task_body(context, task, &mut part, including);
        let name = string_field(task, "name")
            .or_else(|| {
                part.uses.iter().find_map(|used| match used {
                    Use::Role(role) => Some(role.name.clone()),
                    _ => None,
                })
            })
            .or_else(|| part.task_names.first().cloned())
            .unwrap_or_else(|| tags.join(", "));
        usage.uses.push(Use::Part(Box::new(PartUse {
            name,
            tags,
            usage: part,
        })));
    }

    fn task_body(
        &mut self,
        context: &Context,
        task: &Mapping,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        let own_tags = task.get("tags").map(tag_values).unwrap_or_default();
        usage.tags.extend(own_tags.iter().cloned());
        let is_block = BLOCK_KEYS.iter().any(|key| task.contains_key(*key));
        let mut tagged_index = None;
        if let (false, Some(name)) = (is_block, string_field(task, "name")) {
            if !context.tags_select_parts {
                let mut tags = context.inherited_tags.clone();
                for tag in &own_tags {
                    if !tags.contains(tag) {
                        tags.push(tag.clone());
                    }
                }
                if !tags.is_empty() {
                    let includes = task
                        .keys()
                        .filter_map(Value::as_str)
                        .any(|key| INCLUDE_MODULES.contains(&module_name(key)));
                    tagged_index = Some(usage.tagged_tasks.len());
                    usage.tagged_tasks.push(TaggedTask {
                        name: name.clone(),
                        tags,
                        section_tags: if includes {
                            own_tags.clone()
                        } else {
                            Vec::new()
                        },
                        usage: Usage::default(),
                    });
                }
            }
            usage.task_names.push(name);
        }
        let inner;
        let context = if own_tags.is_empty() {
            context
        } else {
            inner = context.inheriting(&own_tags);
            &inner
        };
        match tagged_index {
            // What a tagged task uses is what its tags select, wherever else the role uses it.
            Some(index) => {
                let mut own = Usage::default();
                self.task_content(context, task, &mut own, including);
                let tagged = &mut usage.tagged_tasks[index];
                tagged.usage.uses = own
                    .uses
                    .iter()
                    .filter(|used| matches!(used, Use::Template(_)))
                    .cloned()
                    .collect();
                tagged.usage.reads.clone_from(&own.reads);
                tagged.usage.sets.clone_from(&own.sets);
                usage.absorb(own);
            }
            None => self.task_content(context, task, usage, including),
        }
    }

    /// What a task or block does besides being named and tagged: what it registers, reads,
    /// runs and includes.
    fn task_content(
        &mut self,
        context: &Context,
        task: &Mapping,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        if let Some(register) = task.get("register").and_then(scalar_text) {
            usage.sets.insert(register);
        }
        if let Some(control) = task.get("loop_control").and_then(Value::as_mapping) {
            for key in ["loop_var", "index_var"] {
                if let Some(name) = control.get(key).and_then(scalar_text) {
                    usage.sets.insert(name);
                }
            }
        }
        if let Some(vars) = task.get("vars") {
            usage.vars_block(vars);
        }
        for key in CONDITION_KEYS {
            if let Some(condition) = task.get(*key) {
                usage.read_conditions(condition);
            }
        }
        for key in BLOCK_KEYS {
            if let Some(inner) = task.get(*key) {
                self.tasks(context, inner, usage, including);
            }
        }
        for (key, value) in task {
            let Some(key) = key.as_str() else { continue };
            match key {
                "action" | "local_action" => self.action(context, task, value, usage, including),
                _ => self.module(
                    context,
                    task,
                    module_name(key),
                    Args::of(value),
                    usage,
                    including,
                ),
            }
        }
        // Every other string of the task (names, module arguments, loops) may read variables;
        // nested task lists were read above.
        for (key, value) in task {
            if !key.as_str().is_some_and(|key| BLOCK_KEYS.contains(&key)) {
                usage.read_strings(value);
            }
        }
    }

    /// `action: template src=x dest=y` or `action: {module: template, src: x}`.
    fn action(
        &mut self,
        context: &Context,
        task: &Mapping,
        value: &Value,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        match value {
            Value::String(text) => {
                let text = text.trim();
                let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
                self.module(
                    context,
                    task,
                    module_name(module),
                    Args::FreeForm(rest),
                    usage,
                    including,
                );
            }
            Value::Mapping(args) => {
                if let Some(module) = args.get("module").and_then(Value::as_str) {
                    self.module(
                        context,
                        task,
                        module_name(module),
                        Args::Map(args),
                        usage,
                        including,
                    );
                }
            }
            _ => {}
        }
    }

    /// What one module call uses; modules the catalog has no interest in do nothing.
    fn module(
        &mut self,
        context: &Context,
        task: &Mapping,
        module: &str,
        args: Args<'_>,
        usage: &mut Usage,
        including: &mut Vec<PathBuf>,
    ) {
        match module {
            "include_role" | "import_role" => {
                let Some(name) = args.get(task, "name") else {
                    return;
                };
                if let Some(vars) = args.value("vars") {
                    usage.vars_block(vars);
                }
                if let Some(tags) = args.value("apply").and_then(|apply| apply.get("tags")) {
                    usage.tags.extend(tag_values(tags));
                }
                if let Some(mut role) = self.role_ref(context, &name) {
                    role.tasks_from = args
                        .get(task, "tasks_from")
                        .filter(|file| !jinja::has_jinja(file));
                    usage.uses.push(Use::Role(role));
                }
            }
            "include_tasks" | "import_tasks" | "include" => {
                let file = args
                    .raw()
                    .map(str::to_owned)
                    .or_else(|| args.get(task, "file"))
                    .or_else(|| args.get(task, "_raw_params"));
                if let Some(file) = file.filter(|f| !jinja::has_jinja(f) && !f.is_empty()) {
                    match self.repo.find_file(&context.task_dirs, &file) {
                        Some(path) => self.task_file(context, &path, usage, including),
                        None => self.issue(context.issue_at(
                            &file,
                            format!("includes the task file {file}, which does not exist"),
                        )),
                    }
                }
            }
            "template" => {
                let Some(src) = args.get(task, "src").filter(|s| !jinja::has_jinja(s)) else {
                    return;
                };
                if Path::new(&src).is_absolute() {
                    return;
                }
                match self.repo.find_file(&context.template_dirs, &src) {
                    Some(path) => self.rendered_template(path, usage),
                    None => self.issue(context.issue_at(
                        &src,
                        format!("renders the template {src}, which does not exist"),
                    )),
                }
            }
            "copy" => {
                // Copied compose files are stacks too; other copied files are not indexed.
                let Some(src) = args.get(task, "src").filter(|s| !jinja::has_jinja(s)) else {
                    return;
                };
                let is_compose = Path::new(&src)
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(compose::is_compose_name);
                if let Some(path) = is_compose
                    .then(|| self.repo.find_file(&context.file_dirs, &src))
                    .flatten()
                {
                    usage.uses.push(Use::Stack(path));
                }
            }
            "set_fact" => {
                if let Args::Map(facts) = args {
                    usage.sets.extend(
                        facts
                            .keys()
                            .filter_map(Value::as_str)
                            .filter(|name| *name != "cacheable")
                            .map(str::to_owned),
                    );
                } else if let Args::FreeForm(text) = args {
                    usage.sets.extend(
                        text.split_whitespace()
                            .filter_map(|word| word.split_once('=').map(|(k, _)| k.to_owned())),
                    );
                }
            }
            "assert" => {
                if let Some(that) = args.value("that") {
                    usage.read_conditions(that);
                }
            }
            _ if module.ends_with("docker_container") || module.ends_with("podman_container") => {
                if let Some(image) = args.get(task, "image") {
                    usage.uses.push(Use::Image(image));
                }
            }
            _ if module.ends_with("docker_compose") || module.ends_with("docker_compose_v2") => {
                let services = args
                    .value("definition")
                    .and_then(|definition| definition.get("services"))
                    .and_then(Value::as_mapping);
                for service in services.into_iter().flat_map(|s| s.values()) {
                    if let Some(image) = service.get("image").and_then(scalar_text) {
                        usage.uses.push(Use::Image(image));
                    }
                }
            }
            _ => {}
        }
    }

    /// Records a template a task renders: the template itself, the variables it reads, and a
    /// stack when it is a compose template.
    pub(super) fn rendered_template(&mut self, path: PathBuf, usage: &mut Usage) {
        usage
            .reads
            .extend(self.template_reads(&path).iter().cloned());
        let is_compose = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(compose::is_compose_name);
        if is_compose {
            usage.uses.push(Use::Stack(path.clone()));
        }
        usage.uses.push(Use::Template(path));
    }

    /// The variables a template file reads, read once per scan. A template that cannot be read
    /// or has an unclosed tag is an issue; what could be read still counts.
    pub(super) fn template_reads(&mut self, path: &Path) -> Rc<BTreeSet<String>> {
        if let Some(cached) = self.templates.get(path) {
            return Rc::clone(cached);
        }
        let mut reads = BTreeSet::new();
        if let Some(relative) = self.repo.relative(path) {
            match source::read_text(path, &relative) {
                Ok(text) => {
                    if let Err(unclosed) = jinja::template_refs(&text, &mut reads) {
                        self.issue(CatalogIssue::new(
                            &relative,
                            Some(unclosed.line),
                            format!("template has a `{}` that is never closed", unclosed.opener),
                        ));
                    }
                }
                Err(issue) => self.issue(issue),
            }
        }
        let reads = Rc::new(reads);
        self.templates.insert(path.to_path_buf(), Rc::clone(&reads));
        reads
    }

    /// A compose file or template, read once per scan.
    pub(super) fn stack(&mut self, path: &Path) -> Rc<compose::Stack> {
        if let Some(cached) = self.stacks.get(path) {
            return Rc::clone(cached);
        }
        let relative = self.repo.relative(path).unwrap_or_default();
        let stack = match source::read_text(path, &relative) {
            Ok(text) => {
                let (stack, issue) = compose::parse(&text, &relative);
                if let Some(issue) = issue {
                    self.issue(issue);
                }
                stack
            }
            Err(issue) => {
                self.issue(issue);
                compose::Stack {
                    path: relative,
                    ..compose::Stack::default()
                }
            }
        };
        let stack = Rc::new(stack);
        self.stacks.insert(path.to_path_buf(), Rc::clone(&stack));
        stack
    }
}
