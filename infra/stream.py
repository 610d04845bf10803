"""The JetStream stream every event is published to: its subjects and its creation."""

import logging
from typing import Any

from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger("arqium.stream")

SUBJECT_ROOT = "arqium"
DUPLICATE_WINDOW_SECONDS = 120


async def ensure_stream(js: Any, stream: str) -> None:
    """Create the stream unless it exists; of several processes racing to create it,
    only the one that did says so."""
    try:
        await js.stream_info(stream)
        return
    except NotFoundError:
        pass
    try:
        info = await js.add_stream(name=stream, subjects=[f"{SUBJECT_ROOT}.>"],
                                   duplicate_window=DUPLICATE_WINDOW_SECONDS)
    except BadRequestError:  # created meanwhile by another process, with other settings
        return
    if info.did_create is not False:  # the server answers false to the racers it did not
        log.info("created JetStream stream %s", stream)
