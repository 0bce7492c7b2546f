//! The text of a service's scaffold: playbook, role files, README and compose template.
//!
//! The output follows the example repository's conventions (roles/uptime_kuma): a leading `#`
//! comment describing the playbook, named plays with tags, `ansible.builtin` modules only,
//! every role variable prefixed with the role's name, everything a run writes under the
//! homelab's root, and docker actions guarded by `homelab_manage_containers` so that a run on a
//! machine without Docker only lays out files. It must pass ansible-lint's production profile
//! as generated; the template tests check that with the real ansible-lint.
//!
//! The files are written out below as they will look, with `@name@` placeholders (a marker
//! that YAML and Jinja never use) filled in by [`fill`].

use super::ServiceName;

/// Longest line of a generated comment.
const COMMENT_WIDTH: usize = 99;

/// A container image reference split into repository and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// e.g. `grafana/grafana-oss`, or a whole reference pinned by digest (`x@sha256:…`).
    pub(crate) repository: String,
    /// e.g. `11.3.0`; `None` when the reference is pinned by digest.
    pub(crate) tag: Option<String>,
}

/// What the repository already does, so that the scaffold fits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conventions {
    /// Jinja expression (without braces) for the host's directory under the homelab root.
    pub(crate) host_root: String,
    /// Jinja condition under which docker actions run.
    pub(crate) manage_containers: String,
    /// YAML value of the container's timezone.
    pub(crate) timezone: String,
    /// Whether playbooks start with the repository's `common` role.
    pub(crate) common_role: bool,
    /// `galaxy_info.author` of the repository's roles.
    pub(crate) author: String,
    /// `galaxy_info.namespace` of the repository's roles.
    pub(crate) namespace: String,
    /// `galaxy_info.license` of the repository's roles.
    pub(crate) license: String,
    /// `galaxy_info.min_ansible_version` of the repository's roles.
    pub(crate) min_ansible_version: String,
}

/// Everything a scaffold is made from, checked.
#[derive(Debug, Clone)]
pub(crate) struct Scaffold {
    pub(crate) name: ServiceName,
    pub(crate) containerised: bool,
    pub(crate) image: ImageRef,
    pub(crate) port: Option<u16>,
    /// The play's `hosts` pattern.
    pub(crate) hosts: String,
    pub(crate) conventions: Conventions,
}

// --- The files, as they will look ---------------------------------------------------------------

const PLAYBOOK: &str = "\
---
- name: Deploy @display@
  hosts: @hosts@
  gather_facts: false
  tags:
    - @slug@
    - deploy
  roles:
@common@    - role: @role@
";

const COMMON_ROLE: &str = "    - role: common\n      tags: [common]\n";

const DIRECTORIES_TASK: &str = r#"---
- name: Create the @display@ directories
  ansible.builtin.file:
    path: "{{ @role@_dir }}"
    state: directory
    mode: "0755"
  loop:
    - "{{ @role@_@first_dir@ }}"
    - "{{ @role@_data_dir }}"
  loop_control:
    loop_var: @role@_dir
"#;

const CONTAINER_TASKS: &str = r#"
- name: Write the @display@ compose file
  ansible.builtin.template:
    src: docker-compose.yml.j2
    dest: "{{ @role@_stack_dir }}/docker-compose.yml"
    mode: "0644"
  notify: @topic@

- name: Start the @display@ stack
  ansible.builtin.command:
    cmd: docker compose up --detach --remove-orphans
    chdir: "{{ @role@_stack_dir }}"
  register: @role@_compose_up
  changed_when: >-
    'Started' in @role@_compose_up.stderr
    or 'Recreated' in @role@_compose_up.stderr
  when: @manage@
"#;

const SERVICE_TASKS: &str = r#"
- name: Install @display@
  ansible.builtin.package:
    name: "{{ @role@_packages }}"
    state: present
  become: true
  when: @manage@

- name: Start @display@ and enable it at boot
  ansible.builtin.service:
    name: "{{ @role@_service_name }}"
    state: started
    enabled: true
  become: true
  when: @manage@
"#;

const WAIT_TASK: &str = r#"
- name: Wait for @display@ to listen on its port
  ansible.builtin.wait_for:
    port: "{{ @role@_port }}"
    timeout: 120
  when: @manage@
"#;

const CONTAINER_RESTART_HANDLER: &str = r#"- name: Restart the @display@ stack
  ansible.builtin.command:
    cmd: docker compose up --detach --force-recreate
    chdir: "{{ @role@_stack_dir }}"
  changed_when: true
  when: @manage@
  listen: @topic@
"#;

const SERVICE_RESTART_HANDLER: &str = r#"- name: Restart @display@
  ansible.builtin.service:
    name: "{{ @role@_service_name }}"
    state: restarted
  become: true
  when: @manage@
  listen: @topic@
"#;

const RECORD_RESTART_HANDLER: &str = r#"
- name: Record that @display@ needs a restart
  ansible.builtin.copy:
    content: |
      @display@'s configuration changed and it needs a restart:
        @restart_command@
      (Ansible does this itself when @switch@ is true.)
    dest: "{{ @note_dir@ }}/restart-requested"
    mode: "0644"
  when: not (@manage@)
  listen: @topic@
"#;

const META: &str = "\
---
galaxy_info:
  role_name: @role@
  namespace: @namespace@
  author: @author@
  description: Deploys @display@ @kind@.
  license: @license@
  min_ansible_version: @min_ansible_version@
  platforms:
    - name: Debian
      versions:
        - all
    - name: Ubuntu
      versions:
        - all
  galaxy_tags:
    - @galaxy_tag@
    - @kind_tag@
dependencies: []
";

const COMPOSE: &str = "\
# {{ ansible_managed }}
# @display@ on {{ inventory_hostname }}@url@
services:
  @slug@:
    image: @image@
    container_name: {{ @role@_container_name }}
    restart: unless-stopped
    environment:
      TZ: {{ @role@_timezone }}
@ports@    volumes:
      - {{ @role@_data_dir }}:{{ @role@_container_data_dir }}
";

const COMPOSE_PORTS: &str =
    "    ports:\n      - \"{{ @role@_port }}:{{ @role@_container_port }}\"\n";

const README: &str = "\
# @role@

@intro@

Generated by Chiffon as a starting point: review the variables below before the first run.

## Running it

```sh
ansible-playbook -i inventory/hosts.yml @playbook@ -e homelab_root=/srv/homelab
```

@running@

## Variables

@variables@
## Files

- `tasks/main.yml`: the deployment.
- `handlers/main.yml`: `@topic@`, to notify when the configuration changes.
- `defaults/main.yml`: the variables above.
- `meta/main.yml`: Galaxy metadata.
@compose_file@";

const README_RUNNING_CONTAINER: &str = "\
The role writes the stack's files under the homelab's root. It starts and restarts the stack with
`docker compose` only when `homelab_manage_containers` is true
(`-e homelab_manage_containers=true`); otherwise a changed configuration leaves a
`restart-requested` note next to the compose file.";

const README_RUNNING_SERVICE: &str = "\
The role lays out its directories under the homelab's root. It installs the packages and starts
the service only when `@role@_manage_service` is true (that needs root on the host, through
`become`); otherwise a restart leaves a `restart-requested` note in the configuration directory.
Tasks that change the service's configuration should `notify: @topic@`.";

/// One documented default variable of the role.
struct Var {
    name: String,
    /// The YAML after `name:`, e.g. ` 3000` or `\n  - grafana`.
    value: String,
    /// What it is for: the comment above it and its README entry.
    doc: String,
}

impl Scaffold {
    /// `playbooks/deploy-<slug>.yml`.
    pub(crate) fn playbook_path(&self) -> String {
        self.name.playbook_path()
    }

    /// `roles/<role>`.
    pub(crate) fn role_dir(&self) -> String {
        self.name.role_dir()
    }

    /// Every file of the scaffold: (path relative to the repository, content).
    pub(crate) fn files(&self) -> Vec<(String, String)> {
        let role = self.role_dir();
        let mut files = vec![
            (self.playbook_path(), self.playbook()),
            (format!("{role}/tasks/main.yml"), self.tasks()),
            (format!("{role}/handlers/main.yml"), self.handlers()),
            (format!("{role}/defaults/main.yml"), self.defaults()),
            (format!("{role}/meta/main.yml"), self.meta()),
            (format!("{role}/README.md"), self.readme()),
        ];
        if self.containerised {
            files.push((
                format!("{role}/templates/docker-compose.yml.j2"),
                self.compose(),
            ));
        }
        files
    }

    /// Fills the placeholders every file shares, and `extra`.
    fn fill(&self, template: &str, extra: &[(&str, &str)]) -> String {
        let topic = self.restart_topic();
        let manage = self.manage_condition();
        let mut values: Vec<(&str, &str)> = vec![
            ("display", &self.name.display),
            ("slug", &self.name.slug),
            ("role", &self.name.role),
            ("topic", &topic),
            ("manage", &manage),
        ];
        values.extend_from_slice(extra);
        fill(template, &values)
    }

    /// The handlers' `listen` topic, e.g. `Restart uptime kuma`.
    fn restart_topic(&self) -> String {
        format!("Restart {}", self.name.display.to_lowercase())
    }

    /// Condition under which the role changes the system outside the homelab root.
    fn manage_condition(&self) -> String {
        if self.containerised {
            self.conventions.manage_containers.clone()
        } else {
            format!("{}_manage_service | bool", self.name.role)
        }
    }

    fn kind(&self) -> &'static str {
        chiffon_types::Deployment::of(self.containerised).phrase()
    }

    fn hosts_description(&self) -> String {
        if self.hosts == "all" {
            "every host of the inventory".to_owned()
        } else {
            format!("the {} hosts", self.hosts)
        }
    }

    fn playbook(&self) -> String {
        let n = &self.name;
        let what = if self.containerised {
            format!(
                "Deploy {} ({}) to {} as a docker compose stack: the host's directories, the \
                 compose file, and a restart when it changes.",
                n.display,
                self.image.repository,
                self.hosts_description()
            )
        } else {
            format!(
                "Deploy {} to {} as a system service: its directories and packages, and the \
                 service started at boot.",
                n.display,
                self.hosts_description()
            )
        };
        let mut note = format!(
            "Generated by Chiffon as a starting point: review roles/{}/defaults/main.yml before \
             the first run.",
            n.role
        );
        if self.hosts == "all" {
            note.push_str(&format!(
                " To deploy to fewer hosts, add a {} group to the inventory and name it in \
                 hosts.",
                n.role
            ));
        }
        let hosts = yaml_scalar(&self.hosts);
        let common = if self.conventions.common_role {
            COMMON_ROLE
        } else {
            ""
        };
        let body = self.fill(PLAYBOOK, &[("hosts", &hosts), ("common", common)]);
        format!("{}{}{body}", comment(&what), comment(&note))
    }

    fn tasks(&self) -> String {
        let first_dir = if self.containerised {
            "stack_dir"
        } else {
            "config_dir"
        };
        let mut out = self.fill(DIRECTORIES_TASK, &[("first_dir", first_dir)]);
        if self.containerised {
            out.push_str(&self.fill(CONTAINER_TASKS, &[]));
        } else {
            out.push_str(&self.fill(SERVICE_TASKS, &[]));
        }
        if self.port.is_some() {
            out.push_str(&self.fill(WAIT_TASK, &[]));
        }
        out
    }

    fn handlers(&self) -> String {
        let role = &self.name.role;
        let explanation = format!(
            "Both handlers listen to \"{}\": the first restarts {} where Ansible manages it, the \
             second (everywhere else) records that a restart is due.",
            self.restart_topic(),
            self.name.display
        );
        let (restart, command, switch, note_dir) = if self.containerised {
            (
                CONTAINER_RESTART_HANDLER,
                format!(
                    "cd {{{{ {role}_stack_dir }}}} && docker compose up --detach --force-recreate"
                ),
                "homelab_manage_containers".to_owned(),
                format!("{role}_stack_dir"),
            )
        } else {
            (
                SERVICE_RESTART_HANDLER,
                format!("systemctl restart {{{{ {role}_service_name }}}}"),
                format!("{role}_manage_service"),
                format!("{role}_config_dir"),
            )
        };
        let record = self.fill(
            RECORD_RESTART_HANDLER,
            &[
                ("restart_command", &command),
                ("switch", &switch),
                ("note_dir", &note_dir),
            ],
        );
        format!(
            "---\n{}{}{record}",
            comment(&explanation),
            self.fill(restart, &[])
        )
    }

    /// The role's variables, in the order they are documented.
    fn vars(&self) -> Vec<Var> {
        let n = &self.name;
        let c = &self.conventions;
        let mut vars = Vec::new();
        let mut push = |suffix: &str, value: String, doc: String| {
            vars.push(Var {
                name: format!("{}_{suffix}", n.role),
                value,
                doc,
            });
        };
        if self.containerised {
            push(
                "image",
                format!(" {}", yaml_scalar(&self.image.repository)),
                format!("The container image of {}.", n.display),
            );
            if let Some(tag) = &self.image.tag {
                let doc = if tag == "latest" {
                    "The image tag to deploy. Pin a version instead of latest, so that re-running \
                     the playbook deploys the same thing."
                } else {
                    "The image tag to deploy; pinned, so that re-running the playbook deploys the \
                     same thing."
                };
                push("version", format!(" {}", quoted(tag)), doc.to_owned());
            }
            push(
                "container_name",
                format!(" {}", n.slug),
                "Name of the container on the host.".to_owned(),
            );
        } else {
            push(
                "packages",
                format!("\n  - {}", n.slug),
                format!(
                    "Packages that provide {} (check the name your distribution uses).",
                    n.display
                ),
            );
            push(
                "service_name",
                format!(" {}", n.slug),
                "The system service to start and restart.".to_owned(),
            );
        }
        if let Some(port) = self.port {
            push(
                "port",
                format!(" {port}"),
                format!("The port {} listens on, on the host.", n.display),
            );
            if self.containerised {
                push(
                    "container_port",
                    format!(" {port}"),
                    "The port the service listens on inside the container.".to_owned(),
                );
            }
        }
        let root = &c.host_root;
        if self.containerised {
            push(
                "stack_dir",
                format!(" \"{{{{ {root} }}}}/stacks/{}\"", n.slug),
                "Where the stack's compose file lives on the host, under the homelab's root."
                    .to_owned(),
            );
        } else {
            push(
                "config_dir",
                format!(" \"{{{{ {root} }}}}/etc/{}\"", n.slug),
                format!(
                    "Where the configuration of {} lives on the host, under the homelab's root.",
                    n.display
                ),
            );
        }
        push(
            "data_dir",
            format!(" \"{{{{ {root} }}}}/data/{}\"", n.slug),
            format!(
                "Where {} keeps its data on the host, under the homelab's root.",
                n.display
            ),
        );
        if self.containerised {
            push(
                "container_data_dir",
                " /data".to_owned(),
                format!(
                    "Where the image keeps its data inside the container (check the image's \
                     documentation); {}_data_dir is mounted there.",
                    n.role
                ),
            );
            push(
                "timezone",
                format!(" {}", c.timezone),
                "Timezone of the container.".to_owned(),
            );
        } else {
            push(
                "manage_service",
                " false".to_owned(),
                "Install the packages and manage the service (needs root on the host). Off by \
                 default, so that a run against a scratch homelab_root changes nothing outside \
                 it; set it to true for real hosts."
                    .to_owned(),
            );
        }
        vars
    }

    fn defaults(&self) -> String {
        let mut out = format!(
            "---\n{}",
            comment(&format!("{} {}.", self.name.display, self.kind()))
        );
        for var in self.vars() {
            out.push('\n');
            out.push_str(&comment(&var.doc));
            out.push_str(&format!("{}:{}\n", var.name, var.value));
        }
        out
    }

    fn meta(&self) -> String {
        let c = &self.conventions;
        // Galaxy tags may hold lowercase letters and digits only.
        let galaxy_tag: String = self
            .name
            .slug
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let author = yaml_scalar(&c.author);
        let license = yaml_scalar(&c.license);
        let min_version = quoted(&c.min_ansible_version);
        let kind_tag = if self.containerised {
            "docker"
        } else {
            "service"
        };
        self.fill(
            META,
            &[
                ("namespace", &c.namespace),
                ("author", &author),
                ("kind", self.kind()),
                ("license", &license),
                ("min_ansible_version", &min_version),
                ("galaxy_tag", &galaxy_tag),
                ("kind_tag", kind_tag),
            ],
        )
    }

    fn readme(&self) -> String {
        let how = if self.containerised {
            format!(
                "as a docker compose stack (image `{}`)",
                self.image.repository
            )
        } else {
            "as a system service".to_owned()
        };
        let running = if self.containerised {
            README_RUNNING_CONTAINER.to_owned()
        } else {
            self.fill(README_RUNNING_SERVICE, &[])
        };
        let variables: String = self
            .vars()
            .iter()
            .map(|var| {
                let value = var.value.trim().replace("\n  ", " ");
                format!("- `{}` (default `{value}`): {}\n", var.name, var.doc)
            })
            .collect();
        let compose_file = if self.containerised {
            format!(
                "- `templates/docker-compose.yml.j2`: the compose stack, written to `{}_stack_dir`.\n",
                self.name.role
            )
        } else {
            String::new()
        };
        let intro = format!(
            "Deploys {} {how} to the hosts of `{}` ({}).",
            self.name.display,
            self.playbook_path(),
            self.hosts_description()
        );
        let intro = crate::git::wrap(&intro, COMMENT_WIDTH, "");
        self.fill(
            README,
            &[
                ("intro", intro.trim_end()),
                ("playbook", &self.playbook_path()),
                ("running", &running),
                ("variables", &variables),
                ("compose_file", &compose_file),
            ],
        )
    }

    fn compose(&self) -> String {
        let role = &self.name.role;
        let url = match self.port {
            Some(_) => format!(": http://{{{{ inventory_hostname }}}}:{{{{ {role}_port }}}}/"),
            None => String::new(),
        };
        let image = match self.image.tag {
            Some(_) => format!("{{{{ {role}_image }}}}:{{{{ {role}_version }}}}"),
            None => format!("{{{{ {role}_image }}}}"),
        };
        let ports = if self.port.is_some() {
            self.fill(COMPOSE_PORTS, &[])
        } else {
            String::new()
        };
        self.fill(
            COMPOSE,
            &[("url", &url), ("image", &image), ("ports", &ports)],
        )
    }
}

/// Replaces every `@name@` in `template` by its value. Values are inserted as they are, never
/// scanned for placeholders themselves.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find('@') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('@').and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (*value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                // Not a placeholder (an e-mail address in a value would be, but values are
                // never scanned): keep the '@'.
                debug_assert!(false, "unknown placeholder in {after:.40}");
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` as `#` comment lines of at most [`COMMENT_WIDTH`] characters.
fn comment(text: &str) -> String {
    crate::git::wrap(text, COMMENT_WIDTH, "# ")
}

/// `value` as a double-quoted YAML string (JSON's string escapes are valid in YAML).
fn quoted(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// `value` unquoted when YAML reads the plain word as that same string, else quoted.
pub(crate) fn yaml_scalar(value: &str) -> String {
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        value.to_owned()
    } else {
        quoted(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaffold(containerised: bool, port: Option<u16>, tag: Option<&str>) -> Scaffold {
        Scaffold {
            name: ServiceName::parse("Uptime Kuma").expect("valid"),
            containerised,
            image: ImageRef {
                repository: "louislam/uptime-kuma".into(),
                tag: tag.map(str::to_owned),
            },
            port,
            hosts: "monitoring".into(),
            conventions: Conventions {
                host_root: "homelab_host_root".into(),
                manage_containers: "homelab_manage_containers | bool".into(),
                timezone: "\"{{ homelab_timezone }}\"".into(),
                common_role: true,
                author: "ops@home.arpa".into(),
                namespace: "homelab".into(),
                license: "MIT".into(),
                min_ansible_version: "2.16".into(),
            },
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        // `fill` also asserts (in debug builds) that every placeholder it meets is known.
        for containerised in [true, false] {
            for port in [Some(3001), None] {
                for tag in [Some("1.23.16"), None] {
                    for (path, content) in scaffold(containerised, port, tag).files() {
                        // The only '@' left is the author's address in meta/main.yml.
                        assert!(
                            !content.contains('@') || path.ends_with("meta/main.yml"),
                            "{path} has a placeholder left:\n{content}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn containerised_scaffolds_have_a_compose_file() {
        let files = scaffold(true, Some(3001), Some("1.23.16")).files();
        let compose = files
            .iter()
            .find(|(path, _)| path == "roles/uptime_kuma/templates/docker-compose.yml.j2")
            .map(|(_, content)| content)
            .expect("compose file");
        assert!(compose.contains("image: {{ uptime_kuma_image }}:{{ uptime_kuma_version }}"));
        assert!(compose.contains("- \"{{ uptime_kuma_port }}:{{ uptime_kuma_container_port }}\""));
        let native = scaffold(false, None, None).files();
        assert!(
            !native
                .iter()
                .any(|(path, _)| path.contains("docker-compose"))
        );
    }

    #[test]
    fn playbooks_describe_themselves() {
        let files = scaffold(true, Some(3001), Some("1.23.16")).files();
        let playbook = &files[0].1;
        assert!(
            playbook
                .starts_with("# Deploy Uptime Kuma (louislam/uptime-kuma) to the monitoring hosts")
        );
        assert!(playbook.contains("\n---\n- name: Deploy Uptime Kuma\n  hosts: monitoring\n"));
        assert!(
            playbook
                .contains("    - role: common\n      tags: [common]\n    - role: uptime_kuma\n")
        );
    }

    #[test]
    fn comments_wrap() {
        let text = "word ".repeat(40);
        let wrapped = comment(&text);
        assert!(
            wrapped
                .lines()
                .all(|l| l.len() <= COMMENT_WIDTH && l.starts_with("# "))
        );
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
    }

    #[test]
    fn scalars_are_quoted_when_needed() {
        assert_eq!(yaml_scalar("grafana/grafana-oss"), "grafana/grafana-oss");
        assert_eq!(yaml_scalar("yes"), "\"yes\"");
        assert_eq!(yaml_scalar("web:&prod"), "\"web:&prod\"");
        assert_eq!(yaml_scalar("!web"), "\"!web\"");
        assert_eq!(quoted("2.16"), "\"2.16\"");
    }

    #[test]
    fn fill_leaves_values_alone() {
        assert_eq!(fill("a @x@ b", &[("x", "@x@")]), "a @x@ b");
    }
}
