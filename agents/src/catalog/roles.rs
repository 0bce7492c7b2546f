//! Roles: finding them where Ansible would, and reading each one once per scan.

use super::source::{self, string_field, tag_values};
use super::tasks::{Context, RoleRef, Usage, Use};
use super::vars::VarMap;
use super::{CatalogIssue, Scanner, compose, jinja};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Keys of a role entry (in `roles:` or a role's `dependencies`) that are keywords; every other
/// key is a role parameter, i.e. a variable the entry sets.
const ROLE_ENTRY_KEYWORDS: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delegate_facts",
    "delegate_to",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "role",
    "run_once",
    "src",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "version",
    "when",
];

/// What a role brings to the playbooks that use it.
#[derive(Debug)]
pub(super) struct RoleInfo {
    /// The role's name (its directory's name).
    pub name: String,
    /// Roles of its `meta/main.yml` `dependencies`, which run before it.
    pub dependencies: Vec<RoleRef>,
    /// What its tasks, handlers, templates and files use, read and set.
    pub usage: Usage,
    /// Its `defaults/`.
    pub defaults: Rc<VarMap>,
    /// `galaxy_info.description` of its `meta/main.yml`.
    pub description: Option<String>,
}

impl Scanner {
    /// Resolves a role named in `context`: a name is looked up in the context's role
    /// directories, then the repository's roles path; a path (`../roles/x`) also relative to the
    /// file. A missing role is an issue unless its name is a collection's or Galaxy's
    /// (`namespace.role`), which are installed outside the repository. `None` for names that are
    /// Jinja expressions.
    pub(super) fn role_ref(&mut self, context: &Context, name: &str) -> Option<RoleRef> {
        let name = name.trim();
        if name.is_empty() || jinja::has_jinja(name) {
            return None;
        }
        let mut dirs: Vec<PathBuf> = context.role_dirs.clone();
        dirs.extend(self.repo.roles_path.iter().cloned());
        if name.contains('/') {
            dirs.extend(context.task_dirs.iter().cloned());
            dirs.push(self.repo.root.clone());
        }
        let dir = dirs
            .iter()
            .map(|dir| dir.join(name))
            .filter(|candidate| candidate.is_dir())
            .find_map(|candidate| self.repo.inside(&candidate));
        let display = match &dir {
            Some(dir) => dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(name)
                .to_owned(),
            None => name.rsplit('/').next().unwrap_or(name).to_owned(),
        };
        if dir.is_none() && !name.contains('.') {
            let searched: Vec<String> = dirs
                .iter()
                .filter_map(|dir| self.repo.relative(dir))
                .map(|dir| {
                    if dir.is_empty() {
                        ".".to_owned()
                    } else {
                        format!("{dir}/")
                    }
                })
                .collect();
            self.issue(context.role_issue(
                name,
                format!(
                    "uses the role {name}, which is in none of {}",
                    searched.join(", ")
                ),
            ));
        }
        Some(RoleRef {
            name: display,
            dir,
            tasks_from: None,
        })
    }

    /// A role entry of a play's `roles:` or a role's `dependencies`: a name, or a mapping with
    /// `role:` (or `name:`) and keywords or parameters. Its tags, conditions and parameters go
    /// to `usage`.
    pub(super) fn role_entry(
        &mut self,
        context: &Context,
        entry: &Value,
        usage: &mut Usage,
    ) -> Option<RoleRef> {
        let mapping = match entry {
            Value::String(name) => return self.role_ref(context, name),
            Value::Mapping(mapping) => mapping,
            _ => return None,
        };
        let name = string_field(mapping, "role")
            .or_else(|| string_field(mapping, "name"))
            .or_else(|| string_field(mapping, "src"))?;
        if let Some(tags) = mapping.get("tags") {
            usage.tags.extend(tag_values(tags));
        }
        if let Some(condition) = mapping.get("when") {
            usage.read_conditions(condition);
        }
        if let Some(vars) = mapping.get("vars") {
            usage.vars_block(vars);
        }
        for (key, value) in mapping {
            if let Some(key) = key.as_str()
                && !ROLE_ENTRY_KEYWORDS.contains(&key)
            {
                usage.sets.insert(key.to_owned());
                usage.read_strings(value);
            }
        }
        self.role_ref(context, &name)
    }

    /// The role at `dir` (run from `tasks_from`, or `main`), read once per scan.
    pub(super) fn role(&mut self, dir: &Path, tasks_from: Option<&str>) -> Rc<RoleInfo> {
        let key = (dir.to_path_buf(), tasks_from.map(str::to_owned));
        if let Some(cached) = self.roles.get(&key) {
            return Rc::clone(cached);
        }
        let context = Context {
            relative: self.repo.relative(dir).unwrap_or_default(),
            text: Rc::from(""),
            task_dirs: vec![dir.join("tasks"), dir.to_path_buf()],
            template_dirs: vec![dir.join("templates"), dir.to_path_buf()],
            file_dirs: vec![dir.join("files"), dir.to_path_buf()],
            // Sibling roles first, as Ansible looks next to the role that names them.
            role_dirs: dir.parent().map(Path::to_path_buf).into_iter().collect(),
            tags_select_parts: false,
            inherited_tags: Vec::new(),
        };
        let mut usage = Usage::default();
        let (dependencies, description) = self.role_meta(&context, dir, &mut usage);
        let defaults = Rc::new(self.vars_named(&dir.join("defaults"), "main"));
        for (name, default) in self.vars_named(&dir.join("vars"), "main") {
            usage.sets.insert(name);
            usage.read_strings(&default.value);
        }

        let tasks_dir = dir.join("tasks");
        let task_files = match tasks_from {
            Some(file) => match self.repo.find_file(std::slice::from_ref(&tasks_dir), file) {
                Some(path) => vec![path],
                None => source::named_yaml_files(&tasks_dir, file),
            },
            None => source::named_yaml_files(&tasks_dir, "main"),
        };
        if let (Some(file), true) = (tasks_from, task_files.is_empty()) {
            self.issue(CatalogIssue::new(
                &context.relative,
                None,
                format!("the role has no tasks file {file} (asked for by tasks_from)"),
            ));
        }
        for file in &task_files {
            if let Some(file) = self.repo.inside(file) {
                self.task_file(&context, &file, &mut usage, &mut Vec::new());
            }
        }
        let mut handlers = Usage::default();
        for file in source::named_yaml_files(&dir.join("handlers"), "main") {
            if let Some(file) = self.repo.inside(&file) {
                self.task_file(&context, &file, &mut handlers, &mut Vec::new());
            }
        }
        usage.absorb_handlers(handlers);

        // Everything in templates/ ships with the role, rendered or not; compose files in
        // files/ are stacks it can copy.
        for file in source::files_under(&dir.join("templates")) {
            if let Some(file) = self.repo.inside(&file) {
                self.rendered_template(file, &mut usage);
            }
        }
        for file in source::files_under(&dir.join("files")) {
            let is_compose = file
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(compose::is_compose_name);
            if let Some(file) = is_compose.then(|| self.repo.inside(&file)).flatten() {
                usage.uses.push(Use::Stack(file));
            }
        }

        let info = Rc::new(RoleInfo {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dependencies,
            usage,
            defaults,
            description,
        });
        self.roles.insert(key, Rc::clone(&info));
        info
    }

    /// The dependencies and galaxy description of a role's `meta/main.yml`; a broken meta file
    /// is an issue and the role is read without dependencies.
    fn role_meta(
        &mut self,
        role_context: &Context,
        dir: &Path,
        usage: &mut Usage,
    ) -> (Vec<RoleRef>, Option<String>) {
        let mut dependencies = Vec::new();
        let mut description = None;
        for file in source::named_yaml_files(&dir.join("meta"), "main") {
            let Some(relative) = self.repo.relative(&file) else {
                continue;
            };
            let parsed = source::read_text(&file, &relative)
                .and_then(|text| source::parse_yaml(&text, &relative).map(|value| (text, value)));
            let (text, meta) = match parsed {
                Ok(parsed) => parsed,
                Err(issue) => {
                    self.issue(issue);
                    continue;
                }
            };
            let context = Context {
                relative,
                text: text.into(),
                ..role_context.clone()
            };
            description = meta
                .get("galaxy_info")
                .and_then(|info| info.get("description"))
                .and_then(Value::as_str)
                .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|text| !text.is_empty());
            match meta.get("dependencies") {
                None | Some(Value::Null) => {}
                Some(Value::Sequence(entries)) => {
                    for entry in entries {
                        if let Some(role) = self.role_entry(&context, entry, usage) {
                            dependencies.push(role);
                        }
                    }
                }
                Some(_) => self.issue(context.issue_at(
                    "dependencies",
                    "`dependencies` must be a list of roles".to_owned(),
                )),
            }
        }
        (dependencies, description)
    }
}
