"""Publishes every stored event to NATS JetStream, from the notification log.

Exactly once in the stream, whatever the outage: each message carries Nats-Msg-Id =
<application>:<position> (JetStream drops duplicates in its window), and the events of
a batch go as one JetStream atomic batch, stored together in order or not at all (on a
NATS without atomic batches, each is published once the one before it was
acknowledged), so the stream holds an application's events in order and without a
gap. The relay records its position after each batch; on start, and after any
failure, it also asks the stream for the application's last message and goes on after
whichever is further: an event published but not recorded (PostgreSQL went down in
between, for longer than the duplicate window) is not published again.
"""

import asyncio
import functools
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import nats
import nats.errors
import orjson
import simplejson
from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from nats.js.errors import BadRequestError
from tenacity import retry, retry_if_exception, wait_exponential

from arqium.infra.locks import ACTIVE, worker_lock_name
from arqium.infra.settings import Settings
from arqium.infra.stream import (
    SUBJECT_ROOT,
    RawMessage,
    StagedBatch,
    commit_atomic,
    credentials_file,
    ensure_stream,
    last_published_position,
    publish_atomic,
    stage_atomic,
)
from arqium.system.bootstrap import RELAY_NAME, open_relay_tracking
from arqium.workers.feed import EventFailed, EventFeed
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.relay")

TRANSIENT = (nats.errors.Error, OSError, asyncio.TimeoutError)
# Refused by the server for what the message is: retrying would never end.
REFUSED = (BadRequestError, nats.errors.MaxPayloadError)

PUBLISH_TIMEOUT_SECONDS = 5.0
# One atomic batch at most: JetStream takes up to 1,000 messages, and holds them in
# memory until the commit.
ATOMIC_MESSAGES = 500
ATOMIC_BYTES = 4 * 1024 * 1024
# Room for a message's headers (its Nats-Msg-Id, an atomic batch's) within max_payload,
# which the server applies to the headers and the payload together
HEADER_ROOM = 1024
STANDBY_POLL_SECONDS = 0.5
# Times as the events' own isoformat() (orjson's differs), keys that are not text as text.
ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                   "actor", "correlation_id", "causation_id"}
# What never leaves the event store, whatever the event: secrets and what identifies a
# person's device or login (README, "Consuming events from NATS").
UNPUBLISHED_FIELDS = {"password_hash", "key_hash", "refresh_token_id", "ip_address",
                      "user_agent"}
# And, by event type, personal data no consumer needs: events name users by id only; a
# consumer that needs a user's e-mail or name asks the API for it.
WITHHELD = {
    "User.Registered": {"email", "name"},
    "User.ProfileUpdated": {"name", "preferences"},
    "User.HandleClaimed": {"display_name", "time_zone"},
    "ApiKey.Issued": {"prefix"},  # the start of the secret key
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def envelope(app_name: str, domain_event: Any, position: int) -> tuple[str, dict]:
    """The NATS subject and JSON envelope of one stored event, without the fields no
    consumer may see."""
    event_type = type(domain_event).__qualname__
    subject, unpublished = _kind(app_name, event_type)
    fields = vars(domain_event)
    return subject, {
        "id": f"{app_name}:{position}",
        "type": event_type,
        "subject": str(domain_event.originator_id),
        "position": position,
        "application": app_name,
        "originator_version": domain_event.originator_version,
        "time": domain_event.timestamp.isoformat(),
        "actor": fields.get("actor", "system"),
        "correlation_id": fields.get("correlation_id", ""),
        "causation_id": fields.get("causation_id", ""),
        "data": {k: v for k, v in fields.items() if k not in unpublished},
    }


@functools.lru_cache(maxsize=1024)
def _kind(app_name: str, event_type: str) -> tuple[str, frozenset[str]]:
    """An event type's NATS subject, and the fields its envelope leaves out."""
    aggregate, _, event_name = event_type.rpartition(".")
    left_out = ENVELOPE_FIELDS | UNPUBLISHED_FIELDS | WITHHELD.get(event_type, set())
    return (f"{SUBJECT_ROOT}.{app_name}.{snake(aggregate)}.{snake(event_name)}",
            frozenset(left_out))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _orjson_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # as simplejson writes it: digit for digit
    return _json_default(value)


def payload_of(body: dict) -> bytes:
    """The envelope's JSON. Decimals (ledger amounts) are written digit for digit, never
    as floats. orjson writes it (simplejson's encoding was a third of the relay's time
    when it caught up); simplejson writes what orjson refuses (an integer past 64 bits
    in a client's content)."""
    try:
        return orjson.dumps(body, default=_orjson_default, option=ORJSON_OPTIONS)
    except TypeError:
        return simplejson.dumps(body, default=_json_default, use_decimal=True).encode()


@dataclass(frozen=True)
class Message:
    """An event as the stream stores it."""

    position: int
    subject: str
    payload: bytes
    headers: dict[str, str]

    @property
    def raw(self) -> RawMessage:
        return self.subject, self.payload, self.headers


@dataclass(frozen=True)
class Committing:
    """A batch whose atomic commit is on its way to the stream."""

    batch: list[tuple[Any, Tracking]]
    messages: list[Message]
    reply: asyncio.Future  # the commit's acknowledgement, or its failure


def encoded(app_name: str, batch: list[tuple[Any, Tracking]], max_payload: int
            ) -> tuple[list[Message], EventFailed | None]:
    """The batch's messages up to the first event that cannot be encoded, and that
    event's failure (None if every one could be). An envelope larger than the server's
    `max_payload` goes without its data (`without_data`)."""
    messages = []
    for domain_event, tracking in batch:
        position = tracking.notification_id
        try:
            subject, body = envelope(app_name, domain_event, position)
            payload = payload_of(body)
            if len(payload) > max_payload - HEADER_ROOM:
                payload = payload_of(without_data(body, len(payload), max_payload))
        except (TypeError, ValueError) as error:
            return messages, EventFailed(position, error)
        messages.append(Message(position, subject, payload,
                                {"Nats-Msg-Id": f"{app_name}:{position}"}))
    return messages, None


def without_data(body: dict, size: int, max_payload: int) -> dict:
    """The envelope of an event too large for the NATS server (a memory of a megabyte
    is, on a server of the default 1 MB): all but its data, and how large that made it.
    Refused, it would stop the relay for good; the event store keeps the data, and the
    API serves what the event changed."""
    log.warning("event %s is %d bytes as JSON, over the NATS server's max_payload (%d): "
                "published without its data", body["id"], size, max_payload)
    return {**body, "data": {}, "data_omitted": {"bytes": size, "max_payload": max_payload}}


def atomic_chunks(messages: list[Message]) -> list[list[Message]]:
    """The messages cut into atomic batches of at most ATOMIC_MESSAGES and (unless one
    message alone is larger) ATOMIC_BYTES."""
    chunks: list[list[Message]] = []
    size = 0
    for message in messages:
        if not chunks or len(chunks[-1]) == ATOMIC_MESSAGES \
                or size + len(message.payload) > ATOMIC_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(message)
        size += len(message.payload)
    return chunks


class Relay:
    """Relays one application's events; run one per application (threads)."""

    def __init__(self, application_class: type[Application], settings: Settings,
                 stopping: threading.Event):
        self.application_class = application_class
        self.settings = settings
        self.stopping = stopping
        self.atomic = False  # whether the stream takes atomic batches (known once connected)

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        """Relay while this copy holds the active lock; otherwise stand by."""
        locks = shared.locks.of(worker_lock_name(RELAY_NAME, self.application_class.name))
        while not self.stopping.is_set():
            if locks.try_acquire(ACTIVE):
                try:
                    asyncio.run(self._run(shared, progressed))
                finally:
                    locks.release(ACTIVE)
                return
            self.stopping.wait(STANDBY_POLL_SECONDS)

    async def _run(self, shared: WorkerResources, progressed: Callable[[], None]) -> None:
        app = self.application_class(shared.env)
        tracking = open_relay_tracking(shared.env)
        nc = await self._connect()
        try:
            js = nc.jetstream(timeout=PUBLISH_TIMEOUT_SECONDS)
            self.atomic = await self._retrying(ensure_stream)(js, self.settings.nats_stream)
            after = await self._resume_after(js, app, tracking)
            feed = EventFeed(app, after, self.stopping.is_set, shared.listener,
                             batch_size=ATOMIC_MESSAGES,  # a batch, one atomic batch
                             gather_seconds=self.settings.worker_gather_seconds)
            await self._relay(nc, js, app.name, feed, tracking, progressed)
        finally:
            await nc.close()

    async def _relay(self, nc: Any, js: Any, app_name: str, feed: EventFeed,
                     tracking: Any, progressed: Callable[[], None]) -> None:
        """Publish the feed's batches in order, recording the position after each.
        While a batch's commit is on its way, the next batch is read, encoded and staged,
        so the relay's work on one batch overlaps the server's on the one before; its
        commit waits until the batch before it is stored, so the stream never holds a
        batch after one it failed to store."""
        def record(batch: list[tuple[Any, Tracking]]) -> None:
            tracking.insert_tracking(batch[-1][1])
            progressed()

        batches = feed.batches()
        upcoming = self._read_next(batches)
        committing: Committing | None = None
        try:
            while True:
                if committing:  # settled at once when there is nothing to stage meanwhile
                    await asyncio.wait({upcoming, committing.reply},
                                       return_when=asyncio.FIRST_COMPLETED)
                    if not upcoming.done():
                        await self._settle(nc, js, app_name, committing, record)
                        committing = None
                if not (batch := await upcoming):
                    break
                upcoming = self._read_next(batches)
                messages, failure = encoded(app_name, batch, nc.max_payload)
                staged = None if failure else await self._staged(nc, messages)
                if committing and not await self._settle(nc, js, app_name, committing,
                                                         record):
                    staged = None  # staged before the batch before it was stored: dropped
                committing = None
                if staged:
                    committing = Committing(batch, messages, asyncio.ensure_future(
                        commit_atomic(nc, staged, PUBLISH_TIMEOUT_SECONDS)))
                else:
                    await self._publish(nc, js, app_name, messages, failure)
                    record(batch)
            if committing:
                await self._settle(nc, js, app_name, committing, record)
                committing = None
        finally:
            feed.close()
            with suppress(Exception):  # what it read is read again by the next run
                await upcoming
            if committing:  # unrecorded, it is found in the stream by the next run
                committing.reply.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await committing.reply

    @staticmethod
    def _read_next(batches: Iterator[list[tuple[Any, Tracking]]]) -> asyncio.Future:
        return asyncio.ensure_future(asyncio.to_thread(next, batches, None))

    async def _staged(self, nc: Any, messages: list[Message]) -> StagedBatch | None:
        """The messages staged as one atomic batch; None where they go the careful way
        (a stream without atomic batches, more than one batch's worth, NATS down)."""
        if not self.atomic or len(atomic_chunks(messages)) != 1:
            return None
        try:
            return await stage_atomic(nc, [m.raw for m in messages])
        except TRANSIENT:
            return None

    async def _settle(self, nc: Any, js: Any, app_name: str, committing: Committing,
                      record: Callable[[list[tuple[Any, Tracking]]], None]) -> bool:
        """Wait for a batch's commit and record its position; whether it was stored at
        once. If not, it is published again the careful way, once the stream was asked
        whether it got there (only the acknowledgement may have been lost)."""
        try:
            await committing.reply
            stored = True
        except TRANSIENT:
            await self._publish_atomic(nc, js, app_name, committing.messages, tried=True)
            stored = False
        record(committing.batch)
        return stored

    async def _resume_after(self, js: Any, app: Application, tracking: Any) -> int:
        """The position to relay after: the recorded one, or the stream's last for this
        application if it is further (then recorded at once)."""
        recorded = tracking.max_tracking_id(app.name) or 0
        published = await self._retrying(last_published_position)(
            js, self.settings.nats_stream, app.name)
        if published <= recorded:
            return recorded
        head = app.recorder.max_notification_id() or 0
        if published > head:
            log.warning("the stream %s holds %s events up to position %d, beyond this "
                        "event store's last (%d): it was fed from another database; "
                        "relaying after position %d", self.settings.nats_stream, app.name,
                        published, head, recorded)
            return recorded
        log.info("relay %s: the stream holds every event up to position %d (recorded: "
                 "%d); going on after it", app.name, published, recorded)
        tracking.insert_tracking(Tracking(app.name, published))
        return published

    async def _connect(self) -> Any:
        async def on_error(error: Exception) -> None:
            log.warning("NATS connection problem: %s", error)

        return await self._retrying(nats.connect)(
            self.settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            error_cb=on_error, name=f"arqium-relay-{self.application_class.name}",
            **credentials_file(self.settings.nats_creds))

    def _retrying(self, operation: Any) -> Any:
        """Retry transient NATS failures until they pass or the relay is stopped."""
        def log_and_check_stop(state: Any) -> None:
            log.warning("NATS not available (%s); retrying", state.outcome.exception())
            if self.stopping.is_set():
                raise state.outcome.exception()
        return retry(retry=retry_if_exception(
                         lambda e: isinstance(e, TRANSIENT) and not isinstance(e, REFUSED)),
                     wait=wait_exponential(multiplier=0.1, max=2.0),
                     before_sleep=log_and_check_stop)(operation)

    async def _publish(self, nc: Any, js: Any, app_name: str, messages: list[Message],
                       failure: EventFailed | None) -> None:
        """A batch's encoded messages, in order, then its failure if one of its events
        could not be encoded; one the stream refuses is this worker's failure at its
        position (those before it are published)."""
        if self.atomic:
            for chunk in atomic_chunks(messages):
                await self._publish_atomic(nc, js, app_name, chunk)
        else:
            await self._publish_each(js, app_name, messages)
        if failure:
            raise failure

    async def _publish_atomic(self, nc: Any, js: Any, app_name: str,
                              chunk: list[Message], tried: bool = False) -> None:
        """One atomic batch: all of it is stored, or none (`tried`: sent once already)."""
        try:
            await self._send(js, app_name, chunk[-1].position, lambda: publish_atomic(
                nc, [m.raw for m in chunk], PUBLISH_TIMEOUT_SECONDS), tried)
        except REFUSED:  # for one of them: found, and named, one at a time
            await self._publish_each(js, app_name, chunk)

    async def _publish_each(self, js: Any, app_name: str, messages: list[Message]) -> None:
        """One message at a time, each acknowledged before the next is sent."""
        for m in messages:
            try:
                await self._send(js, app_name, m.position, lambda m=m: js.publish(
                    m.subject, m.payload, headers=m.headers))
            except REFUSED as error:
                raise EventFailed(m.position, error) from error

    async def _send(self, js: Any, app_name: str, last: int,
                    send: Callable[[], Awaitable[Any]], tried: bool = False) -> None:
        """`send()` the messages up to position `last`, retrying transient failures.
        Before each retry the stream is asked whether they got there (only the
        acknowledgement may have been lost): a retry after a long NATS outage, past the
        duplicate window, stores nothing twice (`tried`: sent once already)."""
        tries = int(tried)

        async def attempt() -> None:
            nonlocal tries
            tries += 1
            if tries > 1 and await last_published_position(
                    js, self.settings.nats_stream, app_name) >= last:
                return
            await send()

        await self._retrying(attempt)()
