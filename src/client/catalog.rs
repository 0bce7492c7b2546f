//! `chiffon catalog …`: what the infrastructure agents found in their repositories
//! (`CatalogService`).

use super::format::{file_line, list_or};
use super::{Server, connect, refused};
use anyhow::Context as _;
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::catalog_service_client::CatalogServiceClient;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List the playbooks of every infrastructure repository.
    List {
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
        server: Server,
    },
    /// Show everything known about one playbook.
    Show {
        /// Path relative to the repository root, e.g. playbooks/deploy-uptime-kuma.yml.
        path: String,
        #[command(flatten)]
        server: Server,
    },
    /// Rank the playbooks that could do a task, with confidence and reasons.
    Match {
        /// The task in plain language, e.g. "install uptime kuma".
        #[arg(required = true, num_args = 1..)]
        task: Vec<String>,
        /// At most this many candidates.
        #[arg(long, default_value_t = 5)]
        limit: i32,
        #[command(flatten)]
        server: Server,
    },
    /// List the inventories the agents run against, with their groups and hosts.
    Inventories {
        /// Only this agent's inventories.
        #[arg(long, default_value = "")]
        agent: String,
        #[command(flatten)]
        server: Server,
    },
    /// List the repository files the agents could not index and what the repositories need but
    /// lack (Galaxy roles and collections), with the line of the problem.
    Issues {
        /// Only this agent's files.
        #[arg(long, default_value = "")]
        agent: String,
        #[command(flatten)]
        server: Server,
    },
}

/// Runs one `chiffon catalog` subcommand.
pub async fn run(command: CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::List {
            tag,
            service,
            host,
            agent,
            server,
        } => {
            let playbooks = client(&server)
                .await?
                .list_playbooks(pb::ListPlaybooksRequest {
                    tag,
                    host,
                    service,
                    agent_id: agent,
                })
                .await
                .map_err(refused)?
                .into_inner()
                .playbooks;
            if playbooks.is_empty() {
                println!("no playbooks match; `chiffon catalog list` without filters shows all");
            }
            for playbook in &playbooks {
                print_summary(playbook);
            }
        }
        CatalogCommand::Show { path, server } => {
            let playbook = client(&server)
                .await?
                .get_playbook(pb::GetPlaybookRequest { path })
                .await
                .map_err(refused)?
                .into_inner()
                .playbook
                .context("the orchestrator returned no playbook")?;
            print_details(&playbook);
        }
        CatalogCommand::Match {
            task,
            limit,
            server,
        } => {
            let answer = client(&server)
                .await?
                .match_playbooks(pb::MatchPlaybooksRequest {
                    task: task.join(" "),
                    limit,
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_matches(&answer);
        }
        CatalogCommand::Inventories { agent, server } => {
            let inventories = client(&server)
                .await?
                .list_inventories(pb::ListInventoriesRequest { agent_id: agent })
                .await
                .map_err(refused)?
                .into_inner()
                .inventories;
            if inventories.is_empty() {
                println!("no inventories: no infrastructure agent has registered yet");
            }
            for inventory in &inventories {
                print_inventory(inventory);
            }
        }
        CatalogCommand::Issues { agent, server } => {
            let issues = client(&server)
                .await?
                .list_catalog_issues(pb::ListCatalogIssuesRequest { agent_id: agent })
                .await
                .map_err(refused)?
                .into_inner()
                .issues;
            if issues.is_empty() {
                println!("no issues: every file of the repositories was indexed");
            }
            for issue in issues {
                println!(
                    "{}: {} (agent {})",
                    file_line(&issue.path, issue.line),
                    issue.message,
                    issue.agent_id
                );
            }
        }
    }
    Ok(())
}

async fn client(server: &Server) -> anyhow::Result<CatalogServiceClient<super::Traced>> {
    Ok(CatalogServiceClient::new(connect(server).await?))
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
        for (index, play) in playbook.play_details.iter().enumerate() {
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
        for part in &playbook.parts {
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
    }
    if playbook.variables.is_empty() {
        println!("  variables: none");
    } else {
        println!("  variables:");
        for variable in &playbook.variables {
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
