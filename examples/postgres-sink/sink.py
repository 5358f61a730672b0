"""Keep PostgreSQL tables in step with the syncs Estafette publishes.

Reads `page.fetched` and `sync.completed` events from a durable quorum queue bound to
`<prefix>.events`, and applies each one in a single database transaction together with
its `message_id`, so a redelivered or replayed event changes nothing. A message is
acknowledged only once its transaction has committed; on any error the transaction is
rolled back and the message goes back to the queue.

Settings come from the environment only: `AMQP_URL`, `DATABASE_URL`,
`ESTAFETTE_PREFIX` and `SINK_QUEUE`. Passwords are never printed.
"""

import argparse
import json
import os
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import pika
import psycopg
from psycopg.types.json import Jsonb

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2f"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_PREFIX = "estafette"
DEFAULT_QUEUE = "producer.postgres-sink"
ROUTING_KEYS = ("page.fetched", "sync.completed")
SCHEMA_VERSION = 1
PREFETCH = 16
POLL_SECONDS = 1.0
PAUSE_AFTER_ERROR_SECONDS = 1.0
DELETION_LISTINGS = ("deleted_dossiers", "pending_deleted_dossiers")

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_messages (
    message_id uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ds_dossiers (
    demarche bigint NOT NULL,
    number bigint NOT NULL,
    record jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (demarche, number)
);
CREATE TABLE IF NOT EXISTS divalto_records (
    source text NOT NULL,
    id text NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS amienscope_events (
    id text PRIMARY KEY,
    record jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_state (
    key text PRIMARY KEY,
    resume_point timestamptz NOT NULL,
    job_id uuid,
    records bigint NOT NULL,
    sync_end text NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now()
);
"""


class UnreadableEvent(Exception):
    """A message that is not an event envelope this sink can read, whatever happens."""


@dataclass(frozen=True)
class Settings:
    """Where to read events and where to write them."""

    amqp_url: str
    database_url: str
    prefix: str
    queue: str

    @classmethod
    def from_environment(cls):
        """The settings from the environment variables, with the local defaults."""
        prefix = os.environ.get("ESTAFETTE_PREFIX") or DEFAULT_PREFIX
        return cls(
            amqp_url=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL,
            database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            prefix=prefix,
            queue=os.environ.get("SINK_QUEUE") or DEFAULT_QUEUE,
        )

    @property
    def exchange(self):
        """The workers' events exchange."""
        return f"{self.prefix}.events"

    def redact(self, text):
        """`text` with the password of either URL replaced by `***`."""
        for url in (self.amqp_url, self.database_url):
            password = urlsplit(url).password
            for spelling in {password, unquote(password or "")} - {None, ""}:
                text = text.replace(spelling, "***")
        return text


def without_password(url):
    """`url` with its password left out, fit to be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


def log(message):
    """Writes one line to stderr at once."""
    print(message, file=sys.stderr, flush=True)


def parse_arguments():
    """The command line: only how long to run; every setting is in the environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--once-idle",
        type=float,
        metavar="SECONDS",
        help="exit 0 once no message has come for this many seconds (default: run forever)",
    )
    return parser.parse_args()


class StopFlag:
    """Set by SIGTERM or SIGINT; the consuming loop checks it between messages."""

    def __init__(self):
        self.raised = False
        signal.signal(signal.SIGTERM, self.raise_flag)
        signal.signal(signal.SIGINT, self.raise_flag)

    def raise_flag(self, _signal_number, _frame):
        """Asks the loop to stop after the message in hand."""
        self.raised = True


def create_tables(database):
    """Creates the sink's tables where they are missing."""
    with database.transaction():
        database.execute(SCHEMA)


def read_envelope(body):
    """The event envelope in `body`, or `UnreadableEvent` when it cannot be one."""
    try:
        envelope = json.loads(body)
        envelope["message_id"] = str(uuid.UUID(envelope["message_id"]))
    except (ValueError, TypeError, KeyError) as error:
        raise UnreadableEvent(f"not an event envelope ({error})") from None
    return envelope


def claim(database, message_id):
    """Records `message_id` as processed; False when it already was."""
    cursor = database.execute(
        "INSERT INTO processed_messages (message_id) VALUES (%s) ON CONFLICT DO NOTHING",
        (message_id,),
    )
    return cursor.rowcount == 1


def apply_event(database, envelope):
    """Applies one event to the tables and returns a line describing what it did."""
    if envelope.get("version") != SCHEMA_VERSION:
        raise ValueError(f"version {envelope.get('version')!r} is not {SCHEMA_VERSION}")
    kind = envelope.get("type")
    if kind == "page.fetched":
        return apply_page(database, envelope)
    if kind == "sync.completed":
        return apply_completion(database, envelope)
    return f"nothing to do for {kind!r}"


def apply_page(database, page):
    """Applies one `page.fetched` of any source."""
    if "demarche" in page:
        stored, deleted = apply_ds_page(database, page)
        where = f"démarche {page['demarche']} {page['listing']}"
    else:
        source = page["source"]
        if source["api"] == "divalto":
            stored, deleted = apply_divalto_page(database, page)
        elif source["api"] == "amienscope":
            stored, deleted = apply_amienscope_page(database, page)
        else:
            raise ValueError(f"unknown offset source {source['api']!r}")
        where = f"{source['api']} offset {page['offset']}"
    return (
        f"page {page['page']} of {where} on {page['connection']}: "
        f"{len(page['records'])} records, {stored} stored, {deleted} deleted"
    )


def upsert_all(database, statement, rows):
    """Runs `statement` for every row of `rows`; returns how many rows it wrote."""
    if not rows:
        return 0
    with database.cursor() as cursor:
        cursor.executemany(statement, rows)
        return cursor.rowcount


def apply_ds_page(database, page):
    """Upserts the dossiers of a `dossiers` page, deletes those of a deletions page.

    A stored dossier is replaced only by a version at least as recent
    (`dateDerniereModification`), so a late page of an older sync cannot undo a newer one.
    """
    demarche = page["demarche"]
    records = page["records"]
    listing = page["listing"]
    if listing in DELETION_LISTINGS:
        numbers = [record["number"] for record in records]
        cursor = database.execute(
            "DELETE FROM ds_dossiers WHERE demarche = %s AND number = ANY(%s)",
            (demarche, numbers),
        )
        return 0, cursor.rowcount
    if listing != "dossiers":
        raise ValueError(f"unknown listing {listing!r}")
    stored = upsert_all(
        database,
        """
        INSERT INTO ds_dossiers (demarche, number, record, updated_at)
        VALUES (%s, %s, %s, %s::timestamptz)
        ON CONFLICT (demarche, number) DO UPDATE
        SET record = EXCLUDED.record, updated_at = EXCLUDED.updated_at
        WHERE ds_dossiers.updated_at <= EXCLUDED.updated_at
        """,
        [
            (demarche, record["number"], Jsonb(record), record["dateDerniereModification"])
            for record in records
        ],
    )
    return stored, 0


def divalto_source(source):
    """What a Divalto query reads, as stable text: `<dhoq>/<recordsql>`."""
    return f"{source['dhoq']}/{source['recordsql']}"


def apply_divalto_page(database, page):
    """Upserts the rows of a Divalto page under their connection and query."""
    source = f"{page['connection']}:{divalto_source(page['source'])}"
    stored = upsert_all(
        database,
        """
        INSERT INTO divalto_records (source, id, record) VALUES (%s, %s, %s)
        ON CONFLICT (source, id) DO UPDATE SET record = EXCLUDED.record
        """,
        [(source, record["id"], Jsonb(record)) for record in page["records"]],
    )
    return stored, 0


def apply_amienscope_page(database, page):
    """Upserts the Amienscope events of a page, deletes its tombstones."""
    records = page["records"]
    gone = [record["id"] for record in records if record["tombstone"]]
    kept = [record for record in records if not record["tombstone"]]
    deleted = database.execute(
        "DELETE FROM amienscope_events WHERE id = ANY(%s)", (gone,)
    ).rowcount
    stored = upsert_all(
        database,
        """
        INSERT INTO amienscope_events (id, record) VALUES (%s, %s)
        ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record
        """,
        [(record["id"], Jsonb(record)) for record in kept],
    )
    return stored, deleted


def sync_key(completion):
    """Which sync a `sync.completed` ends, as the `sync_state` key.

    `ds:<connection>:<démarche>`, `divalto:<connection>:<dhoq>/<recordsql>` (with
    `?<where>(<parameters>)` when the query names a WHERE clause), or
    `amienscope:<connection>:<category, or all>`. An Amienscope source also carries its
    `updated_since`, which changes at every sync and so is not part of the key.
    """
    connection = completion["connection"]
    if "demarche" in completion:
        return f"ds:{connection}:{completion['demarche']}"
    source = completion["source"]
    if source["api"] == "divalto":
        key = f"divalto:{connection}:{divalto_source(source)}"
        where = source.get("where")
        if where:
            key += f"?{where['name']}({where.get('parameters', '')})"
        return key
    if source["api"] == "amienscope":
        return f"amienscope:{connection}:{source.get('category', 'all')}"
    raise ValueError(f"unknown offset source {source['api']!r}")


def to_microseconds(instant):
    """`instant`, an RFC 3339 text, cut to the microseconds PostgreSQL keeps.

    PostgreSQL rounds a finer fraction to the nearest microsecond, which could put a
    resume point after the sync's start; cut, it stays at or before it.
    """
    return re.sub(r"(\.\d{6})\d+", r"\1", instant)


def apply_completion(database, completion):
    """Stores where the sync ended: its resume point, job, record count and end.

    Only a sync that read its whole listing moves the resume point: one that stopped
    early (`page_limit`, a loop guard) or saw the listing drift (`drift_detected`) may
    have missed records, and the next sync must start from the last complete one.
    """
    key = sync_key(completion)
    if completion["end"] != "exhausted" or completion.get("consistency") == "drift_detected":
        return (
            f"sync {key} ended {completion['end']} "
            f"({completion.get('consistency', 'no consistency reported')}): "
            "resume point kept"
        )
    database.execute(
        """
        INSERT INTO sync_state (key, resume_point, job_id, records, sync_end, completed_at)
        VALUES (%s, %s::timestamptz, %s, %s, %s, now())
        ON CONFLICT (key) DO UPDATE
        SET resume_point = EXCLUDED.resume_point, job_id = EXCLUDED.job_id,
            records = EXCLUDED.records, sync_end = EXCLUDED.sync_end,
            completed_at = EXCLUDED.completed_at
        """,
        (
            key,
            to_microseconds(completion["resume_point"]),
            completion.get("job_id"),
            completion["records"],
            completion["end"],
        ),
    )
    return (
        f"sync {key} completed ({completion['end']}): {completion['records']} records, "
        f"resume point {completion['resume_point']}"
    )


class Sink:
    """The database side: one transaction per event, reconnecting when the link broke."""

    def __init__(self, settings):
        self.settings = settings
        self.database = self.connect()
        create_tables(self.database)

    def connect(self):
        """A new database connection; each event runs in a transaction of its own."""
        return psycopg.connect(self.settings.database_url, autocommit=True)

    def handle(self, envelope):
        """Applies `envelope` unless its message id was processed; returns a log line."""
        if self.database.broken or self.database.closed:
            self.database = self.connect()
        message_id = envelope["message_id"]
        kind = envelope.get("type")
        with self.database.transaction():
            if not claim(self.database, message_id):
                return f"skipped {kind} {message_id}: already processed"
            return f"applied {kind} {message_id}: {apply_event(self.database, envelope)}"

    def close(self):
        """Closes the database connection."""
        self.database.close()


def bind_queue(channel, settings):
    """Declares the sink's durable quorum queue and binds it to both event types.

    The exchange is the workers' to declare: it is only checked, first, so that a wrong
    prefix leaves no queue behind.
    """
    channel.exchange_declare(settings.exchange, passive=True)
    channel.queue_declare(
        queue=settings.queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    for routing_key in ROUTING_KEYS:
        channel.queue_bind(
            queue=settings.queue, exchange=settings.exchange, routing_key=routing_key
        )


def settle(channel, sink, method, body):
    """Applies one delivery, then acks it; on an error nacks it back to the queue."""
    try:
        envelope = read_envelope(body)
    except UnreadableEvent as error:
        log(f"dropped a message: {error}")
        channel.basic_nack(method.delivery_tag, requeue=False)
        return
    try:
        line = sink.handle(envelope)
    except Exception as error:  # whatever failed, the event stays for a later try
        log(sink.settings.redact(f"requeued {envelope['message_id']}: {error!r}"))
        channel.basic_nack(method.delivery_tag, requeue=True)
        time.sleep(PAUSE_AFTER_ERROR_SECONDS)
        return
    log(line)
    channel.basic_ack(method.delivery_tag)


def consume(channel, sink, stop, once_idle):
    """Settles deliveries until asked to stop, or until idle for `once_idle` seconds."""
    last_message = time.monotonic()
    deliveries = channel.consume(sink.settings.queue, inactivity_timeout=POLL_SECONDS)
    for method, _properties, body in deliveries:
        if stop.raised:
            break
        if method is not None:
            settle(channel, sink, method, body)
            last_message = time.monotonic()
        elif once_idle is not None and time.monotonic() - last_message >= once_idle:
            log(f"no message for {once_idle:g} s: exiting")
            break
    channel.cancel()


def run(settings, once_idle, stop):
    """Connects both ends, then consumes until told to stop."""
    sink = Sink(settings)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
        try:
            channel = connection.channel()
            bind_queue(channel, settings)
            channel.basic_qos(prefetch_count=PREFETCH)
            log(
                f"consuming {settings.queue} bound to {settings.exchange} "
                f"({', '.join(ROUTING_KEYS)}) from {without_password(settings.amqp_url)} "
                f"into {without_password(settings.database_url)}"
            )
            consume(channel, sink, stop, once_idle)
        finally:
            if connection.is_open:
                connection.close()
    finally:
        sink.close()


def main():
    """Runs the sink; exits 0 when stopped by a signal or after the idle time."""
    arguments = parse_arguments()
    settings = Settings.from_environment()
    stop = StopFlag()
    try:
        run(settings, arguments.once_idle, stop)
    except psycopg.OperationalError as error:
        sys.exit(settings.redact(f"the database cannot be used: {error}"))
    except pika.exceptions.ChannelClosedByBroker as closed:
        sys.exit(settings.redact(f"the broker refused: {closed.reply_text}"))
    except pika.exceptions.AMQPError as error:
        sys.exit(settings.redact(f"the broker connection failed: {error!r}"))
    log("stopped")


if __name__ == "__main__":
    main()
