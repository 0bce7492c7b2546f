"""A Python client generated from proto/ with grpcio-tools, driving Chiffon the way any other
language would: list the services through reflection, submit a request, approve its plan and
watch it to the end. Prints one JSON object with what it saw; exits non-zero on any failure.

Usage: client.py GENERATED_DIR HOST:PORT REQUEST_TEXT
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2  # noqa: E402

from chiffon.v1 import orchestrator_pb2, orchestrator_pb2_grpc  # noqa: E402


def list_services(channel, version):
    """Lists services through reflection `version` ("v1alpha" as Python's own client asks, or
    "v1" as grpcurl asks; both versions share one wire format)."""
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(call(iter([request])))
    return sorted(service.name for service in response.list_services_response.service)


def main():
    target, text = sys.argv[2], sys.argv[3]
    with grpc.insecure_channel(target) as channel:
        services = list_services(channel, "v1alpha")
        if list_services(channel, "v1") != services:
            raise SystemExit("reflection v1 and v1alpha disagree")
        client = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        submitted = client.SubmitRequest(orchestrator_pb2.SubmitRequestRequest(text=text))
        plan = submitted.plan
        client.ApprovePlan(
            orchestrator_pb2.ApprovePlanRequest(
                plan_id=plan.plan_id, content_hash=plan.content_hash, approver="python"
            )
        )
        events = []
        for response in client.WatchRequest(
            orchestrator_pb2.WatchRequestRequest(request_id=submitted.request.request_id)
        ):
            events.append(
                {
                    "sequence": response.event.sequence,
                    "kind": orchestrator_pb2.RequestEventKind.Name(response.event.kind),
                }
            )
        try:
            client.GetRequest(orchestrator_pb2.GetRequestRequest(request_id="nope"))
            invalid = "OK"
        except grpc.RpcError as error:
            invalid = error.code().name
    print(
        json.dumps(
            {
                "services": services,
                "steps": [step.playbook for step in plan.steps],
                "events": events,
                "invalid_id_status": invalid,
            }
        )
    )


if __name__ == "__main__":
    main()
