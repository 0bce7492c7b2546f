"""scripts/broker_probe.py — does the local RabbitMQ do what Chiffon asks of it?

An open port is not enough: a broker whose quorum-queue subsystem is down (a full disk, a
crashed Raft write-ahead log) accepts connections and then refuses every quorum queue with
INTERNAL_ERROR. This probe does, in a throwaway vhost, what Chiffon's bus does at start: declare
a quorum queue with a delivery limit and at-least-once dead-lettering, publish to it with
publisher confirms, and take the message back. It prints what failed and exits 1, or exits 0.

    python scripts/broker_probe.py [HOST [PORT]]

Uses guest/guest and `rabbitmqctl` (for the vhost), as the tests do.
"""

import subprocess
import sys
import uuid

import pika

# Long enough for a busy two-core machine, short enough that a blocked broker (disk or memory
# alarm) is reported instead of hanging the test command.
TIMEOUT_SECONDS = 20


def rabbitmqctl(*arguments):
    subprocess.run(
        ["rabbitmqctl", "-q", *arguments],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=TIMEOUT_SECONDS * 3,
    )


def exercise(host, port, vhost):
    parameters = pika.ConnectionParameters(
        host=host,
        port=port,
        virtual_host=vhost,
        credentials=pika.PlainCredentials("guest", "guest"),
        socket_timeout=TIMEOUT_SECONDS,
        blocked_connection_timeout=TIMEOUT_SECONDS,
        connection_attempts=1,
    )
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.exchange_declare("probe.dlx", exchange_type="fanout", durable=True)
        channel.queue_declare(
            "probe.work",
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": 3,
                "x-dead-letter-exchange": "probe.dlx",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        channel.basic_publish(
            "",
            "probe.work",
            b"probe",
            properties=pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent),
            mandatory=True,
        )
        for _ in range(TIMEOUT_SECONDS * 10):
            method, _, body = channel.basic_get("probe.work")
            if method is not None:
                channel.basic_ack(method.delivery_tag)
                if body != b"probe":
                    raise RuntimeError(f"the queue returned {body!r} instead of the message sent")
                return
            connection.sleep(0.1)
        raise RuntimeError("a confirmed message never arrived in its quorum queue")
    finally:
        if connection.is_open:
            connection.close()


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 5672
    vhost = f"chiffon-probe-{uuid.uuid4()}"
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        exercise(host, port, vhost)
    except Exception as error:  # noqa: BLE001 — any failure is the answer "no"
        print(f"broker probe: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        try:
            rabbitmqctl("delete_vhost", vhost)
        except (subprocess.SubprocessError, OSError) as error:
            print(f"broker probe: could not delete vhost {vhost}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
