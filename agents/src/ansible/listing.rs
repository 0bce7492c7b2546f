//! What a playbook runs, as Ansible itself loads it: `ansible-playbook --list-tasks --list-tags`
//! resolves roles, imports, role dependencies and inherited tags exactly as a run would, so the
//! task list of a tag selection comes from Ansible rather than from a second reading of the
//! YAML. A playbook Ansible cannot load (a missing role or collection, a syntax error) is
//! reported with Ansible's error and where it is.
//!
//! The listing looks like this (`→` stands for a tab before `TAGS`; a task's tags include its
//! play's):
//!
//! ```text
//! playbook: playbooks/site.yml
//!
//!   play #1 (monitoring): Deploy Uptime Kuma→TAGS: [deploy,monitoring]
//!     tasks:
//!       common : Create the host's directory→TAGS: [common, deploy, monitoring]
//!       Probe the service→TAGS: [deploy, monitoring]
//!       TASK TAGS: [common, deploy, monitoring]
//! ```

use super::config::EffectiveConfig;
use super::setup::{AnsibleFailure, AnsibleSetup, parse_failure, run_tool};
use futures::StreamExt as _;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long listing every playbook in one process may take.
const LIST_ALL_TIMEOUT: Duration = Duration::from_secs(300);
/// How long listing one playbook may take.
const LIST_ONE_TIMEOUT: Duration = Duration::from_secs(120);
/// Playbooks listed at the same time when they are listed one by one.
const LIST_CONCURRENCY: usize = 2;

/// Asks for every task, those tagged `never` included (they run when one of their own tags
/// is selected, so a part may need them).
const EVERY_TAG: &str = "--tags=all,never";

/// One playbook as Ansible lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListedPlaybook {
    /// Its plays in the order they run, those of imported playbooks included.
    pub(crate) plays: Vec<ListedPlay>,
}

/// One play as Ansible lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListedPlay {
    /// The play's name (Ansible shows its host pattern when it has none).
    pub(crate) name: String,
    /// Its tasks in order (handlers and the implicit fact gathering are not listed).
    pub(crate) tasks: Vec<ListedTask>,
}

/// One task as Ansible lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListedTask {
    /// As listed: `role : name` for a named task of a role, else its name, else its action.
    pub(crate) name: String,
    /// The role it belongs to, when the listing shows one.
    pub(crate) role: Option<String>,
    /// Its effective tags: its own, its block's, role's and play's.
    pub(crate) tags: BTreeSet<String>,
}

impl ListedPlay {
    /// The tasks `ansible-playbook --tags <tags>` runs in this play, in order.
    pub(crate) fn tasks_selected_by(&self, tags: &[String]) -> Vec<String> {
        let only: BTreeSet<&str> = tags
            .iter()
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty())
            .collect();
        self.tasks
            .iter()
            .filter(|task| runs_with(&task.tags, &only))
            .map(|task| task.name.clone())
            .collect()
    }
}

/// Ansible's `Taggable.evaluate_tags` with `--tags only` and no `--skip-tags`: `always` runs
/// unless skipped, `never` runs only when one of its tags is named, `all` and `tagged` select
/// everything (tagged) but `never`, an empty selection is `all`.
fn runs_with(task_tags: &BTreeSet<String>, only: &BTreeSet<&str>) -> bool {
    if only.is_empty() {
        return !task_tags.contains("never");
    }
    let has = |tag: &str| task_tags.contains(tag);
    let untagged = task_tags.is_empty();
    has("always")
        || (only.contains("all") && !has("never"))
        || task_tags.iter().any(|tag| only.contains(tag.as_str()))
        || (untagged && only.contains("untagged"))
        || (only.contains("tagged") && !untagged && !has("never"))
}

/// Parses the output of `ansible-playbook --list-tasks --list-tags`, by playbook path as it
/// was given on the command line.
pub(crate) fn parse_listing(stdout: &str) -> BTreeMap<String, ListedPlaybook> {
    let mut playbooks: BTreeMap<String, ListedPlaybook> = BTreeMap::new();
    let mut current: Option<&mut ListedPlaybook> = None;
    for line in stdout.lines() {
        if let Some(path) = line.strip_prefix("playbook: ") {
            current = Some(playbooks.entry(path.trim().to_owned()).or_default());
            continue;
        }
        let Some(playbook) = current.as_deref_mut() else {
            continue;
        };
        let trimmed = line.trim();
        if trimmed.starts_with("play #") {
            let heading = without_tags(trimmed).0;
            let name = heading
                .split_once("): ")
                .map_or("", |(_, name)| name)
                .trim()
                .to_owned();
            playbook.plays.push(ListedPlay {
                name,
                tasks: Vec::new(),
            });
            continue;
        }
        if trimmed == "tasks:" || trimmed.starts_with("TASK TAGS:") {
            continue;
        }
        let (name, tags) = without_tags(line);
        let (Some(play), Some(tags)) = (playbook.plays.last_mut(), tags) else {
            continue;
        };
        let name = name.trim().to_owned();
        let role = name
            .split_once(" : ")
            .map(|(role, _)| role)
            .filter(|role| !role.is_empty() && !role.contains(char::is_whitespace))
            .map(str::to_owned);
        play.tasks.push(ListedTask { name, role, tags });
    }
    playbooks
}

/// Splits `text\tTAGS: [a, b]` into the text and its tags (`None` without a tag list). The last
/// occurrence counts: a task name may hold a tab.
fn without_tags(line: &str) -> (&str, Option<BTreeSet<String>>) {
    let Some(start) = line.rfind("\tTAGS: [") else {
        return (line, None);
    };
    let list = &line[start + "\tTAGS: [".len()..];
    let list = list.strip_suffix(']').unwrap_or(list);
    let tags = list
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect();
    (&line[..start], Some(tags))
}

/// Why a playbook could not be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoadFailure {
    /// Ansible refused it and said why.
    Ansible(AnsibleFailure),
    /// It failed in another way (no error line, a crash).
    Other(String),
}

/// Every playbook Ansible could list, and why the others could not be.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) playbooks: BTreeMap<String, ListedPlaybook>,
    pub(crate) failures: BTreeMap<String, LoadFailure>,
}

/// Lists `playbooks` (paths relative to the repository root): all in one process, and when
/// Ansible refuses that (it stops at the first playbook it cannot load), each on its own to
/// find out which ones fail. A tool that cannot be started or hangs lists nothing and blames
/// no playbook: that is logged.
pub(crate) async fn list_tasks(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    playbooks: &[String],
) -> Listing {
    let mut listing = Listing::default();
    if playbooks.is_empty() {
        return listing;
    }
    match list(setup, config, playbooks, LIST_ALL_TIMEOUT).await {
        Ok(Ok(listed)) => {
            listing.playbooks = listed;
            return listing;
        }
        Ok(Err(failure)) if playbooks.len() == 1 => {
            listing.failures.insert(playbooks[0].clone(), failure);
            return listing;
        }
        Ok(Err(_)) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot list the playbooks' tasks with ansible-playbook");
            return listing;
        }
    }
    let mut waiting = playbooks.iter();
    let mut running = futures::stream::FuturesUnordered::new();
    loop {
        while running.len() < LIST_CONCURRENCY
            && let Some(playbook) = waiting.next()
        {
            running.push(list_one(setup, config, playbook));
        }
        let Some((playbook, listed)) = running.next().await else {
            break;
        };
        match listed {
            Ok(Ok(listed)) => listing.playbooks.extend(listed),
            Ok(Err(failure)) => {
                listing.failures.insert(playbook.clone(), failure);
            }
            Err(error) => {
                tracing::warn!(%playbook, %error, "cannot list the playbook's tasks");
            }
        }
    }
    listing
}

/// Lists `playbook` alone; the answer comes with the playbook it is about.
async fn list_one<'a>(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    playbook: &'a String,
) -> (&'a String, ListResult) {
    let listed = list(
        setup,
        config,
        std::slice::from_ref(playbook),
        LIST_ONE_TIMEOUT,
    )
    .await;
    (playbook, listed)
}

/// What one `ansible-playbook --list-tasks` process gives.
type ListResult = Result<Result<BTreeMap<String, ListedPlaybook>, LoadFailure>, crate::AgentError>;

/// One `ansible-playbook --list-tasks` process: the listing, Ansible's refusal, or the error of
/// a tool that could not run.
async fn list(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    playbooks: &[String],
    timeout: Duration,
) -> ListResult {
    let (program, mut command) = setup.tool_command("ansible-playbook", Some(config));
    command.args(["--list-tasks", "--list-tags", EVERY_TAG]);
    if let Some(inventory) = setup.default_inventory() {
        command.arg("-i").arg(setup.resolve(&inventory.path));
    }
    command.args(setup.vault_argument());
    command.arg("--");
    command.args(playbooks);
    let output = run_tool(&program, command, timeout).await?;
    if output.code() == Some(0) {
        return Ok(Ok(parse_listing(&output.stdout)));
    }
    // Only Ansible's one-line error is kept: the rest of its output may quote the files.
    Ok(Err(match parse_failure(&output.stderr) {
        Some(failure) => LoadFailure::Ansible(failure),
        None => LoadFailure::Other(format!(
            "ansible-playbook --list-tasks failed ({}) without an error message; run \
             `ansible-playbook --list-tasks {}` in the repository to see why",
            output.describe_status(),
            playbooks.join(" ")
        )),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "
playbook: site.yml

  play #1 (all): Site\tTAGS: []
    tasks:
      Always here\tTAGS: [always]
      web : Install web\tTAGS: [web]
      web : Debug web\tTAGS: [never, webdebug]
      web : Verbose web\tTAGS: [never, web]
      ansible.builtin.debug\tTAGS: [web]
      Odd : name\twith tab\tTAGS: [other]
      TASK TAGS: [always, never, other, web, webdebug]

  play #2 (localhost): localhost\tTAGS: []
    tasks:
      Untagged\tTAGS: []
      TASK TAGS: []

playbook: other.yml

  play #1 (db:&prod): \tTAGS: [site,db]
    tasks:
      TASK TAGS: []
";

    fn tags(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_listing_gives_plays_tasks_roles_and_tags() {
        let listed = parse_listing(LISTING);
        assert_eq!(listed.keys().collect::<Vec<_>>(), ["other.yml", "site.yml"]);
        let site = &listed["site.yml"];
        assert_eq!(site.plays.len(), 2);
        assert_eq!(site.plays[0].name, "Site");
        assert_eq!(site.plays[1].name, "localhost");
        assert_eq!(listed["other.yml"].plays[0].name, "");
        let tasks: Vec<(&str, Option<&str>)> = site.plays[0]
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.role.as_deref()))
            .collect();
        assert_eq!(
            tasks,
            [
                ("Always here", None),
                ("web : Install web", Some("web")),
                ("web : Debug web", Some("web")),
                ("web : Verbose web", Some("web")),
                ("ansible.builtin.debug", None),
                ("Odd : name\twith tab", Some("Odd")),
            ]
        );
        assert_eq!(site.plays[0].tasks[2].tags, tags(&["never", "webdebug"]));
        assert_eq!(site.plays[1].tasks[0].tags, BTreeSet::new());
    }

    #[test]
    fn a_tag_selection_runs_what_ansible_would() {
        let listed = parse_listing(LISTING);
        let play = &listed["site.yml"].plays[0];
        let selected = |selection: &[&str]| {
            let selection: Vec<String> = selection.iter().map(|s| (*s).to_owned()).collect();
            play.tasks_selected_by(&selection)
        };
        assert_eq!(
            selected(&["other"]),
            ["Always here", "Odd : name\twith tab"],
            "always runs with any selection"
        );
        assert_eq!(
            selected(&["web"]),
            [
                "Always here",
                "web : Install web",
                "web : Verbose web",
                "ansible.builtin.debug",
            ],
            "a never-tagged task runs when any of its tags is named, inherited ones included"
        );
        assert_eq!(
            selected(&["webdebug"]),
            ["Always here", "web : Debug web"],
            "a never-tagged task runs when one of its tags is named"
        );
        assert_eq!(selected(&[]), selected(&["all"]));
        assert_eq!(
            selected(&["all"]),
            [
                "Always here",
                "web : Install web",
                "ansible.builtin.debug",
                "Odd : name\twith tab"
            ],
            "all leaves never-tagged tasks out"
        );
        assert_eq!(selected(&["nothing"]), ["Always here"]);
        let untagged = &listed["site.yml"].plays[1];
        assert_eq!(
            untagged.tasks_selected_by(&["untagged".to_owned()]),
            ["Untagged"]
        );
        assert!(
            untagged
                .tasks_selected_by(&["tagged".to_owned()])
                .is_empty()
        );
    }
}
