//! `chiffon suggestions …`: the ansible-lint findings of the infrastructure repositories, and
//! accepting one so its fix is committed on a new branch (`SuggestionService`).

use super::format::{
    category_word, file_line, print_commit, severity_word, suggestion_status_word, timestamp_words,
};
use super::requests::{Followed, follow};
use super::{Common, Reply as _, Reviewer, Server, Traced, connect, returned};
use chiffon_proto::v1 as pb;
use chiffon_proto::v1::suggestion_service_client::SuggestionServiceClient;
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;

/// The largest page the orchestrator serves; the list asks for whole pages until the last.
const PAGE_SIZE: i32 = 1000;

#[derive(Debug, Subcommand)]
pub enum SuggestionsCommand {
    /// List suggestions grouped by category, with the reason and the file and line of each.
    List(ListArgs),
    /// Show one suggestion in full.
    Show(ShowArgs),
    /// Accept a fixable suggestion: a request commits its fix on a new branch of the repository.
    Accept(AcceptArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only suggestions in this status [default: all but resolved].
    #[arg(long, value_enum)]
    status: Option<StatusFilter>,
    /// Only this category.
    #[arg(long, value_enum)]
    category: Option<CategoryFilter>,
    /// Only suggestions about this file (relative to the repository root).
    #[arg(long, default_value = "")]
    path: String,
    /// Only this agent's repository.
    #[arg(long, default_value = "")]
    agent: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The suggestion id.
    suggestion_id: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The suggestion id.
    suggestion_id: String,
    #[command(flatten)]
    who: Reviewer,
    /// Follow the fix request until it ends, then show the branch and commit (with --output
    /// json: the acceptance's line, then one per event; the events' results name the commit).
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    common: Common,
}

/// A suggestion status as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusFilter {
    Open,
    Accepted,
    Applied,
    Failed,
    Resolved,
}

impl From<StatusFilter> for pb::SuggestionStatus {
    fn from(status: StatusFilter) -> Self {
        match status {
            StatusFilter::Open => Self::Open,
            StatusFilter::Accepted => Self::Accepted,
            StatusFilter::Applied => Self::Applied,
            StatusFilter::Failed => Self::Failed,
            StatusFilter::Resolved => Self::Resolved,
        }
    }
}

/// A suggestion category as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CategoryFilter {
    Idempotency,
    ErrorHandling,
    Performance,
    BestPractices,
    Standards,
}

impl From<CategoryFilter> for pb::SuggestionCategory {
    fn from(category: CategoryFilter) -> Self {
        match category {
            CategoryFilter::Idempotency => Self::Idempotency,
            CategoryFilter::ErrorHandling => Self::ErrorHandling,
            CategoryFilter::Performance => Self::Performance,
            CategoryFilter::BestPractices => Self::BestPractices,
            CategoryFilter::Standards => Self::Standards,
        }
    }
}

/// Runs one `chiffon suggestions` subcommand.
pub async fn run(command: SuggestionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        SuggestionsCommand::List(args) => list(args).await,
        SuggestionsCommand::Show(args) => show(args).await,
        SuggestionsCommand::Accept(args) => accept(args).await,
    }
}

async fn client(server: &Server) -> anyhow::Result<SuggestionServiceClient<Traced>> {
    Ok(SuggestionServiceClient::new(connect(server).await?))
}

/// Every suggestion matching `filter`, page after page.
async fn list_all(
    client: &mut SuggestionServiceClient<Traced>,
    mut filter: pb::ListSuggestionsRequest,
) -> anyhow::Result<Vec<pb::Suggestion>> {
    let mut suggestions = Vec::new();
    loop {
        let page = client.list_suggestions(filter.clone()).reply().await?;
        suggestions.extend(page.suggestions);
        if page.next_page_token.is_empty() {
            return Ok(suggestions);
        }
        filter.page_token = page.next_page_token;
    }
}

/// `chiffon suggestions list`: with `--output json`, every page in one ListSuggestionsResponse.
async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let filter = pb::ListSuggestionsRequest {
        status: args
            .status
            .map(pb::SuggestionStatus::from)
            .unwrap_or_default() as i32,
        category: args
            .category
            .map(pb::SuggestionCategory::from)
            .unwrap_or_default() as i32,
        path: args.path,
        agent_id: args.agent,
        page_size: PAGE_SIZE,
        page_token: String::new(),
    };
    let response = pb::ListSuggestionsResponse {
        suggestions: list_all(&mut client(&args.common.server).await?, filter).await?,
        next_page_token: String::new(),
    };
    args.common
        .output
        .answer(&response, |response| print_grouped(&response.suggestions))
}

/// `chiffon suggestions show`.
async fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.common.server)
        .await?
        .get_suggestion(pb::GetSuggestionRequest {
            suggestion_id: args.suggestion_id,
        })
        .reply()
        .await?;
    let suggestion = returned(response.suggestion.as_ref(), "suggestion")?;
    args.common
        .output
        .answer(&response, |_| print_details(suggestion))
}

/// The suggestions under one heading per category, in the order the categories are defined.
fn print_grouped(suggestions: &[pb::Suggestion]) {
    if suggestions.is_empty() {
        println!("no suggestions: ansible-lint found nothing to improve");
        return;
    }
    let mut categories: Vec<pb::SuggestionCategory> =
        suggestions.iter().map(|s| s.category()).collect();
    categories.sort_by_key(|category| *category as i32);
    categories.dedup();
    for category in categories {
        let group: Vec<&pb::Suggestion> = suggestions
            .iter()
            .filter(|suggestion| suggestion.category() == category)
            .collect();
        println!("{} ({})", category_word(category), group.len());
        for suggestion in group {
            let fixable = if suggestion.fixable { ", fixable" } else { "" };
            println!(
                "  {}  {}  {} [{}{fixable}]",
                suggestion.suggestion_id,
                file_line(&suggestion.path, suggestion.line),
                suggestion.rule,
                suggestion_status_word(suggestion.status()),
            );
            println!("      {}", suggestion.title);
            println!("      why: {}", suggestion.reason);
        }
    }
}

/// Every field of the suggestion.
fn print_details(suggestion: &pb::Suggestion) {
    println!(
        "suggestion {} ({})",
        suggestion.suggestion_id,
        suggestion_status_word(suggestion.status())
    );
    println!(
        "  {} {}: {}",
        severity_word(suggestion.severity()),
        suggestion.rule,
        suggestion.title
    );
    println!(
        "  file:     {}",
        file_line(&suggestion.path, suggestion.line)
    );
    println!("  category: {}", category_word(suggestion.category()));
    println!("  why:      {}", suggestion.reason);
    if !suggestion.details.is_empty() {
        println!("  details:  {}", suggestion.details);
    }
    if !suggestion.doc_url.is_empty() {
        println!("  docs:     {}", suggestion.doc_url);
    }
    println!("  agent:    {}", suggestion.agent_id);
    println!(
        "  seen:     first {}, last {}",
        timestamp_words(suggestion.first_seen_at.as_ref()),
        timestamp_words(suggestion.last_seen_at.as_ref())
    );
    if suggestion.fixable {
        println!(
            "  fixable:  yes — chiffon suggestions accept {}",
            suggestion.suggestion_id
        );
    } else {
        println!("  fixable:  no, it needs a person's edit");
    }
    if !suggestion.request_id.is_empty() {
        println!("  request:  {}", suggestion.request_id);
    }
    if let Some(commit) = &suggestion.commit {
        print_commit(commit, "  ");
    }
    if !suggestion.error.is_empty() {
        println!("  error:    {}", suggestion.error);
    }
}

/// `chiffon suggestions accept`: starts the fix request and, with `--watch`, follows it and
/// shows the commit it made.
async fn accept(args: AcceptArgs) -> anyhow::Result<ExitCode> {
    let mut suggestions = client(&args.common.server).await?;
    let response = suggestions
        .accept_suggestion(pb::AcceptSuggestionRequest {
            suggestion_id: args.suggestion_id.clone(),
            approver: args.who.name,
        })
        .reply()
        .await?;
    let request = returned(response.request.as_ref(), "fix request")?;
    args.common.output.print(&response, |_| {
        println!("suggestion {} accepted", args.suggestion_id);
        println!("fix request {} started", request.request_id);
        if !args.watch {
            println!("Follow it:   chiffon watch {}", request.request_id);
        }
    })?;
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    let followed = follow(&args.common, &request.request_id, 0).await?;
    // The events are the whole JSON answer; the branch and commit lines are for people.
    if !args.common.output.is_json() {
        print_fix(&followed, &mut suggestions, args.suggestion_id).await?;
    }
    Ok(followed.exit_code())
}

/// The branch and commit the followed fix request made, or that it made none.
async fn print_fix(
    followed: &Followed,
    suggestions: &mut SuggestionServiceClient<Traced>,
    suggestion_id: String,
) -> anyhow::Result<()> {
    // The step's result names the commit; the suggestion keeps it too, should the result
    // have come without it.
    let commit = match followed.commits.last().cloned() {
        Some(commit) => Some(commit),
        None => suggestions
            .get_suggestion(pb::GetSuggestionRequest { suggestion_id })
            .reply()
            .await?
            .suggestion
            .and_then(|suggestion| suggestion.commit),
    };
    match commit {
        Some(commit) => {
            println!("branch {}", commit.branch);
            println!("commit {}", commit.commit_id);
        }
        None if followed.succeeded => println!("the fix request made no commit"),
        None => {}
    }
    Ok(())
}
