"""Start a démarche sync on Estafette and follow it to its end.

Publishes one `ds.sync` command to `<prefix>.commands`, follows the job's events on
`<prefix>.events` and prints a summary. The broker's URL comes from the `AMQP_URL`
environment variable only, and is never printed.

Exit status: 0 when the sync completed, 1 when the job failed (the reason is on
stderr), 2 when no end came within the timeout.
"""

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pika

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2f"
MESSAGE_ID_NAMESPACE = uuid.UUID("5e7af3e7-0c4b-4d0e-9a3f-2b1d6c8ea001")
LISTINGS = ("dossiers", "deleted_dossiers", "pending_deleted_dossiers")
EXIT_FAILED = 1
EXIT_TIMED_OUT = 2


@dataclass
class Progress:
    """What the job's events said so far."""

    job_id: str
    seen: set[str] = field(default_factory=set)
    pages: int = 0
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LISTINGS, 0))
    completed: dict | None = None
    failure: str | None = None

    def ended(self):
        """Whether the job has completed or failed."""
        return self.completed is not None or self.failure is not None


def parse_arguments():
    """The command line; the broker's URL is deliberately not part of it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demarche", type=int, required=True, help="the démarche's number")
    parser.add_argument(
        "--connection", default="sandbox", help="a connection of the workers' settings"
    )
    parser.add_argument(
        "--since", type=rfc3339, help="only dossiers updated since this instant (RFC 3339)"
    )
    parser.add_argument("--prefix", default="estafette", help="the topology prefix")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for the job's end"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object"
    )
    return parser.parse_args()


def rfc3339(text):
    """Checks that `text` is an RFC 3339 instant with an offset, and keeps it as written."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 instant: {text}") from None
    if instant.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"an RFC 3339 instant needs an offset or Z: {text}")
    return text


def start_message_id(job_id):
    """The start command's message id: UUIDv5 over the job id's bytes and `start`."""
    digest = hashlib.sha1(MESSAGE_ID_NAMESPACE.bytes + job_id.bytes + b"start").digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def sync_command(connection, demarche, since):
    """A `ds.sync` command envelope for a fresh job."""
    job_id = uuid.uuid4()
    body = {"demarche": demarche}
    if since is not None:
        body["updated_since"] = since
    return {
        "version": 1,
        "kind": "ds.sync",
        "job_id": str(job_id),
        "message_id": str(start_message_id(job_id)),
        "connection": connection,
        "body": body,
    }


def follow_events(channel, prefix):
    """Binds a server-named exclusive queue to every event; returns the queue's name."""
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=queue, exchange=f"{prefix}.events", routing_key="#")
    return queue


def publish(channel, prefix, command):
    """Publishes `command` to the fetch-page workers; returns once the broker confirmed it."""
    channel.basic_publish(
        exchange=f"{prefix}.commands",
        routing_key="fetch-page",
        body=json.dumps(command).encode(),
        properties=pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=command["message_id"],
            type=command["kind"],
        ),
        mandatory=True,
    )


def record(progress, event, start_id):
    """Counts one event of the job into `progress`; a repeated message id counts once."""
    if event.get("job_id") != progress.job_id or event["message_id"] in progress.seen:
        return
    progress.seen.add(event["message_id"])
    kind = event["type"]
    if kind == "page.fetched":
        progress.pages += 1
        progress.records[event["listing"]] += len(event["records"])
    elif kind == "sync.completed":
        progress.completed = event
    elif kind == "job.failed" or (
        kind == "command.failed" and event.get("command_id") == start_id
    ):
        progress.failure = f"{kind}: {event['reason']}: {event['message']}"


def wait_for_end(channel, queue, progress, start_id, timeout):
    """Reads events until the job ends or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    deliveries = channel.consume(queue, auto_ack=True, inactivity_timeout=1)
    for _method, _properties, body in deliveries:
        if body is not None:
            record(progress, json.loads(body), start_id)
        if progress.ended() or time.monotonic() >= deadline:
            break
    channel.cancel()


def summary(progress):
    """The job's summary as a JSON-ready dictionary."""
    completed = progress.completed
    return {
        "job_id": progress.job_id,
        "pages": progress.pages,
        "records": progress.records,
        "completed": {
            "records": completed["records"],
            "end": completed["end"],
            "resume_point": completed["resume_point"],
        },
    }


def summary_line(progress):
    """The job's summary as one line of text."""
    completed = progress.completed
    records = progress.records
    return (
        f"job {progress.job_id} completed ({completed['end']}): {progress.pages} pages, "
        f"{records['dossiers']} dossiers, {records['deleted_dossiers']} deleted, "
        f"{records['pending_deleted_dossiers']} pending deleted; "
        f"next time pass --since {completed['resume_point']}"
    )


def main():
    """Publishes the sync, follows it and reports how it ended."""
    arguments = parse_arguments()
    parameters = pika.URLParameters(os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    command = sync_command(arguments.connection, arguments.demarche, arguments.since)
    try:
        connection = pika.BlockingConnection(parameters)
    except pika.exceptions.AMQPConnectionError:
        sys.exit(f"no broker answers at {parameters.host}:{parameters.port} (see AMQP_URL)")
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        queue = follow_events(channel, arguments.prefix)
        publish(channel, arguments.prefix, command)
        progress = Progress(job_id=command["job_id"])
        wait_for_end(channel, queue, progress, command["message_id"], arguments.timeout)
    except pika.exceptions.UnroutableError:
        sys.exit(f"no fetch-page queue is bound under the prefix {arguments.prefix}")
    except pika.exceptions.ChannelClosedByBroker as closed:
        sys.exit(f"the broker refused: {closed.reply_text}")
    finally:
        if connection.is_open:
            connection.close()
    if progress.failure is not None:
        print(f"job {progress.job_id} failed: {progress.failure}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    if progress.completed is None:
        print(f"job {progress.job_id}: no end within {arguments.timeout:g} s", file=sys.stderr)
        sys.exit(EXIT_TIMED_OUT)
    print(json.dumps(summary(progress)) if arguments.json else summary_line(progress))


if __name__ == "__main__":
    main()
