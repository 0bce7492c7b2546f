//! Requests for a new playbook ("generate a template for deploying Grafana"): recognised in the
//! request's words and planned as one step that writes a playbook and role scaffold on a branch.

use super::{PlanDraft, REPOSITORY_CHANGE_SECONDS, RunOptions, StepDraft, TemplateSpec};
use crate::domain::{RiskLevel, StepAction};
use chiffon_types::{Deployment, template_choices};

/// The one-step plan that writes the scaffold `template` describes.
pub(super) fn template_plan(text: &str, template: TemplateSpec) -> PlanDraft {
    let branch = format!(
        "chiffon/template-{}",
        chiffon_types::slug(&template.service)
    );
    let mut how = vec![Deployment::of(template.containerised).phrase().to_owned()];
    how.extend(template_choices(
        &template.image,
        template.port,
        &template.hosts,
    ));
    let step = StepDraft {
        position: 1,
        title: format!("Generate a template for deploying {}", template.service),
        rationale: format!(
            "\"{text}\" asks for a new playbook: the agent writes a playbook and role for {} ({}), \
             checks them with ansible-playbook --syntax-check and ansible-lint, and commits them \
             on the branch {branch}; nothing runs on any host",
            template.service,
            how.join(", ")
        ),
        playbook: None,
        depends_on: Vec::new(),
        risk: RiskLevel::Low,
        risk_reason: "changes no host: the scaffold is a commit on a new branch for you to review"
            .to_owned(),
        hosts: Vec::new(),
        roles: Vec::new(),
        estimated_seconds: REPOSITORY_CHANGE_SECONDS,
        extra_vars: serde_json::Map::new(),
        action: StepAction::GenerateTemplate,
        run_options: RunOptions::default(),
        suggestion_id: None,
        template: Some(template),
    };
    PlanDraft {
        summary: format!(
            "For \"{text}\", run one step: {} (a new branch {branch} of the infrastructure \
             repository; review and merge it yourself).",
            step.title
        ),
        steps: vec![step],
    }
}

/// The scaffold `text` asks for, when it asks for one ("generate a template for deploying
/// Grafana", "create a playbook for X", "scaffold a role for X", "write a template to deploy
/// X"); `feedback` may change how it runs (port, image, system service) but not the service.
pub fn template_request(text: &str, feedback: &str) -> Option<TemplateSpec> {
    const VERBS: [&str; 6] = ["generate", "create", "write", "scaffold", "make", "build"];
    const ARTICLES: [&str; 4] = ["a", "an", "the", "new"];
    const NOUNS: [&str; 5] = ["template", "playbook", "role", "scaffold", "scaffolding"];
    const LEADS: [&str; 9] = [
        "for",
        "to",
        "that",
        "deploying",
        "deploy",
        "deploys",
        "installing",
        "install",
        "running",
    ];
    // Words after the service that start how it runs, not its name.
    const STOPS: [&str; 11] = [
        "on",
        "with",
        "using",
        "as",
        "without",
        "via",
        "image",
        "port",
        "in",
        "listening",
        "at",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let bare = |word: &str| {
        word.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    let start = words
        .iter()
        .position(|word| VERBS.contains(&bare(word).as_str()))?;
    let mut at = start + 1;
    while at < words.len() && ARTICLES.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    if !NOUNS.contains(&bare(words.get(at)?).as_str()) {
        return None;
    }
    at += 1;
    // "and role", "and a role" after the noun.
    while at < words.len()
        && (matches!(bare(words[at]).as_str(), "and" | "role" | "roles")
            || ARTICLES.contains(&bare(words[at]).as_str()))
    {
        at += 1;
    }
    let lead_start = at;
    while at < words.len() && LEADS.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    if at == lead_start {
        return None;
    }
    while at < words.len() && ARTICLES.contains(&bare(words[at]).as_str()) {
        at += 1;
    }
    let mut service = Vec::new();
    for word in &words[at..] {
        if STOPS.contains(&bare(word).as_str()) {
            break;
        }
        let ends_sentence = word.ends_with([',', ';', '.', ':']);
        service.push(word.trim_end_matches([',', ';', '.', ':']));
        if ends_sentence {
            break;
        }
    }
    let service = service.join(" ");
    if service
        .trim_matches(|c: char| !c.is_alphanumeric())
        .is_empty()
    {
        return None;
    }
    let options = format!("{text} {feedback}");
    let lower = options.to_lowercase();
    let option_words: Vec<&str> = options.split_whitespace().collect();
    let after = |name: &str| {
        option_words
            .windows(2)
            .rev()
            .find(|pair| bare(pair[0]) == name)
            .map(|pair| {
                pair[1]
                    .trim_end_matches([',', ';', '.', ':', ')'])
                    .to_owned()
            })
    };
    let hosts = option_words
        .windows(3)
        .rev()
        .find(|triple| {
            bare(triple[0]) == "on" && matches!(bare(triple[1]).as_str(), "hosts" | "host")
        })
        .map(|triple| {
            triple[2]
                .trim_end_matches([',', ';', '.', ':', ')'])
                .to_owned()
        });
    Some(TemplateSpec {
        service,
        containerised: !["system service", "without docker", "systemd", "no docker"]
            .iter()
            .any(|phrase| lower.contains(phrase)),
        image: after("image").unwrap_or_default(),
        port: after("port")
            .and_then(|port| port.parse().ok())
            .unwrap_or(0),
        hosts: hosts.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::plan;
    use super::*;

    #[test]
    fn a_template_request_becomes_one_template_step() {
        let draft = plan("generate a template for deploying Grafana", "", &[]);
        assert_eq!(draft.steps.len(), 1);
        let step = &draft.steps[0];
        assert_eq!(step.action, StepAction::GenerateTemplate);
        assert_eq!(step.risk, RiskLevel::Low);
        assert!(!draft.needs_custom_playbook());
        assert_eq!(
            step.template,
            Some(TemplateSpec {
                service: "Grafana".into(),
                containerised: true,
                ..TemplateSpec::default()
            })
        );
        assert!(
            step.rationale.contains("chiffon/template-grafana"),
            "{}",
            step.rationale
        );
    }

    #[test]
    fn template_requests_come_in_many_words() {
        let service = |text: &str| template_request(text, "").map(|spec| spec.service);
        assert_eq!(
            service("Create a playbook for Home Assistant").as_deref(),
            Some("Home Assistant")
        );
        assert_eq!(
            service("scaffold a role for uptime kuma.").as_deref(),
            Some("uptime kuma")
        );
        assert_eq!(
            service("Write a template to deploy Vaultwarden").as_deref(),
            Some("Vaultwarden")
        );
        assert_eq!(
            service("generate a playbook and role for deploying the Jellyfin server").as_deref(),
            Some("Jellyfin server")
        );
        assert_eq!(service("Deploy Uptime Kuma"), None);
        assert_eq!(service("create a backup of the NAS"), None);
        assert_eq!(service("generate a template for"), None);
    }

    #[test]
    fn template_options_come_from_the_text_and_the_feedback() {
        let spec = template_request(
            "generate a template for deploying Grafana on port 3000 with image grafana/grafana-oss:11.3.0.",
            "",
        )
        .expect("a template request");
        assert_eq!(spec.service, "Grafana");
        assert_eq!(spec.port, 3000);
        assert_eq!(spec.image, "grafana/grafana-oss:11.3.0");
        assert!(spec.containerised);

        let spec = template_request(
            "create a playbook for node exporter as a system service",
            "",
        )
        .expect("a template request");
        assert_eq!(spec.service, "node exporter");
        assert!(!spec.containerised);

        let spec = template_request(
            "scaffold a role for Gitea",
            "use port 8080 and systemd, on hosts git",
        )
        .expect("a template request");
        assert_eq!(
            (spec.port, spec.containerised, spec.hosts.as_str()),
            (8080, false, "git")
        );
    }
}
