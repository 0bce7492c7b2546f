//! Unit tests of task → playbook mapping: words, candidates, targets and the explanations people read.

use super::*;
use chiffon_proto::v1::{Play, PlayTargets, Playbook, PlaybookPart};

/// An application's part of a site playbook: its role, service and tag all named `name`.
fn part(name: &str, play: i32, description: &str) -> PlaybookPart {
    PlaybookPart {
        name: name.into(),
        tags: vec![name.into()],
        play_indexes: vec![play],
        roles: vec![name.into()],
        services: vec![name.into()],
        description: description.into(),
        ..PlaybookPart::default()
    }
}

/// A site playbook with one play per group, each application's role selected by its tag.
fn site() -> Playbook {
    let play = |name: &str, hosts: &str, roles: &[&str]| Play {
        name: name.into(),
        path: "site.yml".into(),
        host_pattern: hosts.into(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        ..Play::default()
    };
    Playbook {
        path: "site.yml".into(),
        name: "Media server".into(),
        hosts: vec!["media".into(), "edge".into()],
        roles: vec!["jellyfin".into(), "sonarr".into(), "caddy".into()],
        services: vec!["jellyfin".into(), "sonarr".into(), "caddy".into()],
        tags: vec!["jellyfin".into(), "sonarr".into(), "caddy".into()],
        plays: vec!["Media server".into(), "Edge".into()],
        play_details: vec![
            play("Media server", "media", &["jellyfin", "sonarr"]),
            play("Edge", "edge", &["caddy"]),
        ],
        parts: vec![
            part("jellyfin", 0, "Jellyfin: the free software media system"),
            part("sonarr", 0, "Sonarr: TV series PVR"),
            part(
                "caddy",
                1,
                "Caddy: the reverse proxy in front of everything",
            ),
        ],
        ..Playbook::default()
    }
}

/// The site with `added` parts besides its own.
fn site_with(added: impl IntoIterator<Item = PlaybookPart>) -> [Playbook; 1] {
    let mut catalog = site();
    catalog.parts.extend(added);
    [catalog]
}

fn best(task: &str, catalog: &[Playbook]) -> Option<String> {
    rank(task, catalog, DEFAULT_THRESHOLD, 3)
        .best_fit()
        .map(explain::command)
}

#[test]
fn a_one_service_request_selects_its_part_with_tags_and_limit() {
    let catalog = [site()];
    assert_eq!(
        best("Install Jellyfin", &catalog).as_deref(),
        Some("site.yml --tags jellyfin --limit media")
    );
    assert_eq!(
        best("set up the reverse proxy", &catalog).as_deref(),
        Some("site.yml --tags caddy --limit edge")
    );
}

#[test]
fn the_whole_site_is_chosen_only_when_asked_for() {
    let catalog = [site()];
    assert_eq!(
        best("converge the whole site", &catalog).as_deref(),
        Some("site.yml")
    );
}

#[test]
fn nothing_fits_what_the_repository_does_not_do() {
    let catalog = [site()];
    let outcome = rank("install kubernetes", &catalog, DEFAULT_THRESHOLD, 3);
    assert!(!outcome.fits, "{outcome:#?}");
    assert!(outcome.asks_to_deploy);
    assert!(
        outcome
            .advice
            .ends_with("generate a template for deploying kubernetes"),
        "{}",
        outcome.advice
    );
}

#[test]
fn only_deployments_are_offered_a_template() {
    let outcome = rank(
        "upgrade the kernel everywhere",
        &[site()],
        DEFAULT_THRESHOLD,
        3,
    );
    assert!(!outcome.fits);
    assert!(!outcome.asks_to_deploy);
    assert!(
        !outcome.advice.contains(TEMPLATE_OFFER),
        "{}",
        outcome.advice
    );
    assert!(
        outcome
            .advice
            .contains("write a playbook for upgrading kernel"),
        "{}",
        outcome.advice
    );
}

#[test]
fn names_written_without_spaces_and_typos_still_match() {
    let mut catalog = site();
    catalog.parts[0].name = "homeassistant".into();
    catalog.parts[0].tags = vec!["homeassistant".into()];
    catalog.parts[0].roles = vec!["homeassistant".into()];
    catalog.parts[0].services = vec!["homeassistant".into()];
    let catalog = [catalog];
    assert_eq!(
        best("set up home assistant", &catalog).as_deref(),
        Some("site.yml --tags homeassistant --limit media")
    );
    assert_eq!(
        best("deploy sonar", &catalog).as_deref(),
        Some("site.yml --tags sonarr --limit media")
    );
}

#[test]
fn what_is_added_somewhere_is_an_argument_and_the_destination_decides() {
    let outcome = rank(
        "put sonarr behind the reverse proxy",
        &[site()],
        DEFAULT_THRESHOLD,
        3,
    );
    let ranked: Vec<String> = outcome.matches.iter().map(explain::command).collect();
    assert_eq!(
        ranked.first().map(String::as_str),
        Some("site.yml --tags caddy --limit edge"),
        "{outcome:#?}"
    );
}

#[test]
fn what_another_part_works_on_is_an_argument_of_that_work() {
    let vaultwarden_with_its_backup = PlaybookPart {
        services: vec!["vaultwarden".into(), "vw-backup".into()],
        ..part("vaultwarden", 0, "Vaultwarden: passwords")
    };
    let catalog = site_with([vaultwarden_with_its_backup.clone()]);
    // A helper beside another service backs up that service, not Jellyfin.
    assert_ne!(
        best("back up the jellyfin config", &catalog).as_deref(),
        Some("site.yml --tags vaultwarden --limit media")
    );
    let catalog = site_with([
        vaultwarden_with_its_backup,
        PlaybookPart {
            tags: vec!["restic".into(), "backup".into()],
            ..part("restic", 0, "Restic: nightly backups of the app data")
        },
    ]);
    assert_eq!(
        best("also back up the jellyfin config every night", &catalog).as_deref(),
        Some("site.yml --tags restic,backup --limit media")
    );
    // The part named after the thing still answers work it does itself.
    assert_eq!(
        best("update jellyfin", &catalog).as_deref(),
        Some("site.yml --tags jellyfin --limit media")
    );
}

#[test]
fn a_place_none_of_its_hosts_is_leaves_the_part_where_it_runs() {
    let mut catalog = site();
    for (play, group, host) in [(0, "media", "media01"), (1, "edge", "gw01")] {
        catalog.play_details[play].targets = vec![PlayTargets {
            inventory: "default".into(),
            groups: vec![group.into()],
            hosts: vec![host.into()],
            ..PlayTargets::default()
        }];
    }
    let catalog = [catalog];
    assert_eq!(
        best("redeploy jellyfin on media01", &catalog).as_deref(),
        Some("site.yml --tags jellyfin --limit media01")
    );
    let elsewhere = rank("update jellyfin on gw01", &catalog, DEFAULT_THRESHOLD, 3);
    let found = elsewhere.best_fit().expect("jellyfin fits");
    // `--limit gw01` would select no host of the media play.
    assert_eq!(
        explain::command(found),
        "site.yml --tags jellyfin --limit media"
    );
    assert!(
        found.reasons.iter().any(|reason| reason.contains("gw01")),
        "{found:#?}"
    );
}

#[test]
fn a_longer_word_is_not_a_form_of_the_word_it_begins_with() {
    let mut catalog = site();
    catalog.parts[0].variables = vec!["photos_root".into()];
    let outcome = rank("install photoprism", &[catalog], DEFAULT_THRESHOLD, 3);
    assert!(!outcome.fits, "{outcome:#?}");
    assert!(
        outcome.matches.iter().all(|found| !found
            .reasons
            .iter()
            .any(|reason| reason.contains("photos_root"))),
        "{outcome:#?}"
    );
}

/// The confidence of the best candidate for `task`.
fn top_confidence(task: &str, catalog: &[Playbook]) -> f64 {
    rank(task, catalog, DEFAULT_THRESHOLD, 1).matches[0].confidence
}

#[test]
fn common_english_words_say_less_than_rare_ones() {
    assert!(informativeness("keep") < 0.3);
    assert!(informativeness("subtitles") > 0.9);
    assert!(informativeness("jellyfin") > 0.99, "a name is rare");
    // A phrase is as telling as its rarest word.
    assert!(informativeness("reverse proxy") > informativeness("reverse"));
    // "a place to keep" is filler around what the request is about ("TV series" in Sonarr's
    // description): it costs the answer little.
    let catalog = [site()];
    let plain = top_confidence("tv series", &catalog);
    let wordy = top_confidence("a place to keep our tv series", &catalog);
    assert!(wordy >= 0.8 * plain, "{wordy} against {plain}");
    assert_eq!(
        best("a place to keep our tv series", &catalog).as_deref(),
        Some("site.yml --tags sonarr --limit media")
    );
}

#[test]
fn variables_named_after_a_word_do_not_make_it_common() {
    let mut catalog = site();
    catalog
        .parts
        .push(part("vault", 1, "Vault: password manager for the family"));
    let without_variables = top_confidence("store our passwords", &[catalog.clone()]);
    for index in 0..20 {
        let name = format!("app{index}");
        catalog.parts.push(PlaybookPart {
            variables: vec![format!("{name}_password")],
            ..part(&name, 1, &format!("App {index}: a web application"))
        });
    }
    let with_variables = top_confidence("store our passwords", &[catalog.clone()]);
    assert!(
        with_variables >= 0.95 * without_variables,
        "{with_variables} against {without_variables}"
    );
    assert_eq!(
        best("I need something to manage our passwords", &[catalog]).as_deref(),
        Some("site.yml --tags vault --limit edge")
    );
}

#[test]
fn a_request_explained_only_through_synonyms_does_not_fit() {
    let mut catalog = site();
    catalog.parts.push(part(
        "notify",
        1,
        "Notify: self-hosted server for sending push notifications",
    ));
    // WordNet has "mail" among the senses of "send": not evidence enough for a mail server.
    let outcome = rank("set up a mail server", &[catalog], DEFAULT_THRESHOLD, 3);
    assert!(
        outcome.matches[0]
            .reasons
            .iter()
            .any(|reason| reason.contains("'mail'")),
        "{outcome:#?}"
    );
    assert!(!outcome.fits, "{outcome:#?}");
}

#[test]
fn a_candidate_that_leaves_what_the_task_is_about_unexplained_does_not_fit() {
    let catalog = [site()];
    // Caddy is the reverse proxy; nothing explains "kernel", which the task is about.
    let outcome = rank(
        "rebuild the kernel for the reverse proxy",
        &catalog,
        DEFAULT_THRESHOLD,
        3,
    );
    assert!(!outcome.fits, "{outcome:#?}");
    // A detail after what the task is about is only a detail.
    assert_eq!(
        best("set up jellyfin transcoding", &catalog).as_deref(),
        Some("site.yml --tags jellyfin --limit media")
    );
}

#[test]
fn a_role_that_deploys_no_service_still_sets_something_up() {
    let mut catalog = site();
    catalog.parts.push(PlaybookPart {
        services: Vec::new(),
        ..part(
            "common",
            0,
            "common: base layout of every box, motd and timezone",
        )
    });
    let outcome = rank("apply the base setup", &[catalog], DEFAULT_THRESHOLD, 3);
    let found = outcome.best_fit().expect("the base role fits");
    assert_eq!(
        explain::command(found),
        "site.yml --tags common --limit media"
    );
    assert!(
        found
            .reasons
            .iter()
            .any(|reason| reason.starts_with("applies role common")),
        "{found:#?}"
    );
}

#[test]
fn a_stemmed_word_is_not_a_form_of_a_longer_name() {
    let catalog = site_with([part(
        "watchtower",
        0,
        "Watchtower: updates the other containers",
    )]);
    let outcome = rank("watching", &catalog, DEFAULT_THRESHOLD, 3);
    assert!(
        outcome.matches.iter().all(|found| found
            .part
            .as_ref()
            .is_none_or(|part| part.name != "watchtower")),
        "{outcome:#?}"
    );
}

#[test]
fn a_name_written_as_a_domain_is_a_thing_not_an_action() {
    let catalog = site_with([PlaybookPart {
        services: vec!["healthchecks-io".into()],
        ..part("healthchecks.io", 0, "")
    }]);
    assert_eq!(
        best("deploy healthchecks", &catalog).as_deref(),
        Some("site.yml --tags healthchecks.io --limit media")
    );
}

#[test]
fn a_product_described_in_a_sentence_is_what_it_is_one_compared_with_is_not() {
    let catalog = site_with([part(
        "mosquitto",
        0,
        "Mosquitto: an open source MQTT broker, also for Zigbee2MQTT",
    )]);
    assert_eq!(
        best("set up an MQTT broker for the sensors", &catalog).as_deref(),
        Some("site.yml --tags mosquitto --limit media")
    );
    let outcome = rank("set up zigbee2mqtt", &catalog, DEFAULT_THRESHOLD, 3);
    assert!(!outcome.fits, "{outcome:#?}");
}

/// The site with a UPS daemon, a monitoring stack and an image cleaner added.
fn site_with_ups() -> [Playbook; 1] {
    site_with([
        PlaybookPart {
            tasks: vec!["Stop Apcupsd".into()],
            ..part("apcupsd", 0, "Apcupsd: a daemon for controlling APC UPSes")
        },
        part("grafana", 0, "Grafana: dashboards and alerts"),
        part("docker-prune", 0, "Docker prune: clean up unused images"),
    ])
}

/// The first candidate for `task`, whether it fits or not.
fn first(task: &str, catalog: &[Playbook]) -> Option<String> {
    rank(task, catalog, DEFAULT_THRESHOLD, 3)
        .matches
        .first()
        .map(explain::command)
}

#[test]
fn an_acronym_written_in_capitals_is_not_an_english_word() {
    // "UPS" stemmed as English would be "up".
    assert_eq!(
        first("set up the UPS", &site_with_ups()).as_deref(),
        Some("site.yml --tags apcupsd --limit media")
    );
}

#[test]
fn the_first_word_of_a_request_is_its_verb_not_what_it_is_about() {
    // "monitor" is also a noun the monitoring stack explains; here it is what to do.
    assert_eq!(
        first("monitor the UPS", &site_with_ups()).as_deref(),
        Some("site.yml --tags apcupsd --limit media")
    );
}

#[test]
fn how_the_work_is_done_is_not_what_it_is_about() {
    // "cleanly" asks for no cleaning: read as the action, nothing here would explain it.
    assert_eq!(
        best("stop the UPS cleanly", &site_with_ups()).as_deref(),
        Some("site.yml --tags apcupsd --limit media")
    );
}

/// A NAS playbook in the style of ansible-nas: its own roles share the namespace `ansible-nas`
/// (also the tag that groups them), a Galaxy role is called by its tag.
fn nas() -> [Playbook; 1] {
    let own = |name: &str| PlaybookPart {
        description: String::new(),
        ..part(name, 0, "")
    };
    [Playbook {
        path: "nas.yml".into(),
        name: "NAS".into(),
        hosts: vec!["all".into()],
        play_details: vec![Play {
            name: "NAS".into(),
            path: "nas.yml".into(),
            host_pattern: "all".into(),
            ..Play::default()
        }],
        parts: vec![
            PlaybookPart {
                name: "ansible-nas".into(),
                tags: vec!["ansible-nas".into()],
                play_indexes: vec![0],
                roles: vec![
                    "ansible-nas-users".into(),
                    "ansible-nas-general".into(),
                    "ansible-nas-docker".into(),
                ],
                services: vec![
                    "ansible-nas-users".into(),
                    "ansible-nas-general".into(),
                    "ansible-nas-docker".into(),
                ],
                tasks: vec!["Set login banner".into()],
                ..PlaybookPart::default()
            },
            own("ansible-nas-users"),
            PlaybookPart {
                tasks: vec!["Set login banner".into()],
                ..own("ansible-nas-general")
            },
            PlaybookPart {
                tags: vec!["docker".into()],
                services: vec!["docker".into()],
                ..own("geerlingguy.docker")
            },
            own("ansible-nas-docker"),
            own("jellyfin"),
        ],
        ..Playbook::default()
    }]
}

#[test]
fn a_namespace_roles_share_says_nothing_about_each_role() {
    let catalog = nas();
    // "nas" in `ansible-nas-docker` is the namespace: only "docker" says what the role is.
    assert_eq!(
        best("install docker on the nas", &catalog).as_deref(),
        Some("nas.yml --tags docker")
    );
    // A group named after the namespace is named after none of its roles.
    assert_eq!(
        best("change the login banner of the nas", &catalog).as_deref(),
        Some("nas.yml --tags ansible-nas-general")
    );
}

#[test]
fn a_word_settings_are_named_after_is_no_product() {
    let mut catalog = site();
    for part in &mut catalog.parts {
        part.variables = vec![format!("{}_hostname", part.name)];
    }
    catalog.parts.push(PlaybookPart {
        services: Vec::new(),
        tasks: vec!["Set the hostname".into()],
        ..part("common", 0, "")
    });
    // "hostname" is in no dictionary, yet three roles name a setting after it: it is the
    // word for what `common` sets, not a product its task names merely mention.
    assert_eq!(
        best("change the hostname", &[catalog]).as_deref(),
        Some("site.yml --tags common --limit media")
    );
}

#[test]
fn a_product_named_where_something_goes_is_what_a_role_connects_to() {
    let catalog = site_with([part(
        "homebridge",
        0,
        "Homebridge: emulate the iOS HomeKit API",
    )]);
    assert_eq!(
        best("add my sensors to HomeKit", &catalog).as_deref(),
        Some("site.yml --tags homebridge --limit media")
    );
}

#[test]
fn a_tool_the_request_names_is_not_answered_by_another_tool_of_its_kind() {
    let catalog = site_with([part(
        "transmission-openvpn",
        0,
        "Transmission: a BitTorrent client behind an OpenVPN tunnel",
    )]);
    assert_eq!(
        best("set up the torrent client with openvpn", &catalog).as_deref(),
        Some("site.yml --tags transmission-openvpn --limit media")
    );
    let outcome = rank(
        "set up a vpn server with wireguard",
        &catalog,
        DEFAULT_THRESHOLD,
        3,
    );
    assert!(!outcome.fits, "{outcome:#?}");
}

#[test]
fn a_product_described_by_what_the_task_names_is_a_feature_of_it() {
    let mut catalog = site();
    catalog.parts[0].description =
        "Jellyfin: the free software media system, with QuickSync transcoding".into();
    // "transcoding" is no dictionary word, so it reads as a product's name; the candidate named
    // after "jellyfin" describes it, so it is one of Jellyfin's features, not another product.
    assert_eq!(
        best("enable hardware transcoding for jellyfin", &[catalog]).as_deref(),
        Some("site.yml --tags jellyfin --limit media")
    );
}

#[test]
fn a_tool_named_for_what_it_does_does_not_explain_that_action() {
    let catalog = site_with([part("ddns-updater", 1, "Dynamic DNS records")]);
    let candidates = candidates::index(&catalog);
    let updater = candidates
        .iter()
        .find(|candidate| {
            candidate
                .part
                .is_some_and(|part| part.name == "ddns-updater")
        })
        .expect("the ddns-updater part is a candidate");
    // Its service's name says what it does; "update" it explains only as any service does, by
    // being deployed, not by its name.
    let explained = updater.explain(&words::request_tokens("update the dns records"));
    assert_eq!(explained[0].place, Some(Place::Deploys), "{explained:#?}");
}

#[test]
fn a_tool_named_for_what_it_does_is_not_that_action() {
    let catalog = site_with([PlaybookPart {
        handlers: vec!["Restart jellyfin".into()],
        ..part("jellyfin-extra", 1, "Extra Jellyfin plugins")
    }]);
    let candidates = candidates::index(&catalog);
    let jellyfin = candidates
        .iter()
        .find(|candidate| {
            candidate
                .part
                .is_some_and(|part| part.name == "jellyfin-extra")
        })
        .expect("the part is a candidate");
    let restart = jellyfin.explain(&words::request_tokens("restart the stack"));
    assert!(
        restart[0].strength > 0.0,
        "its handler restarts: {restart:#?}"
    );
    let words = words::request_tokens("install the stack restarter");
    let restarter = words
        .iter()
        .position(|word| word.surface == "restarter")
        .expect("restarter is a content word");
    let explained = jellyfin.explain(&words);
    assert_eq!(explained[restarter].strength, 0.0, "{explained:#?}");
}

#[test]
fn a_word_after_a_possessive_is_a_noun_not_an_action() {
    let catalog = site_with([
        part("minio", 0, "MinIO: S3 compatible object storage"),
        part("restic", 0, "Restic: nightly backups of the shares"),
    ]);
    assert_eq!(
        best("S3 compatible storage for my backups", &catalog).as_deref(),
        Some("site.yml --tags minio --limit media")
    );
}

#[test]
fn what_a_request_compares_with_is_not_what_it_asks_for() {
    let catalog = site_with([
        part("n8n", 0, "n8n: workflow automation for your services"),
        part(
            "nextcloud",
            0,
            "Nextcloud: a self-hosted Dropbox alternative",
        ),
    ]);
    assert_eq!(
        best("workflow automation like zapier", &catalog).as_deref(),
        Some("site.yml --tags n8n --limit media")
    );
    // What the repository says a candidate stands in for is what a comparison asks for…
    assert_eq!(
        best("something like dropbox", &catalog).as_deref(),
        Some("site.yml --tags nextcloud --limit media")
    );
    // A self-hosted product is one in its stead…
    assert_eq!(
        best("a self-hosted dropbox", &catalog).as_deref(),
        Some("site.yml --tags nextcloud --limit media")
    );
    // …but not what a request for the product itself does.
    let outcome = rank("install dropbox", &catalog, DEFAULT_THRESHOLD, 3);
    assert!(!outcome.fits, "{outcome:#?}");
}

#[test]
fn a_phrase_of_the_repository_keeps_its_words() {
    // "ad-blocker" is the vocabulary's phrase "ad blocker"; "block ads" says it in other words.
    let catalog = site_with([part(
        "pihole",
        1,
        "Pi-hole: the network-wide DNS ad-blocker",
    )]);
    assert_eq!(
        best("block ads for the whole network", &catalog).as_deref(),
        Some("site.yml --tags pihole --limit edge")
    );
}

/// The caddy role's section that publishes sites, which also runs a task of `borrowed`.
fn publishing_section(borrowed: &str) -> PlaybookPart {
    PlaybookPart {
        name: "Publish the sites behind Caddy".into(),
        tags: vec!["caddy_sites".into()],
        play_indexes: vec![1],
        roles: vec!["caddy".into(), borrowed.into()],
        tasks: vec![
            "caddy : Add a site block for each published service".into(),
            format!("{borrowed} : Write the local records"),
        ],
        description: "Every service reachable as https://<name>.home.lan has a site block".into(),
        selects_tasks_within_roles: true,
        ..PlaybookPart::default()
    }
}

#[test]
fn an_address_is_where_a_request_puts_something_not_what_it_is_about() {
    let catalog = site_with([
        publishing_section("certs"),
        part(
            "certs",
            1,
            "Certs: issues the TLS certificates for the home.lan names and renews them",
        ),
    ]);
    // Jellyfin is what is published; the address says where, and the section serving
    // home.lan names publishes it.
    assert_eq!(
        best("publish jellyfin at jellyfin.home.lan", &catalog).as_deref(),
        Some("site.yml --tags caddy_sites --limit edge")
    );
    // The name in an address is no request for its service.
    assert_eq!(
        best("renew the certificate for sonarr.home.lan", &catalog).as_deref(),
        Some("site.yml --tags certs --limit edge")
    );
}

#[test]
fn a_section_that_borrows_a_roles_task_is_not_that_role() {
    let catalog = site_with([
        publishing_section("pihole"),
        part(
            "pihole",
            1,
            "Pi-hole: the DNS ad-blocker, with our blocklists",
        ),
    ]);
    assert_eq!(
        best("add blocklists to pihole", &catalog).as_deref(),
        Some("site.yml --tags pihole --limit edge")
    );
}

#[test]
fn a_name_a_candidate_gives_its_own_files_is_no_other_product() {
    let catalog = site_with([PlaybookPart {
        name: "common".into(),
        tags: vec!["common".into()],
        play_indexes: vec![0, 1],
        roles: vec!["common".into()],
        templates: vec!["roles/common/templates/motd.j2".into()],
        description: "Base layout of every box: directories, motd, timezone".into(),
        ..PlaybookPart::default()
    }]);
    // "motd" is no dictionary word, yet the role renders motd.j2: it writes the motd, its
    // description names no other product.
    assert_eq!(
        best("update the motd on all servers", &catalog).as_deref(),
        Some("site.yml --tags common")
    );
}

#[test]
fn what_a_sentence_says_outright_outweighs_what_deploying_implies() {
    let catalog = site_with([
        part("docker", 0, "Docker: the container engine"),
        part(
            "watchtower",
            0,
            "Watchtower: monitor your Docker containers and update them",
        ),
    ]);
    // Every role "updates" what it deploys when run again; Watchtower's description says it
    // updates containers in the same sentence that names them.
    assert_eq!(
        best("automatically update all docker containers", &catalog).as_deref(),
        Some("site.yml --tags watchtower --limit media")
    );
}

#[test]
fn an_imperative_verb_names_nothing_to_explain() {
    let catalog = site_with([
        part("docker", 0, "Docker: the container engine"),
        part(
            "watchtower",
            0,
            "Watchtower: monitor your Docker containers and update them",
        ),
        PlaybookPart {
            variables: vec!["keep_packages_updated".into()],
            ..part("system", 0, "System: packages and users")
        },
    ]);
    // "keep" is what to do, not a thing the system role's `keep_packages_updated` is about.
    assert_eq!(
        best("keep my docker containers updated automatically", &catalog).as_deref(),
        Some("site.yml --tags watchtower --limit media")
    );
    // Before an action, a first word qualifies it: "base" is what the setup is.
    let tokens = words::request_tokens("base setup of every box");
    assert!(!tokens[0].imperative, "{tokens:#?}");
}

#[test]
fn the_repositorys_own_name_names_nothing_in_it() {
    let [mut catalog] = nas();
    let docker = catalog
        .parts
        .iter_mut()
        .find(|part| part.name == "ansible-nas-docker")
        .expect("the nas has an ansible-nas-docker part");
    docker.tasks = vec!["Restart Docker".into()];
    // Every part of nas.yml explains "nas"; restarting docker is no reboot of the NAS.
    let outcome = rank("reboot the nas", &[catalog], DEFAULT_THRESHOLD, 3);
    assert!(!outcome.fits, "{outcome:#?}");
}

#[test]
fn a_login_is_a_user_account() {
    let catalog = site_with([PlaybookPart {
        variables: vec!["mosquitto_users".into()],
        ..part(
            "mosquitto",
            0,
            "Mosquitto: the MQTT broker for Zigbee2MQTT and the smart plugs",
        )
    }]);
    // "login" is in no dictionary, yet it is no product: it is what the broker's users are.
    assert_eq!(
        best("add a login for zigbee2mqtt on the broker", &catalog).as_deref(),
        Some("site.yml --tags mosquitto --limit media")
    );
}

#[test]
fn what_is_added_as_something_is_an_argument() {
    let catalog = site_with([PlaybookPart {
        tags: vec!["pihole".into(), "dns".into()],
        variables: vec!["pihole_upstream_dns".into()],
        ..part("pihole", 1, "Pi-hole, the network-wide DNS ad-blocker")
    }]);
    // Quad9 is no product to deploy: it is the value the upstream DNS setting takes.
    assert_eq!(
        best("add quad9 as upstream dns", &catalog).as_deref(),
        Some("site.yml --tags pihole,dns --limit edge")
    );
}

#[test]
fn what_is_taken_out_of_something_is_an_argument() {
    let mut catalog = site();
    catalog.parts[1].tasks = vec!["Create the downloads folder".into()];
    catalog.parts.push(PlaybookPart {
        tags: vec!["restic".into(), "backup".into()],
        tasks: vec!["Exclude caches and temporary files".into()],
        ..part(
            "restic",
            0,
            "Restic: the nightly backup of the family share",
        )
    });
    // The downloads folder is what to leave out; the backup is what to change.
    assert_eq!(
        best(
            "exclude the downloads folder from the nightly backup",
            &[catalog]
        )
        .as_deref(),
        Some("site.yml --tags restic,backup --limit media")
    );
}

#[test]
fn a_box_and_nothing_else_asks_for_all_it_runs() {
    let catalog = [site()];
    assert_eq!(
        best("redeploy the media box", &catalog).as_deref(),
        Some("site.yml --limit media")
    );
}

#[test]
fn going_offline_is_the_other_side_of_staying_online() {
    let catalog = site_with([
        part(
            "healthchecks",
            0,
            "healthchecks.io: ensure your server is online and get notified otherwise",
        ),
        part(
            "gotify",
            0,
            "Gotify: a server for sending push notifications",
        ),
    ]);
    assert_eq!(
        best("tell me when the server goes offline", &catalog).as_deref(),
        Some("site.yml --tags healthchecks --limit media")
    );
}

#[test]
fn taking_an_entry_out_of_a_service_changes_its_settings() {
    let catalog = site_with([PlaybookPart {
        variables: vec!["wireguard_peers".into()],
        ..part(
            "wireguard",
            1,
            "WireGuard: the VPN endpoint for phones and laptops on the road",
        )
    }]);
    assert_eq!(
        best("remove my old laptop from wireguard", &catalog).as_deref(),
        Some("site.yml --tags wireguard --limit edge")
    );
}

#[test]
fn seconds_and_minutes_are_an_interval() {
    let catalog = site_with([PlaybookPart {
        variables: vec!["prometheus_scrape_interval".into()],
        ..part(
            "prometheus",
            1,
            "Prometheus scraping Caddy and Jellyfin, with a couple of alert rules",
        )
    }]);
    assert_eq!(
        best("scrape every 15 seconds instead of 30", &catalog).as_deref(),
        Some("site.yml --tags prometheus --limit edge")
    );
}

#[test]
fn a_play_name_singles_out_none_of_its_roles() {
    let mut catalog = site();
    catalog.play_details[0].name = "NAS and backups".into();
    catalog.parts.push(PlaybookPart {
        tags: vec!["restic".into(), "backup".into()],
        ..part("restic", 0, "")
    });
    catalog.parts.push(part("samba", 0, "Samba shares"));
    // The play's name holds "backup" and "nas", yet says no more of Samba than of restic.
    assert_eq!(
        best("take a backup of the nas", &[catalog]).as_deref(),
        Some("site.yml --tags restic,backup --limit media")
    );
}

#[test]
fn what_something_should_be_is_a_value() {
    let catalog = site_with([PlaybookPart {
        services: Vec::new(),
        tasks: vec!["Set the timezone".into()],
        ..part(
            "common",
            0,
            "Base layout of every box: directories, motd, timezone",
        )
    }]);
    // Europe and Amsterdam say what the timezone should be, not what to work on.
    let plain = top_confidence("fix the timezone", &catalog);
    let valued = top_confidence("fix the timezone, it should be europe/amsterdam", &catalog);
    assert!(valued >= 0.75 * plain, "{valued} against {plain}");
    // So is what something should use; a request that says "use" outright uses nothing yet.
    let value_of = |task: &str| {
        words::request_tokens(task)
            .iter()
            .find(|token| token.surface == "pihole")
            .map(|token| token.value)
    };
    assert_eq!(
        value_of("vpn clients should use pihole for dns"),
        Some(true)
    );
    assert_eq!(value_of("use pihole for dns"), Some(false));
}

#[test]
fn a_first_word_the_repository_names_something_after_is_no_verb() {
    let catalog = site_with([
        PlaybookPart {
            variables: vec!["prometheus_retention".into()],
            ..part("prometheus", 0, "Prometheus: metrics and alerts")
        },
        part(
            "restic",
            0,
            "Restic: nightly backups of every disk, pruned by a retention policy",
        ),
    ]);
    // "Prometheus" is a titan to the dictionary, so the first word could be read as a verb;
    // the repository deploys it, so it is what the request is about.
    assert_eq!(
        best(
            "prometheus is using too much disk, shorten retention",
            &catalog
        )
        .as_deref(),
        Some("site.yml --tags prometheus --limit media")
    );
}
