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

/// Lower case, words joined by single `-`.
pub(super) fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The service a role deploys or configures; `None` for generic roles (`common`). A role from
/// a collection or Galaxy (`geerlingguy.docker`) is named by its last part.
pub(super) fn from_role(role: &str) -> Option<String> {
    let role = role.rsplit('.').next().unwrap_or(role);
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

/// The service a container image runs: its last path part without tag or digest
/// (`ghcr.io/gethomepage/homepage:v1` → `homepage`); `None` while it still holds Jinja.
pub(super) fn from_image(image: &str) -> Option<String> {
    if jinja::has_jinja(image) {
        return None;
    }
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let name = last.split(':').next().unwrap_or(last);
    let name = normalise(name);
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
        assert_eq!(from_role("uptime_kuma").as_deref(), Some("uptime-kuma"));
        assert_eq!(
            from_role("uptime_kuma_monitors").as_deref(),
            Some("uptime-kuma")
        );
        assert_eq!(from_role("deploy_grafana").as_deref(), Some("grafana"));
        assert_eq!(from_role("geerlingguy.docker").as_deref(), Some("docker"));
        assert_eq!(from_role("common"), None);
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
