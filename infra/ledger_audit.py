"""The ledger as an auditor handles it outside the server: NDJSON exports, their
offline verification, sealed digests checked against them, and the state of every
object at a time, folded from the events.

Offline verification must run with no server and no database, trusting nothing but
the hash chain: this module imports no database driver, no eventsourcing and none of
our modules but domain.ledger.chain (state_at imports the merge patch when called)."""

import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from tqdm import tqdm

from arqium.domain.ledger import chain

# Canonical JSON writes these fields this way: a line too damaged to parse still names
# its object and version, when those survived.
OBJECT_ID_FIELD = re.compile(rb'"object_id":"([^"]*)"')
VERSION_FIELD = re.compile(rb'"version":(\d+)')


def export_lines(entries: Iterable[dict]) -> Iterator[str]:
    """NDJSON: one entry per line, canonical JSON, numbers exactly as they were sent."""
    for item in entries:
        yield chain.canonical_json(item) + "\n"


def read_entries(lines: Iterable[bytes]) -> Iterator[dict]:
    """The entries of an NDJSON export; a line that is not JSON is an unreadable entry."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield parse_line(number, line)


def parse_line(number: int, line: bytes) -> dict:
    try:
        return chain.exact_json(line)
    except ValueError as error:
        object_id, version = OBJECT_ID_FIELD.search(line), VERSION_FIELD.search(line)
        return {"object_id": object_id and object_id.group(1).decode(errors="replace"),
                "version": version and int(version.group(1)),
                "unreadable": f"line {number} is not JSON ({error})"}


def verify_file(path: str | Path, show_progress: bool = False) -> dict:
    """`chain.verify` over an NDJSON export; a progress bar (bytes read) on stderr."""
    path = Path(path)
    with path.open("rb") as file, progress_bar(path.stat().st_size, "verify", "B",
                                                show_progress) as bar:
        return chain.verify(read_entries(counted(file, bar)))


def counted(lines: IO[bytes], bar: tqdm) -> Iterator[bytes]:
    for line in lines:
        bar.update(len(line))
        yield line


def progress_bar(total: int, desc: str, unit: str, show: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", file=sys.stderr,
                disable=not show, mininterval=0.5)


def describe(result: dict) -> str:
    """One line for people: what `chain.verify` found."""
    if result["ok"]:
        return f"ok: {result['checked_events']} events checked, digest {result['digest']}"
    failure = result["first_failure"]
    return (f"FAILED after {result['checked_events']} good events: object "
            f"{failure['object_id']} version {failure['version']}: {failure['reason']}")


def digest_up_to(entries: Iterable[dict], up_to_position: int, prev_digest: str) -> str:
    """What a seal at `up_to_position` chained to `prev_digest` must say, recomputed
    from an export (see domain/ledger/digest.py)."""
    heads = {}
    for item in entries:  # an unreadable entry has no hash: verification reports it
        if "hash" in item and item["position"] <= up_to_position:
            heads[str(item["object_id"])] = item["hash"]
    return chain.digest_hash(prev_digest, heads.items())


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def recorded_between(entries: Iterable[dict], start: datetime | None = None,
                     end: datetime | None = None) -> Iterator[dict]:
    """The entries recorded from `start` to `end`, both included (None: unbounded), and
    every unreadable one: damage is never filtered out of an audit."""
    for item in entries:
        if "recorded_at" not in item:
            yield item
            continue
        at = datetime.fromisoformat(item["recorded_at"])
        if (start is None or at >= start) and (end is None or at <= end):
            yield item


def state_at(entries: Iterable[dict], until: datetime) -> dict[str, dict]:
    """Every object as it was at `until`: {object_id: {type_name, version, data}},
    folded from its events recorded at or before then."""
    # Imported here: verify_file must not load eventsourcing.
    from arqium.domain.shared import merge_patch

    objects: dict[str, dict] = {}
    for item in recorded_between(entries, end=until):
        check_readable(item)
        if item["type"] == "Created":
            objects[item["object_id"]] = {"type_name": item["type_name"],
                                          "version": item["version"], "data": item["data"]}
        elif known := objects.get(item["object_id"]):
            known["data"] = merge_patch(known["data"], item["data"])
            known["version"] = item["version"]
    return objects


def check_readable(item: dict) -> None:
    if "unreadable" in item:
        raise ValueError(f"object {item.get('object_id')} version {item.get('version')}: "
                         f"{item['unreadable']}")


def state_lines(objects: dict[str, dict]) -> Iterator[str]:
    """JSON lines, one object each, in object id order."""
    for object_id in sorted(objects):
        yield chain.canonical_json({"object_id": object_id, **objects[object_id]}) + "\n"


def state_table(objects: dict[str, dict], data_width: int = 60) -> Iterator[str]:
    """A table for people: id, type, version and the start of the data."""
    yield f"{'object_id':<36}  {'type_name':<20} {'version':>7}  data\n"
    for object_id in sorted(objects):
        state = objects[object_id]
        data = chain.canonical_json(state["data"])
        if len(data) > data_width:
            data = data[:data_width - 1] + "…"
        yield f"{object_id:<36}  {state['type_name'][:20]:<20} {state['version']:>7}  {data}\n"


def write_all(lines: Iterable[str], out: IO[str] | None = None) -> int:
    """Write lines (to stdout by default); how many."""
    out = out or sys.stdout
    count = 0
    for count, line in enumerate(lines, start=1):
        out.write(line)
    return count


def with_progress(entries: Iterable[dict], total: int, desc: str, show: bool
                  ) -> Iterator[dict]:
    """The entries, advancing a bar on stderr by ledger position."""
    with progress_bar(total, desc, "event", show) as bar:
        for item in entries:
            bar.update(max(0, (item.get("position") or 0) - bar.n))
            yield item
        bar.update(max(0, total - bar.n))
