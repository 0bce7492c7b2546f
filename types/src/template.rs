//! How a service template is described to people, in the plan, the CLI, the commit and the
//! scaffold alike.

/// How a service template deploys its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// A docker compose stack.
    ComposeStack,
    /// A system service, installed from packages.
    SystemService,
}

impl Deployment {
    /// The deployment of a containerised (true) or native (false) template.
    pub fn of(containerised: bool) -> Self {
        if containerised {
            Self::ComposeStack
        } else {
            Self::SystemService
        }
    }

    /// "docker compose stack" or "system service".
    pub fn noun(self) -> &'static str {
        match self {
            Self::ComposeStack => "docker compose stack",
            Self::SystemService => "system service",
        }
    }

    /// "as a docker compose stack" or "as a system service".
    pub fn phrase(self) -> &'static str {
        match self {
            Self::ComposeStack => "as a docker compose stack",
            Self::SystemService => "as a system service",
        }
    }
}

/// The choices a template request may set beyond its service and deployment, in words, each
/// only when set: "image grafana/grafana", "port 3000", "hosts monitoring".
pub fn template_choices(image: &str, port: u32, hosts: &str) -> Vec<String> {
    let mut words = Vec::new();
    if !image.is_empty() {
        words.push(format!("image {image}"));
    }
    if port != 0 {
        words.push(format!("port {port}"));
    }
    if !hosts.is_empty() {
        words.push(format!("hosts {hosts}"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_described_by_what_it_sets() {
        assert_eq!(Deployment::of(true).noun(), "docker compose stack");
        assert_eq!(Deployment::of(false).phrase(), "as a system service");
        assert_eq!(
            template_choices("grafana/grafana", 3000, ""),
            vec!["image grafana/grafana", "port 3000"]
        );
        assert!(template_choices("", 0, "").is_empty());
    }
}
