//! Service names: one spelling ("uptime-kuma") for what a role name (`uptime_kuma`), a compose
//! service (`uptime-kuma`) and an image (`louislam/uptime-kuma:1`) call the same thing, so that
//! a request about "Uptime Kuma" finds every playbook touching it.

use super::jinja;

/// Role names that set a host up rather than deploy a service.
const GENERIC_ROLES: &[&str] = &[
    "base",
    "baseline",
    "bootstrap",
    "common",
    "core",
    "defaults",
    "init",
    "prereqs",
    "prerequisites",
    "setup",
];

/// Role name endings that configure or install a service rather than being one:
/// `uptime_kuma_monitors` configures `uptime-kuma`.
const ROLE_SUFFIXES: &[&str] = &[
    "-config",
    "-configure",
    "-deploy",
    "-install",
    "-monitors",
    "-settings",
    "-setup",
];

/// Role name beginnings of the same kind: `deploy_grafana` deploys `grafana`.
const ROLE_PREFIXES: &[&str] = &["configure-", "deploy-", "install-", "setup-"];

use chiffon_types::slug as normalise;

/// Names of a component of something rather than of the thing: an image `gotify/server` runs
/// Gotify, a role `vladgh.samba.server` sets up Samba.
const GENERIC_COMPONENTS: &[&str] = &[
    "agent", "api", "app", "backend", "client", "core", "daemon", "frontend", "main", "server",
    "service", "web",
];

/// The last of `parts` that is not a generic component name (`["gotify", "server"]` →
/// `gotify`), else the last.
fn telling_part<'a>(parts: &[&'a str]) -> Option<&'a str> {
    parts
        .iter()
        .rev()
        .find(|part| !GENERIC_COMPONENTS.contains(&part.to_ascii_lowercase().as_str()))
        .or_else(|| parts.last())
        .copied()
}

/// The service a role deploys or configures; `None` for generic roles (`common`). A role of the
/// repository is named by its directory, dots included (`healthchecks.io`); a role from a
/// collection or Galaxy by the telling part of its name (`geerlingguy.docker` → `docker`,
/// `vladgh.samba.server` → `samba`).
pub(super) fn from_role(role: &str, in_repository: bool) -> Option<String> {
    let role = if in_repository {
        role
    } else {
        telling_part(&role.split('.').collect::<Vec<_>>()).unwrap_or(role)
    };
    let mut name = normalise(role);
    if GENERIC_ROLES.contains(&name.as_str()) {
        return None;
    }
    for suffix in ROLE_SUFFIXES {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped.to_owned();
        }
    }
    for prefix in ROLE_PREFIXES {
        if let Some(stripped) = name.strip_prefix(prefix) {
            name = stripped.to_owned();
        }
    }
    (!name.is_empty()).then_some(name)
}

/// The service a container image runs: its last telling path part without tag or digest
/// (`ghcr.io/gethomepage/homepage:v1` → `homepage`, `gotify/server` → `gotify`); `None` while it
/// still holds Jinja.
pub(super) fn from_image(image: &str) -> Option<String> {
    if jinja::has_jinja(image) {
        return None;
    }
    let without_digest = image.split('@').next().unwrap_or(image);
    let without_tag = match without_digest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => without_digest,
    };
    let parts: Vec<&str> = without_tag.split('/').collect();
    let name = normalise(telling_part(&parts).unwrap_or(without_tag));
    (!name.is_empty()).then_some(name)
}

/// The service a compose service key names; `None` while it still holds Jinja.
pub(super) fn from_compose_service(service: &str) -> Option<String> {
    if jinja::has_jinja(service) {
        return None;
    }
    let name = normalise(service);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_from_every_source() {
        assert_eq!(normalise("Uptime_Kuma"), "uptime-kuma");
        assert_eq!(normalise("  a..b__c-- "), "a-b-c");
        assert_eq!(
            from_role("uptime_kuma", true).as_deref(),
            Some("uptime-kuma")
        );
        assert_eq!(
            from_role("uptime_kuma_monitors", true).as_deref(),
            Some("uptime-kuma")
        );
        assert_eq!(
            from_role("deploy_grafana", true).as_deref(),
            Some("grafana")
        );
        assert_eq!(from_role("common", true), None);
        assert_eq!(
            from_role("healthchecks.io", true).as_deref(),
            Some("healthchecks-io")
        );
        assert_eq!(
            from_role("geerlingguy.docker", false).as_deref(),
            Some("docker")
        );
        assert_eq!(
            from_role("vladgh.samba.server", false).as_deref(),
            Some("samba")
        );
        assert_eq!(
            from_image("gotify/server:latest").as_deref(),
            Some("gotify")
        );
        assert_eq!(
            from_image("registry.lan:5000/wiki/app:2").as_deref(),
            Some("wiki")
        );
        assert_eq!(
            from_image("louislam/uptime-kuma:1.23.16").as_deref(),
            Some("uptime-kuma")
        );
        assert_eq!(
            from_image("ghcr.io/gethomepage/homepage@sha256:abc").as_deref(),
            Some("homepage")
        );
        assert_eq!(from_image("{{ image }}:1"), None);
        assert_eq!(from_compose_service("{{ name }}"), None);
    }
}
