//! `chiffon catalog …`: what the infrastructure agents found in their repositories
//! (`CatalogService`).

use super::format::{file_line, list_or};
use super::{Common, Reply as _, Server, Traced, connect, returned};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::catalog_service_client::CatalogServiceClient;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List the playbooks of every infrastructure repository.
    List(ListArgs),
    /// Show everything known about one playbook.
    Show(ShowArgs),
    /// Rank the playbooks that could do a task, with confidence and reasons.
    Match(MatchArgs),
    /// List the inventories the agents run against, with their groups and hosts.
    Inventories(InventoriesArgs),
    /// List the repository files the agents could not index and what the repositories need but
    /// lack (Galaxy roles and collections), with the line of the problem.
    Issues(IssuesArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only playbooks with this tag.
    #[arg(long, default_value = "")]
    tag: String,
    /// Only playbooks deploying this service, e.g. uptime-kuma.
    #[arg(long, default_value = "")]
    service: String,
    /// Only playbooks targeting this host pattern, e.g. monitoring.
    #[arg(long, default_value = "")]
    host: String,
    /// Only playbooks of this agent.
    #[arg(long, default_value = "")]
    agent: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Path relative to the repository root, e.g. playbooks/deploy-uptime-kuma.yml.
    path: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// The task in plain language, e.g. "install uptime kuma".
    #[arg(required = true, num_args = 1..)]
    task: Vec<String>,
    /// At most this many candidates.
    #[arg(long, default_value_t = 5)]
    limit: i32,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct InventoriesArgs {
    /// Only this agent's inventories.
    #[arg(long, default_value = "")]
    agent: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct IssuesArgs {
    /// Only this agent's files.
    #[arg(long, default_value = "")]
    agent: String,
    #[command(flatten)]
    common: Common,
}

/// Runs one `chiffon catalog` subcommand.
pub async fn run(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::List(args) => list(args).await,
        CatalogCommand::Show(args) => show(args).await,
        CatalogCommand::Match(args) => match_task(args).await,
        CatalogCommand::Inventories(args) => inventories(args).await,
        CatalogCommand::Issues(args) => issues(args).await,
    }
}

async fn client(server: &Server) -> anyhow::Result<CatalogServiceClient<Traced>> {
    Ok(CatalogServiceClient::new(connect(server).await?))
}

/// `chiffon catalog list`.
async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .list_playbooks(pb::ListPlaybooksRequest {
            tag: args.tag,
            host: args.host,
            service: args.service,
            agent_id: args.agent,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, |response| {
        if response.playbooks.is_empty() {
            println!("no playbooks match; `chiffon catalog list` without filters shows all");
        }
        response.playbooks.iter().for_each(print_summary);
    })
}

/// `chiffon catalog show`.
async fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .get_playbook(pb::GetPlaybookRequest { path: args.path })
        .reply()
        .await?;
    let playbook = returned(response.playbook.as_ref(), "playbook")?;
    args.common
        .output
        .answer(&response, |_| print_details(playbook))
}

/// `chiffon catalog match`.
async fn match_task(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .match_playbooks(pb::MatchPlaybooksRequest {
            task: args.task.join(" "),
            limit: args.limit,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, print_matches)
}

/// `chiffon catalog inventories`.
async fn inventories(args: InventoriesArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .list_inventories(pb::ListInventoriesRequest {
            agent_id: args.agent,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, |response| {
        if response.inventories.is_empty() {
            println!("no inventories: no infrastructure agent has registered yet");
        }
        response.inventories.iter().for_each(print_inventory);
    })
}

/// `chiffon catalog issues`.
async fn issues(args: IssuesArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .list_catalog_issues(pb::ListCatalogIssuesRequest {
            agent_id: args.agent,
        })
        .reply()
        .await?;
    args.common.output.answer(&response, |response| {
        if response.issues.is_empty() {
            println!("no issues: every file of the repositories was indexed");
        }
        for issue in &response.issues {
            println!(
                "{}: {} (agent {})",
                file_line(&issue.path, issue.line),
                issue.message,
                issue.agent_id
            );
        }
    })
}

/// The playbook in a few lines: path and name, then what it targets, uses and deploys.
fn print_summary(playbook: &pb::Playbook) {
    println!("{} — {}", playbook.path, playbook.name);
    println!("    hosts:    {}", list_or(&playbook.hosts, "none"));
    println!("    tags:     {}", list_or(&playbook.tags, "none"));
    println!("    roles:    {}", list_or(&playbook.roles, "none"));
    println!("    services: {}", list_or(&playbook.services, "none"));
    let stacks: Vec<String> = playbook
        .compose_stacks
        .iter()
        .map(|stack| stack.path.clone())
        .collect();
    println!("    compose:  {}", list_or(&stacks, "none"));
    if !playbook.parts.is_empty() {
        let tags: Vec<String> = playbook
            .parts
            .iter()
            .map(|part| part.tags.join("|"))
            .collect();
        println!(
            "    parts:    {} selected by tags: {}",
            playbook.parts.len(),
            shortened(&tags)
        );
    }
}

/// `items` joined with ", ", the first ten when there are more.
fn shortened(items: &[String]) -> String {
    const SHOWN: usize = 10;
    if items.len() <= SHOWN {
        return items.join(", ");
    }
    format!(
        "{}, … ({} more)",
        items[..SHOWN].join(", "),
        items.len() - SHOWN
    )
}

/// One inventory: its name and source, then each group with its hosts.
fn print_inventory(inventory: &pb::Inventory) {
    let source = if inventory.source.is_empty() {
        "the repository's ansible.cfg".to_owned()
    } else {
        inventory.source.clone()
    };
    println!(
        "{}{} — {source} (agent {})",
        inventory.name,
        if inventory.is_default {
            " (default)"
        } else {
            ""
        },
        inventory.agent_id
    );
    if !inventory.error.is_empty() {
        println!("    cannot be read: {}", inventory.error);
        return;
    }
    for group in &inventory.groups {
        println!("    {}: {}", group.name, list_or(&group.hosts, "no hosts"));
    }
}

/// Where a play runs: its pattern, and the hosts it selects in each inventory.
fn play_targets(play: &pb::Play) -> Vec<String> {
    play.targets
        .iter()
        .map(|targets| {
            let hosts = if targets.unresolved_reason.is_empty() {
                list_or(&targets.hosts, "no hosts")
            } else {
                format!("unknown until it runs ({})", targets.unresolved_reason)
            };
            format!("{}: {hosts}", targets.inventory)
        })
        .collect()
}

/// Every field of the playbook.
fn print_details(playbook: &pb::Playbook) {
    println!("{}", playbook.path);
    println!("  name:        {}", playbook.name);
    println!("  agent:       {}", playbook.agent_id);
    println!(
        "  description: {}",
        if playbook.description.is_empty() {
            "none"
        } else {
            &playbook.description
        }
    );
    if playbook.play_details.is_empty() {
        println!("  plays:       {}", list_or(&playbook.plays, "none"));
    } else {
        println!("  plays:");
        playbook
            .play_details
            .iter()
            .enumerate()
            .for_each(print_play);
    }
    println!("  hosts:       {}", list_or(&playbook.hosts, "none"));
    println!("  tags:        {}", list_or(&playbook.tags, "none"));
    println!("  roles:       {}", list_or(&playbook.roles, "none"));
    println!("  services:    {}", list_or(&playbook.services, "none"));
    println!("  templates:   {}", list_or(&playbook.templates, "none"));
    if playbook.compose_stacks.is_empty() {
        println!("  compose stacks: none");
    } else {
        println!("  compose stacks:");
        for stack in &playbook.compose_stacks {
            println!("    {}", stack.path);
            println!("      services: {}", list_or(&stack.services, "none"));
            println!("      images:   {}", list_or(&stack.images, "none"));
        }
    }
    if !playbook.parts.is_empty() {
        println!("  parts (run one with --tags):");
        playbook.parts.iter().for_each(print_part);
    }
    if playbook.variables.is_empty() {
        println!("  variables: none");
    } else {
        println!("  variables:");
        playbook.variables.iter().for_each(print_variable);
    }
}

/// The play at `index` (from 0): its name and pattern, where it runs, its tags and roles.
fn print_play((index, play): (usize, &pb::Play)) {
    let name = if play.name.is_empty() {
        "(unnamed)"
    } else {
        &play.name
    };
    println!(
        "    {}. {name} — hosts {} (in {})",
        index + 1,
        play.host_pattern,
        play.path
    );
    for targets in play_targets(play) {
        println!("         {targets}");
    }
    if !play.tags.is_empty() {
        println!("         tags:  {}", play.tags.join(", "));
    }
    println!("         roles: {}", list_or(&play.roles, "none"));
}

/// A part as the `--tags` that selects it, with its plays (numbered from 1) and roles.
fn print_part(part: &pb::PlaybookPart) {
    let plays: Vec<String> = part
        .play_indexes
        .iter()
        .map(|index| (index + 1).to_string())
        .collect();
    println!(
        "    --tags {}  {} (play {}; roles {})",
        part.tags.join(","),
        part.name,
        plays.join(", "),
        list_or(&part.roles, "none")
    );
    if !part.description.is_empty() {
        println!("        {}", part.description);
    }
}

/// A variable with its default and where that comes from, or that the inventory must set it.
fn print_variable(variable: &pb::PlaybookVariable) {
    if variable.default_source.is_empty() {
        println!(
            "    {} (no default: set it in the inventory)",
            variable.name
        );
    } else {
        println!(
            "    {} = {} (from {})",
            variable.name, variable.default_value, variable.default_source
        );
    }
}

/// The ranked candidates, or that none fits with the closest ones and the advice.
fn print_matches(answer: &pb::MatchPlaybooksResponse) {
    if answer.fits {
        println!(
            "playbooks for this task, best first (a match needs confidence {:.2}):",
            answer.threshold
        );
    } else {
        println!(
            "no playbook fits (a match needs confidence {:.2}).",
            answer.threshold
        );
        if !answer.matches.is_empty() {
            println!("closest:");
        }
    }
    for (rank, candidate) in answer.matches.iter().enumerate() {
        let mut run = candidate
            .playbook
            .as_ref()
            .map(|playbook| playbook.path.clone())
            .unwrap_or_else(|| "?".to_owned());
        if !candidate.tags.is_empty() {
            run.push_str(&format!(" --tags {}", candidate.tags.join(",")));
        }
        if !candidate.limit.is_empty() {
            run.push_str(&format!(" --limit {}", candidate.limit));
        }
        let part = if candidate.part.is_empty() {
            String::new()
        } else {
            format!("  ({})", candidate.part)
        };
        println!(
            "  {}. {run}{part}  confidence {:.2}",
            rank + 1,
            candidate.confidence
        );
        for reason in &candidate.reasons {
            println!("       - {reason}");
        }
    }
    if !answer.advice.is_empty() {
        println!("{}", answer.advice);
    }
}
