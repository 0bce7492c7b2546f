//! Scanning a repository into the catalog an agent reports, and keeping it current while the
//! agent runs.
//!
//! A scan has two stages, the same at start and on every refresh ([`scan_repository`]): the
//! static scan of the files ([`scan`], on a blocking thread), then what Ansible itself says
//! about the repository ([`ansible::gather`]: inventories, the hosts of each play, the tasks of
//! each part, playbooks Ansible cannot load, missing Galaxy content), from Ansible tools run as
//! async processes that are killed when the scan is abandoned on shutdown.
//!
//! The repository is rescanned when its files change (a file-system watcher) and on a timer
//! (which also covers changes the watcher cannot see: network file systems, a watcher that
//! failed to start, events lost to a full queue, Galaxy content installed outside the
//! repository). The watcher's callback runs on notify's own thread and only forwards changed
//! paths into a bounded tokio channel; one task owns the watcher, debounces bursts (a `git
//! pull` or an editor save touches many files), rescans and publishes the catalog when it
//! differs from the previous one. The task ends, and drops the watcher, when its token fires.

use super::{Catalog, CatalogIssue, scan};
use crate::AgentError;
use crate::ansible::{self, AnsibleSetup};
use crate::runtime::AgentCatalog;
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the repository is rescanned when nothing reports a change.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// How long the repository must stay quiet after a change before it is rescanned.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(1);

/// A burst of changes never delays a rescan longer than this many debounce periods.
const MAX_DEBOUNCE_PERIODS: u32 = 10;

/// Changed paths buffered between the watcher's thread and the refresh task. When it is full a
/// rescan is already due, so further events are dropped rather than queued.
const EVENT_BUFFER: usize = 256;

/// The name of git's directory, whose churn (objects, index, locks) never changes a catalog.
const GIT_DIR: &str = ".git";

/// How a catalog is kept current.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// Rescan at least this often.
    pub interval: Duration,
    /// Quiet time after a change before rescanning.
    pub debounce: Duration,
    /// Whether to watch the file system; without it only the timer rescans.
    pub watch: bool,
}

impl Default for RefreshSettings {
    /// Watch the repository, debounce 1 s, rescan every 5 minutes.
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            debounce: DEFAULT_DEBOUNCE,
            watch: true,
        }
    }
}

impl From<Catalog> for AgentCatalog {
    fn from(catalog: Catalog) -> Self {
        Self {
            playbooks: catalog.playbooks,
            issues: catalog.issues.into_iter().map(Into::into).collect(),
            inventories: Vec::new(),
        }
    }
}

/// Scans `repo` on a blocking thread (the scan walks and parses files).
pub async fn scan_blocking(repo: PathBuf) -> Result<Catalog, AgentError> {
    tokio::task::spawn_blocking(move || scan(&repo))
        .await
        .map_err(|join| AgentError::Internal(format!("the catalog scan panicked: {join}")))?
}

/// The whole catalog of the repository of `setup`: the static scan, then Ansible's facts merged
/// in. Fails only when the repository itself cannot be read; everything else is an issue or an
/// inventory's error. How long each stage took is logged.
pub async fn scan_repository(setup: &AnsibleSetup) -> Result<AgentCatalog, AgentError> {
    let started = Instant::now();
    let catalog = scan_blocking(setup.repo.clone()).await?;
    Ok(add_ansible_facts(setup, catalog, started).await)
}

/// Adds what Ansible says to a statically scanned `catalog` (begun at `started`).
async fn add_ansible_facts(
    setup: &AnsibleSetup,
    catalog: Catalog,
    started: Instant,
) -> AgentCatalog {
    let scanned = started.elapsed();
    let Catalog {
        mut playbooks,
        mut issues,
    } = catalog;
    let facts = ansible::gather(setup, &mut playbooks, &issues).await;
    issues.extend(facts.issues);
    issues.sort();
    issues.dedup();
    tracing::info!(
        repo = %setup.repo.display(),
        playbooks = playbooks.len(),
        issues = issues.len(),
        inventories = facts.inventories.len(),
        static_ms = scanned.as_millis(),
        ansible_ms = (started.elapsed() - scanned).as_millis(),
        "repository scanned"
    );
    AgentCatalog {
        playbooks,
        issues: issues.into_iter().map(Into::into).collect(),
        inventories: facts.inventories,
    }
}

/// Logs the issues of `catalog` that `previous` did not have, so a person editing the
/// repository sees what they broke, once.
pub fn log_new_issues(catalog: &AgentCatalog, previous: &[chiffon_proto::v1::CatalogIssue]) {
    let known: HashSet<(&str, i32, &str)> = previous
        .iter()
        .map(|i| (i.path.as_str(), i.line, i.message.as_str()))
        .collect();
    for issue in &catalog.issues {
        if !known.contains(&(issue.path.as_str(), issue.line, issue.message.as_str())) {
            let issue = CatalogIssue {
                path: issue.path.clone(),
                line: usize::try_from(issue.line).ok().filter(|line| *line > 0),
                message: issue.message.clone(),
            };
            tracing::warn!(%issue, "the repository has an issue");
        }
    }
}

/// Keeps `current` equal to the catalog of the repository of `setup` (see
/// [`scan_repository`]) until `stop` fires: rescans after changes (when `settings.watch`) and
/// every `settings.interval`, and sends a new value only when the catalog changed. A watcher
/// that cannot start (e.g. the inotify watch limit is reached) is logged and the timer carries
/// on alone.
///
/// `on_change` is called after each rescan that followed a change of the repository's files
/// (seen by the watcher) or found a different catalog (a change the timer caught): whatever
/// else depends on the files, such as lint findings, refreshes then.
pub async fn keep_current(
    setup: AnsibleSetup,
    settings: RefreshSettings,
    current: watch::Sender<AgentCatalog>,
    on_change: impl Fn() + Send,
    stop: CancellationToken,
) {
    let repo = setup.repo.clone();
    let (changes, mut changed) = mpsc::channel(EVENT_BUFFER);
    let mut watching = None;
    if settings.watch {
        let root = repo.clone();
        match tokio::task::spawn_blocking(move || Watching::start(&root, changes)).await {
            Ok(Ok(started)) => {
                tracing::debug!(repo = %repo.display(), "watching the repository for changes");
                watching = Some(started);
            }
            Ok(Err(error)) => tracing::warn!(
                repo = %repo.display(),
                %error,
                interval = ?settings.interval,
                "cannot watch the repository for changes; rescanning on the timer only"
            ),
            Err(join) => tracing::warn!(%join, "starting the repository watcher panicked"),
        }
    } else {
        drop(changes);
    }

    let mut timer = tokio::time::interval_at(Instant::now() + settings.interval, settings.interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Changes made between the agent's first scan and the watcher's start would otherwise wait
    // for the timer.
    let mut due = watching.is_some();
    loop {
        let mut touched = Vec::new();
        if !due {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = timer.tick() => {}
                Some(path) = changed.recv() => {
                    touched.push(path);
                    if !debounce(&mut changed, &mut touched, settings.debounce, &stop).await {
                        return;
                    }
                }
            }
        }
        due = false;
        let files_changed = !touched.is_empty();

        let root = repo.clone();
        let started = Instant::now();
        let rescan = tokio::task::spawn_blocking(move || {
            if let Some(watching) = &mut watching {
                watching.follow_new_dirs(&root, &touched);
            }
            let catalog = scan(&root);
            (watching, catalog)
        });
        let (kept, catalog) = tokio::select! {
            // The static scan cannot be interrupted; on shutdown it finishes on its own and is
            // dropped.
            () = stop.cancelled() => return,
            joined = rescan => match joined {
                Ok(result) => result,
                Err(join) => {
                    tracing::error!(%join, "a catalog rescan panicked; watching stopped, the timer goes on");
                    (None, Err(AgentError::Internal(join.to_string())))
                }
            },
        };
        watching = kept;
        let catalog = match catalog {
            Ok(catalog) => tokio::select! {
                // Dropping the facts' future kills the Ansible tools it started.
                () = stop.cancelled() => return,
                catalog = add_ansible_facts(&setup, catalog, started) => Ok(catalog),
            },
            Err(error) => Err(error),
        };
        timer.reset();
        let catalog_changed = match catalog {
            Ok(catalog) => publish(&current, catalog),
            Err(error) => {
                tracing::warn!(%error, "rescanning the repository failed; keeping the previous catalog");
                false
            }
        };
        if files_changed || catalog_changed {
            on_change();
        }
    }
}

/// Sends `catalog` when it differs from the current one; true if it did.
fn publish(current: &watch::Sender<AgentCatalog>, catalog: AgentCatalog) -> bool {
    let previous_issues = current.borrow().issues.clone();
    log_new_issues(&catalog, &previous_issues);
    let playbooks = catalog.playbooks.len();
    let issues = catalog.issues.len();
    let changed = current.send_if_modified(|value| {
        if *value == catalog {
            return false;
        }
        *value = catalog;
        true
    });
    if changed {
        tracing::info!(playbooks, issues, "the repository changed; catalog updated");
    } else {
        tracing::debug!("repository rescanned; the catalog is unchanged");
    }
    changed
}

/// Collects further changes until none arrived for `quiet` (or for at most
/// [`MAX_DEBOUNCE_PERIODS`] periods in all); false if `stop` fired.
async fn debounce(
    changed: &mut mpsc::Receiver<PathBuf>,
    touched: &mut Vec<PathBuf>,
    quiet: Duration,
    stop: &CancellationToken,
) -> bool {
    let deadline = Instant::now() + quiet * MAX_DEBOUNCE_PERIODS;
    loop {
        let wait = (Instant::now() + quiet).min(deadline);
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep_until(wait) => return true,
            path = changed.recv() => match path {
                // Only paths at the top of the repository matter later; the count is bounded
                // anyway so a huge checkout cannot grow the list without limit.
                Some(path) if touched.len() < EVENT_BUFFER => touched.push(path),
                Some(_) => {}
                None => return true,
            },
        }
    }
}

/// The watcher and the top-level directories it watches. The root is watched alone and each
/// top-level directory recursively, so that `.git/` (often the largest tree) and tool
/// directories cost no inotify watches.
struct Watching {
    watcher: RecommendedWatcher,
    dirs: BTreeSet<PathBuf>,
}

impl Watching {
    /// Starts watching `root` (walks the directory tree: call on a blocking thread). Relevant
    /// changes go to `changes`.
    fn start(root: &Path, changes: mpsc::Sender<PathBuf>) -> Result<Self, notify::Error> {
        let filter_root = root.to_path_buf();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            match event {
                Ok(event) => {
                    if is_relevant(&filter_root, &event) {
                        for path in event.paths {
                            // With a full channel a rescan is already due; no need to queue
                            // more.
                            let _ = changes.try_send(path);
                        }
                    }
                }
                Err(error) => {
                    // Lost events (a queue overflow) are only fixed by rescanning.
                    tracing::warn!(%error, "the repository watcher reported an error; rescanning");
                    let _ = changes.try_send(PathBuf::new());
                }
            }
        })?;
        watcher.watch(root, RecursiveMode::NonRecursive)?;
        let mut watching = Self {
            watcher,
            dirs: BTreeSet::new(),
        };
        for dir in top_level_dirs(root) {
            watching.watcher.watch(&dir, RecursiveMode::Recursive)?;
            watching.dirs.insert(dir);
        }
        Ok(watching)
    }

    /// Watches top-level directories created since the last call (new subdirectories of
    /// watched ones are followed by the watcher itself). A top-level directory among `touched`
    /// may have been deleted and created again, so it is watched anew.
    fn follow_new_dirs(&mut self, root: &Path, touched: &[PathBuf]) {
        for path in touched {
            if path.parent() == Some(root) {
                self.dirs.remove(path);
            }
        }
        let current = top_level_dirs(root);
        self.dirs.retain(|dir| current.contains(dir));
        for dir in current {
            if self.dirs.contains(&dir) {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::Recursive) {
                Ok(()) => {
                    self.dirs.insert(dir);
                }
                Err(error) => tracing::warn!(
                    dir = %dir.display(),
                    %error,
                    "cannot watch a new directory of the repository; the timer covers it"
                ),
            }
        }
    }
}

/// Top-level directories that hold tools rather than Ansible content: a virtualenv with
/// ansible in it alone has thousands of directories, each of which would cost an inotify watch.
const UNWATCHED_DIRS: &[&str] = &["node_modules", "venv", "__pycache__"];

/// The repository's top-level directories worth watching: not hidden (`.git`, `.venv`,
/// `.cache`) and not tool directories (symlinks are not followed). Changes elsewhere are left
/// to the timer.
fn top_level_dirs(root: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && !UNWATCHED_DIRS.contains(&name.as_ref())
        })
        .map(|entry| entry.path())
        .collect()
}

/// True for events that may change the catalog: content changes, creations, removals and
/// renames of files outside `.git/` that are not editor scratch files. Opening or reading a
/// file (the scan itself does that) and metadata changes are not.
fn is_relevant(root: &Path, event: &Event) -> bool {
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => return false,
        _ => {}
    }
    event.paths.iter().any(|path| !is_ignored(root, path))
}

/// True for paths inside `.git/` and for editors' swap, backup and lock files.
fn is_ignored(root: &Path, path: &Path) -> bool {
    let relative = path.strip_prefix(root).unwrap_or(path);
    if relative.components().any(|c| c.as_os_str() == GIT_DIR) {
        return true;
    }
    relative
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(is_editor_scratch)
}

/// Swap, backup and lock files of vim, emacs, kate, JetBrains IDEs, GNOME and LibreOffice.
fn is_editor_scratch(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "~",
        ".swp",
        ".swo",
        ".swx",
        ".swpx",
        ".tmp",
        ".kate-swp",
        ".crswap",
        "___jb_tmp___",
        "___jb_old___",
    ];
    const PREFIXES: &[&str] = &[".#", ".goutputstream-", ".~lock."];
    SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
        || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        // vim creates and deletes "4913" to test whether it may write the directory.
        || name == "4913"
        || name == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange};

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_content_changes_outside_git_and_editor_files_count() {
        let root = Path::new("/repo");
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        assert!(is_relevant(root, &event(write, "/repo/playbooks/a.yml")));
        assert!(is_relevant(
            root,
            &event(
                EventKind::Create(CreateKind::File),
                "/repo/roles/x/tasks/main.yml"
            )
        ));
        assert!(is_relevant(
            root,
            &event(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                "/repo/site.yml"
            )
        ));
        for path in [
            "/repo/.git/index",
            "/repo/.git/objects/ab/cdef",
            "/repo/playbooks/.a.yml.swp",
            "/repo/playbooks/a.yml~",
            "/repo/playbooks/.#a.yml",
            "/repo/playbooks/#a.yml#",
            "/repo/playbooks/4913",
        ] {
            assert!(!is_relevant(root, &event(write, path)), "{path}");
        }
        assert!(!is_relevant(
            root,
            &event(
                EventKind::Access(AccessKind::Open(AccessMode::Read)),
                "/repo/site.yml"
            )
        ));
        assert!(!is_relevant(
            root,
            &event(
                EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)),
                "/repo/site.yml"
            )
        ));
    }

    const PATIENCE: Duration = Duration::from_secs(30);

    /// Waits (bounded by [`PATIENCE`]) until `updates` holds a catalog satisfying `done`.
    async fn wait_for(
        updates: &mut watch::Receiver<AgentCatalog>,
        done: impl Fn(&AgentCatalog) -> bool,
    ) -> AgentCatalog {
        tokio::time::timeout(PATIENCE, updates.wait_for(|c| done(c)))
            .await
            .expect("the catalog changed in time")
            .expect("the refresher is running")
            .clone()
    }

    async fn refresh_run(
        settings: RefreshSettings,
        change: impl FnOnce(&Path),
        done: impl Fn(&AgentCatalog) -> bool,
    ) -> AgentCatalog {
        let repo = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(repo.path().join("playbooks")).expect("mkdir");
        std::fs::write(repo.path().join("playbooks/a.yml"), "- hosts: all\n").expect("write");
        let first = scan_blocking(repo.path().to_path_buf())
            .await
            .expect("scan");
        assert_eq!(first.playbooks.len(), 1);
        let (current, mut updates) = watch::channel(AgentCatalog::from(first));
        let stop = CancellationToken::new();
        let task = tokio::spawn(keep_current(
            AnsibleSetup::new(repo.path()),
            settings,
            current,
            || {},
            stop.clone(),
        ));
        change(repo.path());
        let catalog = wait_for(&mut updates, done).await;
        stop.cancel();
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the refresher stopped")
            .expect("the refresher did not panic");
        catalog
    }

    #[tokio::test]
    async fn the_timer_alone_picks_up_changes() {
        let settings = RefreshSettings {
            interval: Duration::from_millis(50),
            debounce: DEFAULT_DEBOUNCE,
            watch: false,
        };
        let catalog = refresh_run(
            settings,
            |repo| {
                std::fs::write(repo.join("playbooks/b.yml"), "- hosts: web\n").expect("write");
            },
            |catalog| catalog.playbooks.len() == 2,
        )
        .await;
        assert_eq!(catalog.playbooks[1].path, "playbooks/b.yml");
    }

    #[tokio::test]
    async fn the_watcher_follows_new_directories_and_reports_issues() {
        let repo = tempfile::tempdir().expect("temp dir");
        let root = repo.path();
        std::fs::create_dir_all(root.join("playbooks")).expect("mkdir");
        // Ansible looks for the roles of playbooks/web.yml in playbooks/roles unless told.
        std::fs::write(root.join("ansible.cfg"), "[defaults]\nroles_path = roles\n")
            .expect("write");
        std::fs::write(
            root.join("playbooks/web.yml"),
            "- hosts: web\n  roles: [web]\n",
        )
        .expect("write");
        let first = scan_blocking(root.to_path_buf()).await.expect("scan");
        assert!(first.issues[0].message.contains("role web"), "{first:?}");
        let (current, mut updates) = watch::channel(AgentCatalog::from(first));
        let stop = CancellationToken::new();
        let settings = RefreshSettings {
            // Long enough that only the watcher can notice the changes.
            interval: Duration::from_secs(3600),
            debounce: Duration::from_millis(100),
            watch: true,
        };
        let (changes, mut changed) = watch::channel(0_u32);
        let task = tokio::spawn(keep_current(
            AnsibleSetup::new(root),
            settings,
            current,
            move || changes.send_modify(|count| *count += 1),
            stop.clone(),
        ));

        // `roles/` did not exist when the watcher started.
        std::fs::create_dir_all(root.join("roles/web/tasks")).expect("mkdir");
        std::fs::write(root.join("roles/web/tasks/main.yml"), "- debug: {}\n").expect("write");
        let catalog = wait_for(&mut updates, |c| c.issues.is_empty()).await;
        assert_eq!(catalog.playbooks[0].roles, ["web"]);

        // The new directory is watched now: an edit inside it is seen too.
        std::fs::write(
            root.join("roles/web/tasks/main.yml"),
            "- debug: {}\n  tags: [edited]\n",
        )
        .expect("write");
        let catalog = wait_for(&mut updates, |c| c.playbooks[0].tags == ["edited"]).await;
        assert!(catalog.issues.is_empty());

        std::fs::write(root.join("playbooks/broken.yml"), "- hosts: [\n").expect("write");
        let catalog = wait_for(&mut updates, |c| !c.issues.is_empty()).await;
        assert_eq!(catalog.issues[0].path, "playbooks/broken.yml");
        assert!(catalog.issues[0].line > 0);

        // An edit that leaves the catalog as it is still counts as a change of the repository
        // (lint findings depend on more than the catalog).
        let before = *changed.borrow_and_update();
        std::fs::write(
            root.join("roles/web/tasks/main.yml"),
            "- debug: {msg: other}\n  tags: [edited]\n",
        )
        .expect("write");
        tokio::time::timeout(PATIENCE, changed.wait_for(|count| *count > before))
            .await
            .expect("the change was signalled in time")
            .expect("the refresher is running");
        assert_eq!(updates.borrow().issues.len(), 1, "the catalog is unchanged");

        stop.cancel();
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the refresher stopped")
            .expect("the refresher did not panic");
    }
}
