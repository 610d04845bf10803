"""The JetStream stream every event is published to: its subjects and its creation."""

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
from nats.js.api import StreamConfig
from nats.js.errors import APIError, BadRequestError, NotFoundError

log = logging.getLogger("arqium.stream")

SUBJECT_ROOT = "arqium"
DUPLICATE_WINDOW_SECONDS = 120
# The relay's threads of one process check in turn, so that one of them creates (and
# announces) the stream and the others find it.
_one_at_a_time = threading.Lock()


async def ensure_stream(js: Any, stream: str) -> bool:
    """Create the stream unless it exists; whether it takes atomic batches (a stream
    made by an earlier version is allowed them if NATS can: 2.12 and later)."""
    # Polled rather than awaited in a thread: a caller cancelled while it waits must
    # not take the lock afterwards and keep it forever.
    while not _one_at_a_time.acquire(blocking=False):
        await asyncio.sleep(0.01)
    try:
        try:
            config = (await js.stream_info(stream)).config
        except NotFoundError:
            return await _create(js, stream)
        return bool(config.allow_atomic) or await _allow_atomic(js, config)
    finally:
        _one_at_a_time.release()


async def _create(js: Any, stream: str) -> bool:
    try:
        info = await js.add_stream(name=stream, subjects=[f"{SUBJECT_ROOT}.>"],
                                   duplicate_window=DUPLICATE_WINDOW_SECONDS,
                                   allow_atomic=True)
    except BadRequestError:  # created meanwhile by another process, with other settings
        return bool((await js.stream_info(stream)).config.allow_atomic)
    log.info("created JetStream stream %s", stream)
    return bool(info.config.allow_atomic)  # a NATS before 2.12 ignores it


async def _allow_atomic(js: Any, config: StreamConfig) -> bool:
    try:
        info = await js.update_stream(config, allow_atomic=True)
    except (nats.errors.Error, asyncio.TimeoutError) as refusal:
        # A mirror, asynchronous persistence, no right to update it: slower, not wrong.
        log.info("the stream %s takes no atomic batches (%r): events are published one "
                 "at a time", config.name, refusal)
        return False
    return bool(info.config.allow_atomic)


RawMessage = tuple[str, bytes, dict[str, str]]  # subject, payload, headers


@dataclass(frozen=True)
class StagedBatch:
    """An atomic batch the server holds all but the last message of, uncommitted: it
    stores none of them unless the last one, the commit, is sent."""

    batch_id: str
    commit: RawMessage
    size: int


async def stage_atomic(nc: Any, messages: Sequence[RawMessage]) -> StagedBatch:
    """Send all but the last message as one JetStream atomic batch (NATS ADR-50). A batch
    never committed is dropped by the server."""
    batch = uuid.uuid4().hex
    *staged, last = messages
    for sequence, (subject, payload, headers) in enumerate(staged, 1):
        await nc.publish(subject, payload, headers={
            **headers, "Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(sequence)})
    return StagedBatch(batch, last, len(messages))


async def commit_atomic(nc: Any, staged: StagedBatch, timeout: float) -> None:
    """Commit a staged batch: the stream stores all of its messages, in order and
    together, or none. Only the commit is acknowledged: an APIError if the stream
    refused the batch."""
    subject, payload, headers = staged.commit
    reply = await nc.request(subject, payload, timeout=timeout, headers={
        **headers, "Nats-Batch-Id": staged.batch_id,
        "Nats-Batch-Sequence": str(staged.size), "Nats-Batch-Commit": "1"})
    answer = json.loads(reply.data)
    if "error" in answer:
        raise APIError.from_error(answer["error"])


async def publish_atomic(nc: Any, messages: Sequence[RawMessage], timeout: float) -> None:
    """Publish messages as one atomic batch: all of them are stored, or none."""
    await commit_atomic(nc, await stage_atomic(nc, messages), timeout)


async def last_published_position(js: Any, stream: str, application: str) -> int:
    """The position of the last event of `application` the stream holds (0: none), read
    from its Nats-Msg-Id (`<application>:<position>`). One request: the server finds the
    last message on the wildcard subject `arqium.<application>.>` (NATS >= 2.10)."""
    try:
        message = await js.get_last_msg(stream, f"{SUBJECT_ROOT}.{application}.>")
    except NotFoundError:  # no message yet
        return 0
    name, _, position = (message.headers or {}).get("Nats-Msg-Id", "").rpartition(":")
    return int(position) if name == application and position.isdigit() else 0


def shown_nats_url(url: str) -> str:
    """A NATS URL (or a comma-separated list of them) fit for logs and screens: the
    user stays, a password or a token does not."""
    return ",".join(_shown(one.strip()) for one in url.split(","))


def _shown(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    masked = f"{user}:***" if colon else "***"  # without a password, the user is a token
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


def credentials_file(creds: Path | None) -> dict[str, str]:
    """nats.connect's argument for a .creds file (ARQIUM_NATS_CREDS), if one is set."""
    return {"user_credentials": str(creds)} if creds else {}


def prepare_stream(nats_url: str, stream: str, timeout: float = 5.0,
                   creds: Path | None = None) -> bool:
    """Ensure the stream before the processes that use it start (`arqium up`), so that
    they find it rather than race to create it; False if NATS did not answer in time
    (the relay creates it once NATS is back)."""

    async def prepare() -> None:
        connection = await nats.connect(nats_url, connect_timeout=timeout,
                                        allow_reconnect=False, **credentials_file(creds))
        try:
            await ensure_stream(connection.jetstream(), stream)
        finally:
            await connection.close()

    try:
        asyncio.run(asyncio.wait_for(prepare(), timeout))
    except (OSError, asyncio.TimeoutError, nats.errors.Error):
        return False
    return True
