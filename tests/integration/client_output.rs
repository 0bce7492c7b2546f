//! `--output json`: the client commands print the proto3 JSON of their gRPC responses, one object
//! per line and one line per event of a stream, exactly as Google's own protobuf library prints
//! the same messages from the `.proto` files; errors stay text on stderr.

use crate::support::*;
use serde_json::{Value, json};
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Compiles `proto/` with grpcio-tools' protoc, then parses every stdin line as the message named
/// by the second argument and prints it back with protobuf's json_format (proto field names,
/// fields without presence always printed: the client's documented choices). The two must be the
/// same JSON.
const PROTOBUF_ROUND_TRIP: &str = r#"
import json, os, sys, tempfile
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_tools import protoc

proto_root, name = sys.argv[1], sys.argv[2]
sources = os.path.join(proto_root, "chiffon", "v1")
well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
with tempfile.TemporaryDirectory() as scratch:
    descriptors = os.path.join(scratch, "chiffon.bin")
    arguments = ["protoc", "-I" + proto_root, "-I" + well_known, "--include_imports",
                 "--descriptor_set_out=" + descriptors]
    arguments += sorted(os.path.join(sources, name) for name in os.listdir(sources))
    if protoc.main(arguments) != 0:
        sys.exit("protoc failed")
    with open(descriptors, "rb") as compiled:
        files = descriptor_pb2.FileDescriptorSet.FromString(compiled.read())
pool = descriptor_pool.DescriptorPool()
for file in files.file:
    pool.Add(file)
message_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
lines = sys.stdin.read().splitlines()
for number, line in enumerate(lines, 1):
    printed = json.loads(line)
    again = json_format.MessageToDict(
        json_format.Parse(line, message_class()),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    if again != printed:
        sys.exit(f"line {number} is not protobuf's JSON of {name}:\n{line}\nprotobuf: {json.dumps(again)}")
print(len(lines))
"#;

/// Asserts that each of `lines` is the canonical JSON of a `chiffon.v1.<message>`.
fn assert_protobuf_json(message: &str, lines: &[&str]) {
    let mut python = Command::new(python())
        .arg("-c")
        .arg(PROTOBUF_ROUND_TRIP)
        .arg(repo_root().join("proto"))
        .arg(format!("chiffon.v1.{message}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python (run scripts/setup to create the venv)");
    python
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(lines.join("\n").as_bytes())
        .expect("give python the JSON");
    let checked = python.wait_with_output().expect("python ran");
    assert!(
        checked.status.success(),
        "{}{}",
        stdout(&checked),
        stderr(&checked)
    );
    assert_eq!(stdout(&checked).trim(), lines.len().to_string());
}

/// Runs `chiffon ARGS --output json`, which must succeed, and returns each line it printed:
/// as text and parsed.
fn json_lines(endpoint: &str, args: &[&str]) -> (String, Vec<Value>) {
    let printed = cli(endpoint, &[args, &["--output", "json"][..]].concat());
    assert!(printed.status.success(), "{}", stderr(&printed));
    let text = stdout(&printed);
    let values = text
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect();
    (text, values)
}

/// The one line `chiffon ARGS --output json` printed, checked to be protobuf's JSON of
/// `chiffon.v1.<message>`.
fn json_answer(endpoint: &str, args: &[&str], message: &str) -> Value {
    let (text, mut values) = json_lines(endpoint, args);
    assert_eq!(values.len(), 1, "one object on one line: {text}");
    assert_protobuf_json(message, &[text.trim_end()]);
    values.remove(0)
}

/// The strings at `field` of every object in the array `items`.
fn strings<'a>(items: &'a Value, field: &str) -> Vec<&'a str> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_prints_as_json_from_submission_to_its_last_event() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let endpoint = dev.endpoint.as_str();

    let submitted = json_answer(
        endpoint,
        &["request", UPTIME_KUMA_REQUEST],
        "SubmitRequestResponse",
    );
    let request_id = submitted["request"]["request_id"]
        .as_str()
        .expect("the request's id")
        .to_owned();
    assert_eq!(submitted["request"]["text"], UPTIME_KUMA_REQUEST);
    assert_eq!(
        submitted["request"]["status"],
        "REQUEST_STATUS_AWAITING_APPROVAL"
    );
    assert_eq!(submitted["plan"]["request_id"], request_id.as_str());
    assert_eq!(
        strings(&submitted["plan"]["steps"], "playbook"),
        [
            "playbooks/deploy-uptime-kuma.yml",
            "playbooks/configure-uptime-kuma-monitors.yml"
        ]
    );
    // show is GetRequest's and GetPlan's answers in one object; nothing changed since.
    let (_, shown) = json_lines(endpoint, &["show", &request_id]);
    assert_eq!(
        shown,
        [json!({"request": submitted["request"], "plan": submitted["plan"]})]
    );
    let planned = json_answer(
        endpoint,
        &["plan", &request_id, "--revision", "1"],
        "GetPlanResponse",
    );
    assert_eq!(planned["plan"], submitted["plan"]);

    let approved = json_answer(
        endpoint,
        &["approve", &request_id, "--as", "alice"],
        "ApprovePlanResponse",
    );
    assert_eq!(approved["plan"]["status"], "PLAN_STATUS_APPROVED");
    assert_eq!(approved["request"]["request_id"], request_id.as_str());

    // One line per event, the same events gRPC streams, ending with the request's last.
    let (text, watched) = json_lines(endpoint, &["watch", &request_id]);
    let lines: Vec<&str> = text.lines().collect();
    assert_protobuf_json("WatchRequestResponse", &lines);
    let events = watch_to_end(&mut orchestrator(endpoint).await, &request_id).await;
    let printed: Vec<(&str, &str)> = watched
        .iter()
        .map(|line| {
            (
                line["event"]["sequence"].as_str().unwrap_or_default(),
                line["event"]["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let streamed: Vec<(String, &str)> = events
        .iter()
        .map(|event| (event.sequence.to_string(), event.kind().as_str_name()))
        .collect();
    assert_eq!(
        printed,
        streamed
            .iter()
            .map(|(sequence, kind)| (sequence.as_str(), *kind))
            .collect::<Vec<_>>()
    );
    let last = &watched.last().expect("events")["event"];
    assert_eq!(last["kind"], "REQUEST_EVENT_KIND_REQUEST_SUCCEEDED");
    assert_eq!(last["ends_request"], true);
    let (_, resumed) = json_lines(endpoint, &["watch", &request_id, "--after", "3"]);
    assert_eq!(resumed.len(), watched.len() - 3);
    assert_eq!(resumed[0]["event"]["sequence"], "4");

    let listed = json_answer(endpoint, &["list"], "ListRequestsResponse");
    assert_eq!(
        strings(&listed["requests"], "request_id"),
        [request_id.as_str()]
    );
    assert_eq!(listed["requests"][0]["status"], "REQUEST_STATUS_SUCCEEDED");
    assert_eq!(listed["next_page_token"], "", "default values are printed");

    let agents = json_answer(endpoint, &["agents"], "ListAgentsResponse");
    let infra = &agents["agents"][0];
    assert_eq!(infra["kind"], "AGENT_KIND_INFRA");
    assert_eq!(infra["status"], "AGENT_STATUS_ONLINE");
    assert!(infra["playbook_count"].as_i64() > Some(0), "{infra}");

    let health = cli(endpoint, &["health", "--output", "json"]);
    assert!(health.status.success());
    assert_eq!(stdout(&health), "{\"status\":\"SERVING\"}\n");

    // A refusal is one line of text on stderr, whatever the output format, and nothing on stdout.
    for refused in [
        cli(endpoint, &["show", "no-such-id", "--output", "json"]),
        cli(endpoint, &["rerun-failed", &request_id, "--output", "json"]),
    ] {
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(stdout(&refused), "");
        assert_eq!(
            stderr(&refused).trim().lines().count(),
            1,
            "{}",
            stderr(&refused)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_prints_as_json() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let endpoint = dev.endpoint.as_str();
    const KUMA: &str = "playbooks/deploy-uptime-kuma.yml";

    let listed = json_answer(endpoint, &["catalog", "list"], "ListPlaybooksResponse");
    assert!(
        strings(&listed["playbooks"], "path").contains(&KUMA),
        "{listed}"
    );
    let backups = json_answer(
        endpoint,
        &["catalog", "list", "--tag", "backup"],
        "ListPlaybooksResponse",
    );
    let tagged = backups["playbooks"].as_array().expect("playbooks");
    assert!(
        !tagged.is_empty() && tagged.len() < listed["playbooks"].as_array().map_or(0, Vec::len)
    );
    assert!(
        tagged.iter().all(|playbook| playbook["tags"]
            .as_array()
            .is_some_and(|tags| tags.contains(&json!("backup")))),
        "{backups}"
    );

    let shown = json_answer(endpoint, &["catalog", "show", KUMA], "GetPlaybookResponse");
    assert_eq!(shown["playbook"]["path"], KUMA);
    assert!(
        strings(&shown["playbook"]["compose_stacks"], "path")
            .iter()
            .any(|stack| stack.ends_with("docker-compose.yml.j2")),
        "{shown}"
    );

    let matched = json_answer(
        endpoint,
        &["catalog", "match", "install", "uptime", "kuma"],
        "MatchPlaybooksResponse",
    );
    assert_eq!(matched["fits"], true);
    assert_eq!(matched["matches"][0]["playbook"]["path"], KUMA);
    assert!(matched["matches"][0]["confidence"].as_f64() >= matched["threshold"].as_f64());

    let inventories = json_answer(
        endpoint,
        &["catalog", "inventories"],
        "ListInventoriesResponse",
    );
    let default = &inventories["inventories"][0];
    assert_eq!(default["is_default"], true);
    assert!(
        strings(&default["groups"], "name").contains(&"monitoring"),
        "{default}"
    );

    let issues = json_answer(
        endpoint,
        &["catalog", "issues"],
        "ListCatalogIssuesResponse",
    );
    assert_eq!(issues, json!({"issues": []}), "an empty list is printed");
}

#[tokio::test(flavor = "multi_thread")]
async fn suggestions_print_as_json_and_an_accepted_fix_streams_its_events() {
    const RULE: &str = "fqcn[action-core]";
    const FILE: &str = "roles/common/tasks/main.yml";
    let workspace = Workspace::new();
    workspace.commit_repo();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let endpoint = dev.endpoint.as_str();
    let finding = wait_for_suggestion(endpoint, RULE, FILE).await;
    let id = finding.suggestion_id.as_str();

    let listed = json_answer(
        endpoint,
        &["suggestions", "list"],
        "ListSuggestionsResponse",
    );
    let listed_finding = listed["suggestions"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|suggestion| suggestion["suggestion_id"] == id)
        })
        .unwrap_or_else(|| panic!("{id} is not in {listed}"));
    assert_eq!(
        listed_finding["category"],
        "SUGGESTION_CATEGORY_BEST_PRACTICES"
    );
    assert_eq!(listed["next_page_token"], "", "every page in one answer");

    let shown = json_answer(
        endpoint,
        &["suggestions", "show", id],
        "GetSuggestionResponse",
    );
    assert_eq!(shown["suggestion"]["rule"], RULE);
    assert_eq!(shown["suggestion"]["line"], finding.line);
    assert_eq!(shown["suggestion"]["fixable"], true);

    // The acceptance's answer, then the fix request's events to its last.
    let (text, lines) = json_lines(endpoint, &["suggestions", "accept", id, "--watch"]);
    let texts: Vec<&str> = text.lines().collect();
    assert_protobuf_json("AcceptSuggestionResponse", &texts[..1]);
    assert_protobuf_json("WatchRequestResponse", &texts[1..]);
    let request_id = lines[0]["request"]["request_id"]
        .as_str()
        .expect("the fix request");
    let events: Vec<&Value> = lines[1..].iter().map(|line| &line["event"]).collect();
    assert!(events.iter().all(|event| event["request_id"] == request_id));
    let last = events.last().expect("events");
    assert_eq!(last["kind"], "REQUEST_EVENT_KIND_REQUEST_SUCCEEDED");
    assert_eq!(last["ends_request"], true);
    let branch = events
        .iter()
        .find_map(|event| event["result"]["commit"]["branch"].as_str())
        .expect("an event's result names the commit's branch");
    let git = git2::Repository::open(workspace.repo()).expect("the repository");
    branch_tip(&git, branch);
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    let refused = chiffon()
        .args(["list", "--output", "yaml", "--server", "http://127.0.0.1:9"])
        .output()
        .expect("run the chiffon CLI");
    assert_eq!(refused.status.code(), Some(64), "a usage error (EX_USAGE)");
    assert_eq!(stdout(&refused), "");
    let error = stderr(&refused);
    assert!(
        error.contains("'yaml'") && error.contains("[possible values: text, json]"),
        "{error}"
    );
}

#[test]
fn json_output_keeps_errors_as_text_on_stderr() {
    let unreachable = chiffon()
        .args([
            "agents",
            "--output",
            "json",
            "--server",
            "http://127.0.0.1:9",
        ])
        .output()
        .expect("run the chiffon CLI");
    assert_eq!(unreachable.status.code(), Some(1));
    assert_eq!(stdout(&unreachable), "");
    assert!(
        stderr(&unreachable).starts_with("chiffon: cannot reach the orchestrator"),
        "{}",
        stderr(&unreachable)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_print_as_json() {
    let workspace = Workspace::new();
    let dev = workspace.start_dev();
    wait_for_infra_agent(&dev.endpoint).await;
    let endpoint = dev.endpoint.as_str();
    let submit = |text: &str| {
        json_answer(endpoint, &["request", text], "SubmitRequestResponse")["request"]["request_id"]
            .as_str()
            .expect("the request's id")
            .to_owned()
    };

    let revised_id = submit(UPTIME_KUMA_REQUEST);
    let revised = json_answer(
        endpoint,
        &["modify", &revised_id, "--feedback", "only deploy it"],
        "RevisePlanResponse",
    );
    assert_eq!(revised["plan"]["revision"], 2, "{revised}");
    assert_eq!(revised["plan"]["feedback"], "only deploy it");
    let rejected = json_answer(
        endpoint,
        &["reject", &revised_id, "--reason", "not this week"],
        "RejectPlanResponse",
    );
    assert_eq!(rejected["request"]["status"], "REQUEST_STATUS_REJECTED");

    let cancelled_id = submit(UPTIME_KUMA_REQUEST);
    let cancelled = json_answer(
        endpoint,
        &["cancel", &cancelled_id, "--reason", "wrong host"],
        "CancelRequestResponse",
    );
    assert_eq!(cancelled["request"]["request_id"], cancelled_id.as_str());
    assert_eq!(cancelled["request"]["status"], "REQUEST_STATUS_CANCELLED");
}
