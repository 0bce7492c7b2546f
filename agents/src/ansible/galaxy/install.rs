//! Installing the repository's Galaxy requirements into the agent's private Galaxy directory
//! with `ansible-galaxy role install -r FILE -p DIR/roles` and `ansible-galaxy collection install
//! -r FILE -p DIR/collections`. `ansible-galaxy` skips what is already installed, so installing
//! again is cheap and changes nothing. Every call has a time limit for each request to a Galaxy
//! server (`--timeout`) and the whole install a deadline, so without a network it fails within
//! seconds, saying which server and which requirements file.

use super::Kind;
use super::requirements::{RequirementsFile, read_requirements};
use crate::AgentError;
use crate::ansible::config::EffectiveConfig;
use crate::ansible::setup::{AnsibleSetup, galaxy_collections_dir, galaxy_roles_dir, run_tool};
use crate::suggest::tool::ToolOutput;
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// Time limits of an install.
#[derive(Debug, Clone, Copy)]
pub struct InstallLimits {
    /// How long `ansible-galaxy` waits for one answer of a Galaxy server (`--timeout`).
    pub per_request: Duration,
    /// How long the whole install may take, every file and kind together.
    pub deadline: Duration,
}

impl Default for InstallLimits {
    /// 15 seconds a request, 10 minutes in all.
    fn default() -> Self {
        Self {
            per_request: Duration::from_secs(15),
            deadline: Duration::from_secs(10 * 60),
        }
    }
}

/// Installs the roles and collections every requirements file of the repository names into
/// `setup.galaxy_dir`. Every file is tried while time remains; the error lists each one that
/// failed, with the Galaxy servers involved and Ansible's reason. Nothing to install (no
/// requirements file) is success without running anything.
pub async fn install_requirements(
    setup: &AnsibleSetup,
    limits: InstallLimits,
) -> Result<(), AgentError> {
    let started = Instant::now();
    let Some(galaxy) = setup.galaxy_dir.clone() else {
        return Err(AgentError::Config {
            setting: "galaxy directory",
            reason: "installing requirements needs a directory to install them into".to_owned(),
        });
    };
    let repo = setup.repo.clone();
    let (files, problems) = tokio::task::spawn_blocking(move || read_requirements(&repo))
        .await
        .map_err(|join| {
            AgentError::Internal(format!("reading the requirements panicked: {join}"))
        })?;
    for problem in &problems {
        tracing::warn!(%problem, "a requirements file cannot be read; its content is not installed");
    }
    let work: Vec<(&RequirementsFile, Kind)> = files
        .iter()
        .flat_map(|file| {
            [
                (!file.roles.is_empty()).then_some((file, Kind::Role)),
                (!file.collections.is_empty()).then_some((file, Kind::Collection)),
            ]
        })
        .flatten()
        .collect();
    if work.is_empty() {
        return Ok(());
    }
    let config = EffectiveConfig::read(setup).await?;
    for dir in [galaxy_roles_dir(&galaxy), galaxy_collections_dir(&galaxy)] {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|source| AgentError::Io {
                action: "create the Galaxy directory",
                path: dir,
                source,
            })?;
    }

    let mut failures = Vec::new();
    for (file, kind) in work {
        let servers = servers(file, kind, &config);
        let remaining = limits.deadline.saturating_sub(started.elapsed());
        let installed = if remaining.is_zero() {
            Err(format!(
                "not tried: installing took longer than {} seconds in all",
                limits.deadline.as_secs()
            ))
        } else {
            install(
                setup,
                &config,
                &galaxy,
                file,
                kind,
                limits.per_request,
                remaining,
            )
            .await
        };
        match installed {
            Ok(()) => tracing::info!(
                file = %file.path,
                kind = %kind,
                galaxy = %galaxy.display(),
                "Galaxy requirements installed"
            ),
            Err(reason) => failures.push(format!(
                "the {kind}s of {} (Galaxy server {servers}): {reason}",
                file.path
            )),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AgentError::GalaxyInstall { failures })
    }
}

/// The servers the entries of `kind` in `file` come from: the ones they name (`source:`), and
/// the configured ones.
fn servers(file: &RequirementsFile, kind: Kind, config: &EffectiveConfig) -> String {
    let mut servers: Vec<String> = file
        .requirements
        .iter()
        .filter(|requirement| requirement.kind == kind)
        .filter_map(|requirement| requirement.source.clone())
        .collect();
    servers.push(config.describe_galaxy_servers());
    servers.dedup();
    servers.join(", ")
}

/// One `ansible-galaxy <kind> install`; the error is Ansible's reason.
async fn install(
    setup: &AnsibleSetup,
    config: &EffectiveConfig,
    galaxy: &Path,
    file: &RequirementsFile,
    kind: Kind,
    per_request: Duration,
    remaining: Duration,
) -> Result<(), String> {
    let requirements = requirements_argument(setup, galaxy, file, kind).await?;
    let target = match kind {
        Kind::Role => galaxy_roles_dir(galaxy),
        Kind::Collection => galaxy_collections_dir(galaxy),
    };
    let (program, mut command) = setup.tool_command("ansible-galaxy", Some(config));
    command
        .arg(kind.to_string())
        .arg("install")
        .arg("-r")
        .arg(requirements)
        .arg("-p")
        .arg(target)
        .arg(format!("--timeout={}", per_request.as_secs().max(1)));
    match run_tool(&program, command, remaining).await {
        Ok(output) if output.code() == Some(0) => Ok(()),
        Ok(output) => Err(galaxy_reason(&output)),
        Err(AgentError::ToolTimedOut { timeout, .. }) => Err(format!(
            "ansible-galaxy did not finish within the {:.1} seconds left of the install and was \
             stopped",
            timeout.as_secs_f64()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// The file to pass as `-r`: the requirements file itself, except for a bare list of
/// collections, which `ansible-galaxy collection install` refuses: its entries go, unchanged,
/// into a `collections:` mapping in the Galaxy directory. Relative sources keep their meaning
/// because `ansible-galaxy` resolves them from the repository root, where it runs.
async fn requirements_argument(
    setup: &AnsibleSetup,
    galaxy: &Path,
    file: &RequirementsFile,
    kind: Kind,
) -> Result<PathBuf, String> {
    if kind == Kind::Role || !file.bare_list {
        return Ok(setup.repo.join(&file.path));
    }
    let mut mapping = Mapping::new();
    mapping.insert(
        Value::from("collections"),
        Value::Sequence(file.collections.clone()),
    );
    let text = serde_yaml_ng::to_string(&mapping)
        .map_err(|error| format!("cannot rewrite {} as a mapping: {error}", file.path))?;
    let rewritten = galaxy.join(format!(
        "collections-of-{}",
        file.path.replace(['/', '\\'], "-")
    ));
    tokio::fs::write(&rewritten, text)
        .await
        .map_err(|error| format!("cannot write {}: {error}", rewritten.display()))?;
    Ok(rewritten)
}

/// What `ansible-galaxy` said went wrong: its errors (not the advice to use
/// `--ignore-errors`) and the entries it could not install, in the order it printed them; else
/// the end of its output.
fn galaxy_reason(output: &ToolOutput) -> String {
    let mut reasons: Vec<&str> = Vec::new();
    for line in output
        .stderr
        .lines()
        .chain(output.stdout.lines())
        .map(str::trim)
    {
        let reason = if let Some(error) = line
            .strip_prefix("[ERROR]:")
            .or_else(|| line.strip_prefix("ERROR!"))
        {
            Some(error.trim()).filter(|error| !error.contains("--ignore-errors"))
        } else if line.contains("was NOT installed successfully") {
            Some(
                line.trim_start_matches("[WARNING]:")
                    .trim()
                    .trim_start_matches("- "),
            )
        } else {
            None
        };
        if let Some(reason) = reason.filter(|r| !r.is_empty() && !reasons.contains(r)) {
            reasons.push(reason);
        }
    }
    if reasons.is_empty() {
        format!("{}: {}", output.describe_status(), output.excerpt())
    } else {
        reasons.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    fn output(stderr: &str) -> ToolOutput {
        ToolOutput {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: "Starting galaxy role install process\n".to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    #[test]
    fn reasons_are_what_ansible_galaxy_said() {
        let roles = "\
[WARNING]: - geerlingguy.docker was NOT installed successfully: Unknown error when attempting to call Galaxy at 'http://127.0.0.1:9/api': <urlopen error [Errno 111] Connection refused>
[ERROR]: - you can use --ignore-errors to skip failed roles and finish processing the list.
";
        assert_eq!(
            galaxy_reason(&output(roles)),
            "geerlingguy.docker was NOT installed successfully: Unknown error when attempting to \
             call Galaxy at 'http://127.0.0.1:9/api': <urlopen error [Errno 111] Connection refused>"
        );
        let collections = "\
[WARNING]: Skipping Galaxy server http://127.0.0.1:9.
[ERROR]: Unknown error when attempting to call Galaxy at 'http://127.0.0.1:9/api': <urlopen error [Errno 111] Connection refused>

Unknown error when attempting to call Galaxy at 'http://127.0.0.1:9/api'.
";
        assert_eq!(
            galaxy_reason(&output(collections)),
            "Unknown error when attempting to call Galaxy at 'http://127.0.0.1:9/api': <urlopen \
             error [Errno 111] Connection refused>"
        );
        let download = "\
[ERROR]: failed to download the file: <urlopen error [Errno 111] Connection refused>
[WARNING]: - acme.role was NOT installed successfully.
[ERROR]: - you can use --ignore-errors to skip failed roles and finish processing the list.
";
        assert_eq!(
            galaxy_reason(&output(download)),
            "failed to download the file: <urlopen error [Errno 111] Connection refused>; \
             acme.role was NOT installed successfully."
        );
        assert_eq!(
            galaxy_reason(&output("")),
            "exit code 1: Starting galaxy role install process"
        );
    }
}
