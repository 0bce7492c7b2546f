//! docker-compose stacks a repository ships, as plain files or Jinja templates.

use super::CatalogIssue;
use super::jinja;
use serde_yaml_ng::Value;

/// A compose file or template, as written: image names may still hold Jinja (`{{ image }}:{{
/// version }}`) that each playbook renders with the defaults it sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stack {
    /// Path relative to the repository root.
    pub path: String,
    /// Names of the compose services, in file order.
    pub services: Vec<String>,
    /// Images of those services, in file order, without duplicates.
    pub images: Vec<String>,
}

/// True for file names compose tools pick up or that name themselves after them:
/// `docker-compose*.yml`, `compose*.yaml` and the like, optionally as a `.j2` template.
pub(super) fn is_compose_name(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    let name = lower.strip_suffix(".j2").unwrap_or(&lower);
    let Some(stem) = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
    else {
        return false;
    };
    stem.starts_with("docker-compose") || stem.starts_with("compose")
}

/// Reads a compose file or template. Jinja is set aside before parsing (see [`jinja::mask`]);
/// when the result still is not valid YAML the stack is returned from a line-by-line reading of
/// its `image:` lines and service keys, with the parse error as an issue.
pub(super) fn parse(text: &str, path: &str) -> (Stack, Option<CatalogIssue>) {
    let masked = jinja::mask(text);
    let parsed = serde_yaml_ng::from_str::<Value>(&masked.text).and_then(|mut value| {
        // `<<: *defaults` is common in compose files; images often come from the anchor.
        value.apply_merge()?;
        Ok(value)
    });
    match parsed {
        Ok(value) => (from_value(&value, path, &masked), None),
        Err(error) => {
            let issue = CatalogIssue::new(
                path,
                error.location().map(|l| l.line()),
                format!(
                    "compose file is not valid YAML{}: {error}",
                    if jinja::has_jinja(text) {
                        " once its Jinja is set aside"
                    } else {
                        ""
                    }
                ),
            );
            (from_lines(text, path), Some(issue))
        }
    }
}

fn from_value(value: &Value, path: &str, masked: &jinja::Masked) -> Stack {
    let mut stack = Stack {
        path: path.to_owned(),
        ..Stack::default()
    };
    let Some(top) = value.as_mapping() else {
        return stack;
    };
    // Compose files of format version 1 list services at the top level.
    let nested = top.get("services").and_then(Value::as_mapping);
    let services = nested.unwrap_or(top);
    for (name, service) in services {
        let (Some(name), Some(service)) = (name.as_str(), service.as_mapping()) else {
            continue;
        };
        let image = service.get("image").and_then(Value::as_str);
        if image.is_none() && !service.contains_key("build") && nested.is_none() {
            continue;
        }
        push_unique(&mut stack.services, masked.unmask(name));
        if let Some(image) = image {
            push_unique(&mut stack.images, masked.unmask(image.trim()));
        }
    }
    stack
}

/// The fallback reading: `image:` values anywhere, and the keys one level below `services:`.
fn from_lines(text: &str, path: &str) -> Stack {
    let mut stack = Stack {
        path: path.to_owned(),
        ..Stack::default()
    };
    let indent = |line: &str| line.len() - line.trim_start().len();
    // Indentation of `services:`, then of its first key.
    let mut services_at: Option<usize> = None;
    let mut service_indent: Option<usize> = None;
    for line in text.lines() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') || content.starts_with("{%") {
            continue;
        }
        let depth = indent(line);
        if let Some(image) = content.strip_prefix("image:") {
            let image = image.trim().trim_matches(['"', '\'']).trim();
            if !image.is_empty() {
                push_unique(&mut stack.images, image.to_owned());
            }
        }
        if content == "services:" {
            services_at = Some(depth);
            service_indent = None;
            continue;
        }
        let Some(parent) = services_at else { continue };
        if depth <= parent {
            services_at = None;
            continue;
        }
        let level = *service_indent.get_or_insert(depth);
        if depth == level
            && let Some(name) = content.strip_suffix(':')
        {
            push_unique(
                &mut stack.services,
                name.trim_matches(['"', '\'']).to_owned(),
            );
        }
    }
    stack
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !item.is_empty() && !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names_are_recognised() {
        for name in [
            "docker-compose.yml",
            "docker-compose.yml.j2",
            "docker-compose.prod.yaml",
            "compose.yaml",
            "Compose.yml.j2",
            "compose-monitoring.yml",
        ] {
            assert!(is_compose_name(name), "{name}");
        }
        for name in [
            "compose.json",
            "settings.yaml.j2",
            "my-compose.yml",
            "docker-compose",
        ] {
            assert!(!is_compose_name(name), "{name}");
        }
    }

    #[test]
    fn a_template_gives_its_services_and_images_with_the_jinja_kept() {
        let template = "\
# {{ ansible_managed }}
x-defaults: &defaults
  restart: unless-stopped
  image: redis:7
services:
  uptime-kuma:
    image: {{ uptime_kuma_image }}:{{ uptime_kuma_version }}
    ports:
      - \"{{ port }}:3001\"
  cache:
    <<: *defaults
";
        let (stack, issue) = parse(template, "roles/k/templates/docker-compose.yml.j2");
        assert_eq!(issue, None);
        assert_eq!(stack.services, ["uptime-kuma", "cache"]);
        assert_eq!(
            stack.images,
            [
                "{{ uptime_kuma_image }}:{{ uptime_kuma_version }}",
                "redis:7"
            ]
        );
    }

    #[test]
    fn a_broken_template_is_an_issue_and_still_read_line_by_line() {
        let template = "services:\n  web:\n    image: nginx:1\n    ports: [\n  db:\n    image: \"postgres:16\"\n";
        let (stack, issue) = parse(template, "compose.yml");
        let issue = issue.expect("an issue");
        assert_eq!(issue.path, "compose.yml");
        assert!(issue.line.is_some_and(|l| (4..=6).contains(&l)), "{issue}");
        assert!(issue.message.contains("not valid YAML"), "{issue}");
        assert_eq!(stack.services, ["web", "db"]);
        assert_eq!(stack.images, ["nginx:1", "postgres:16"]);
    }

    #[test]
    fn version_one_files_list_services_at_the_top() {
        let (stack, issue) = parse("web:\n  image: nginx\nnot_a_service: 3\n", "compose.yml");
        assert_eq!(issue, None);
        assert_eq!(stack.services, ["web"]);
        assert_eq!(stack.images, ["nginx"]);
    }
}
