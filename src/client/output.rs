//! `--output`: a client subcommand's answer as text for people, or as the proto3 JSON of the gRPC
//! responses for scripts.
//!
//! The JSON is never written by hand: each response is encoded with prost, decoded as a
//! `DynamicMessage` against the descriptors `chiffon-proto` embeds (the ones gRPC reflection
//! serves), and serialized by prost-reflect's canonical JSON mapping. So it is what the `.proto`
//! files document and what other gRPC tools print, and a new field shows up without a change
//! here.

use anyhow::Context as _;
use chiffon_proto::v1 as pb;
use clap::{Args, ValueEnum};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde::ser::{Error as _, Serialize, SerializeMap as _, Serializer};
use std::process::ExitCode;
use std::sync::OnceLock;

/// How a client subcommand prints its answer.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// How to print the answer: text for people, json for scripts.
    ///
    /// json is the proto3 canonical JSON mapping of the gRPC response, as the .proto files
    /// document it and other gRPC tools print it: one object per line, and a stream (watch,
    /// --watch) prints one line per event. Field names are the .proto's (snake_case). Fields at
    /// their default value are included (0, "", false, [], an enum's *_UNSPECIFIED), so every
    /// scalar and list is always there; unset message fields are left out. Enums are their
    /// names; 64-bit integers are strings. Errors stay text on stderr.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Words and aligned lines, for people.
    Text,
    /// Proto3 JSON, one object per line, for scripts.
    Json,
}

impl Output {
    pub fn is_json(self) -> bool {
        self.output == Format::Json
    }

    /// Prints `response`: one line of its JSON, or what `text` prints.
    pub fn print<R: Response>(self, response: &R, text: impl FnOnce(&R)) -> anyhow::Result<()> {
        match self.output {
            Format::Text => text(response),
            Format::Json => println!("{}", json_line(response)?),
        }
        Ok(())
    }

    /// Prints `response` as the subcommand's answer, which means it succeeded.
    pub fn answer<R: Response>(
        self,
        response: &R,
        text: impl FnOnce(&R),
    ) -> anyhow::Result<ExitCode> {
        self.print(response, text)?;
        Ok(ExitCode::SUCCESS)
    }

    /// Prints the responses of a subcommand that makes two calls: as one JSON object with the
    /// fields of both (each a message), or what `text` prints.
    pub fn answer_both<A: Response, B: Response>(
        self,
        first: &A,
        second: &B,
        text: impl FnOnce(&A, &B),
    ) -> anyhow::Result<ExitCode> {
        match self.output {
            Format::Text => text(first, second),
            Format::Json => println!("{}", json_line_of_both(first, second)?),
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// A gRPC response message, known by its full name in the descriptor pool.
pub trait Response: prost::Message + Sized {
    const FULL_NAME: &'static str;
}

/// Names the `chiffon.v1` responses the client prints.
macro_rules! chiffon_responses {
    ($($message:ident),* $(,)?) => {
        $(impl Response for pb::$message {
            const FULL_NAME: &'static str = concat!("chiffon.v1.", stringify!($message));
        })*

        /// Every named response, so a test can look each up.
        #[cfg(test)]
        const CHIFFON_RESPONSES: &[&str] = &[$(<pb::$message as Response>::FULL_NAME),*];
    };
}

chiffon_responses!(
    SubmitRequestResponse,
    GetRequestResponse,
    GetPlanResponse,
    ApprovePlanResponse,
    RejectPlanResponse,
    RevisePlanResponse,
    CancelRequestResponse,
    RerunFailedHostsResponse,
    WatchRequestResponse,
    ListRequestsResponse,
    ListAgentsResponse,
    ListPlaybooksResponse,
    GetPlaybookResponse,
    MatchPlaybooksResponse,
    ListInventoriesResponse,
    ListCatalogIssuesResponse,
    ListSuggestionsResponse,
    GetSuggestionResponse,
    AcceptSuggestionResponse,
);

impl Response for tonic_health::pb::HealthCheckResponse {
    const FULL_NAME: &'static str = "grpc.health.v1.HealthCheckResponse";
}

/// Proto field names, as the .proto files (and protojson's UseProtoNames) spell them, because
/// that is what someone writing `jq` against the .proto reads. Default values are included so
/// every scalar and list is always there: a script reads `.requests | length` or
/// `.request.status_reason` without checking for absence.
const OPTIONS: SerializeOptions = SerializeOptions::new()
    .use_proto_field_name(true)
    .skip_default_fields(false);

/// The descriptors of every message the client prints, decoded once per process: a watch prints
/// many events.
fn pool() -> anyhow::Result<&'static DescriptorPool> {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let mut pool = DescriptorPool::decode(chiffon_proto::FILE_DESCRIPTOR_SET)
        .context("cannot read the chiffon.v1 descriptors built into this client")?;
    pool.decode_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .context("cannot read the grpc.health.v1 descriptors built into this client")?;
    Ok(POOL.get_or_init(|| pool))
}

/// `response` as a message of its descriptor, which serializes to proto3 JSON.
fn dynamic<R: Response>(response: &R) -> anyhow::Result<DynamicMessage> {
    let descriptor = pool()?
        .get_message_by_name(R::FULL_NAME)
        .with_context(|| format!("the client has no descriptor for {}", R::FULL_NAME))?;
    DynamicMessage::decode(descriptor, response.encode_to_vec().as_slice())
        .with_context(|| format!("cannot decode {} for JSON", R::FULL_NAME))
}

/// `response` as one line of JSON.
fn json_line<R: Response>(response: &R) -> anyhow::Result<String> {
    json(&Canonical(&dynamic(response)?))
}

/// Two responses' fields as one line of JSON.
fn json_line_of_both<A: Response, B: Response>(first: &A, second: &B) -> anyhow::Result<String> {
    json(&Members([dynamic(first)?, dynamic(second)?]))
}

/// Serializing straight to text keeps the fields in .proto order, which a `serde_json::Value`
/// would sort.
fn json(value: &impl Serialize) -> anyhow::Result<String> {
    serde_json::to_string(value).context("cannot print the answer as JSON")
}

/// A message serialized with [`OPTIONS`].
struct Canonical<'a>(&'a DynamicMessage);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_with_options(serializer, &OPTIONS)
    }
}

/// The message fields of several responses as the members of one object, e.g. `show`'s
/// `{"request": …, "plan": …}` from GetRequest and GetPlan. Each member is a canonical message;
/// only the grouping is the client's.
struct Members<const N: usize>([DynamicMessage; N]);

impl<const N: usize> Serialize for Members<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_map(None)?;
        for response in &self.0 {
            for (field, value) in response.fields() {
                let message = value.as_message().ok_or_else(|| {
                    S::Error::custom(format!("{} is not a message", field.full_name()))
                })?;
                object.serialize_entry(field.name(), &Canonical(message))?;
            }
        }
        object.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_health::pb::{HealthCheckResponse, health_check_response::ServingStatus};

    #[test]
    fn every_printed_response_has_a_descriptor() -> anyhow::Result<()> {
        let pool = pool()?;
        for name in CHIFFON_RESPONSES
            .iter()
            .chain([&HealthCheckResponse::FULL_NAME])
        {
            assert!(pool.get_message_by_name(name).is_some(), "{name}");
        }
        Ok(())
    }

    #[test]
    fn health_prints_its_status_by_name() -> anyhow::Result<()> {
        let serving = HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        };
        assert_eq!(json_line(&serving)?, r#"{"status":"SERVING"}"#);
        Ok(())
    }

    #[test]
    fn fields_keep_their_proto_names_and_defaults_are_printed() -> anyhow::Result<()> {
        assert_eq!(
            json_line(&pb::ListRequestsResponse::default())?,
            r#"{"requests":[],"next_page_token":""}"#
        );
        Ok(())
    }

    #[test]
    fn an_event_prints_in_proto_order_with_its_sequence_as_a_string() -> anyhow::Result<()> {
        let event = pb::WatchRequestResponse {
            event: Some(pb::RequestEvent {
                request_id: "r".to_owned(),
                sequence: 7,
                kind: pb::RequestEventKind::RequestSucceeded as i32,
                ends_request: true,
                ..Default::default()
            }),
        };
        assert_eq!(
            json_line(&event)?,
            r#"{"event":{"request_id":"r","sequence":"7","kind":"REQUEST_EVENT_KIND_REQUEST_SUCCEEDED","message":"","step_id":"","ends_request":true}}"#
        );
        Ok(())
    }

    #[test]
    fn two_responses_print_as_one_object_of_their_fields() -> anyhow::Result<()> {
        let request = pb::GetRequestResponse {
            request: Some(pb::Request {
                request_id: "r".to_owned(),
                ..Default::default()
            }),
        };
        let plan = pb::GetPlanResponse {
            plan: Some(pb::Plan {
                revision: 2,
                ..Default::default()
            }),
        };
        let both: serde_json::Value = serde_json::from_str(&json_line_of_both(&request, &plan)?)?;
        assert_eq!(both["request"]["request_id"], "r");
        assert_eq!(both["plan"]["revision"], 2);
        assert_eq!(both.as_object().map(|object| object.len()), Some(2));
        Ok(())
    }
}
