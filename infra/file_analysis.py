"""What an uploaded file holds, measured from a local copy of its bytes: pure functions
from a path and a content type to a JSON-able dict, or Unreadable with a short reason.

Memory stays bounded whatever the size: text and CSV are read in pieces of at most
PIECE_BYTES (a longer CSV line is refused), a CSV column counts at most DISTINCT_CAP
distinct values (`distinct_capped` says when it stopped) and at most MAX_COLUMNS columns
are described. JSON is parsed whole (the standard library has no streaming parser) and
described to MAX_DEPTH levels and MAX_PATHS paths. Images are measured from their
header and checked without decoding their pixels. The process running these
(infra/analysis_sandbox.py) bounds their time and memory."""

import codecs
import csv
import json
import math
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf.errors import PyPdfError

from arqium.infra.document_text import PDF, pages

PIECE_BYTES = 1024 * 1024
DISTINCT_CAP = 10_000
MAX_COLUMNS = 200
# What a result shows of a name or value: it is stored in an event and sent to NATS,
# so its size stays bounded (some 200 KB at most) whatever the file holds.
MAX_SHOWN_CHARS = 100  # of a column's name, a text column's min and max, a JSON key
MAX_KEY_CHARS = 50  # of one key within a JSON path
MAX_PATH_CHARS = 250
MAX_DEPTH = 32
MAX_PATHS = 500
MAX_KEYS = 100
NULLS = {"", "null", "none", "na", "n/a"}
BOOLEANS = {"true": True, "false": False, "yes": True, "no": False}
INTEGER = re.compile(r"[+-]?\d{1,4000}")  # int() reads at most 4300 digits
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?")
DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
DELIMITERS = ",;\t|"
WORD = re.compile(r"\S+")
INVALID_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, surrogate-escaped
HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
FENCE = re.compile(r" {0,3}(```|~~~)")
LABELS = {"csv": "CSV", "json": "JSON", "text": "text", "markdown": "Markdown",
          "pdf": "PDF", "image": "image"}


class Unreadable(ValueError):
    """The file cannot be analysed; the message says why, in a few words."""


def analyse(path: Path, content_type: str) -> dict:
    """The figures of the file at `path`, of the kind its content type names."""
    kind, analyser = _analyser(content_type)
    try:
        return {"kind": kind, **analyser(path)}
    except (Unreadable, MemoryError):
        raise
    except RecursionError:
        raise Unreadable(f"this {LABELS[kind]} is nested too deeply to read") from None
    except Exception as error:  # a parser's own error on input it cannot read
        raise Unreadable(f"not a readable {LABELS[kind]}: {_first_line(error)}") from error


def _analyser(content_type: str) -> tuple[str, Callable[[Path], dict]]:
    if content_type.startswith("image/"):
        return "image", image_figures
    kinds = {"text/csv": ("csv", csv_figures), "application/json": ("json", json_figures),
             "text/plain": ("text", text_figures),
             "text/markdown": ("markdown", markdown_figures), PDF: ("pdf", pdf_figures)}
    if content_type not in kinds:
        raise Unreadable(f"no analysis for {content_type}")
    return kinds[content_type]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


# Text and Markdown

def text_pieces(path: Path, errors: str = "surrogateescape") -> Iterator[str]:
    """The file's text, a line (or PIECE_BYTES of a longer one) at a time, decoded as
    UTF-8 (a leading byte-order mark dropped); undecodable bytes surrogate-escaped (or
    as `errors` says)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors=errors)
    with open(path, "rb") as file:
        while piece := file.readline(PIECE_BYTES):
            yield decoder.decode(piece)
        yield decoder.decode(b"", final=True)


class TextCounts:
    """Lines, words, characters and undecodable bytes of text fed piece by piece."""

    def __init__(self) -> None:
        self.lines = self.words = self.characters = self.invalid_bytes = 0
        self.in_word = False
        self.ends_line = True

    def feed(self, piece: str) -> None:
        if not piece:
            return
        self.characters += len(piece)
        self.lines += piece.count("\n")
        self.invalid_bytes += len(INVALID_BYTE.findall(piece))
        words = len(WORD.findall(piece))
        self.words += words - (1 if words and self.in_word and not piece[0].isspace()
                               else 0)
        self.in_word = not piece[-1].isspace()
        self.ends_line = piece.endswith("\n")

    def figures(self) -> dict:
        unfinished = 0 if self.ends_line else 1  # a last line without its newline
        return {"lines": self.lines + unfinished, "words": self.words,
                "characters": self.characters, "invalid_bytes": self.invalid_bytes}


def text_figures(path: Path) -> dict:
    counts = TextCounts()
    for piece in text_pieces(path):
        counts.feed(piece)
    return counts.figures()


def markdown_figures(path: Path) -> dict:
    """Text figures, and the ATX headings (`#` to `######`) outside fenced code."""
    counts = TextCounts()
    headings = 0
    in_code = False
    for piece in text_pieces(path):
        at_line_start = counts.ends_line
        counts.feed(piece)
        if not at_line_start:
            continue
        if FENCE.match(piece):
            in_code = not in_code
        elif not in_code and HEADING.match(piece):
            headings += 1
    return {**counts.figures(), "headings": headings}


# CSV

def csv_figures(path: Path) -> dict:
    """Rows (after the header), and per column its inferred type and statistics."""
    rows = _csv_rows(path)
    header = next(rows, None)
    if header is None:
        return {"rows": 0, "delimiter": ",", "columns_total": 0, "columns_capped": False,
                "ragged_rows": 0, "columns": []}
    delimiter, names = header
    columns = [Column(name[:MAX_SHOWN_CHARS] or f"column_{number}")
               for number, name in enumerate(names[:MAX_COLUMNS], start=1)]
    count = ragged = 0
    for _, row in rows:
        if not row:
            continue  # a blank line
        count += 1
        ragged += len(row) != len(names)
        for column, value in zip(columns, row):
            column.add(value)
        for column in columns[len(row):]:
            column.add("")  # a short row's missing cells
    return {"rows": count, "delimiter": delimiter, "columns_total": len(names),
            "columns_capped": len(names) > MAX_COLUMNS, "ragged_rows": ragged,
            "columns": [column.figures() for column in columns]}


def _csv_rows(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(delimiter, row) for each row, the header first; the delimiter is the one of
    DELIMITERS the header holds most of (a comma if none)."""
    lines = _csv_lines(path)
    first = next(lines, None)
    if first is None or not first.strip():
        return
    delimiter = max(DELIMITERS, key=lambda candidate: (first.count(candidate),
                                                       candidate == ","))
    for row in csv.reader(_chained(first, lines), delimiter=delimiter):
        yield delimiter, row


def _csv_lines(path: Path) -> Iterator[str]:
    for piece in text_pieces(path, errors="replace"):
        if len(piece) >= PIECE_BYTES and not piece.endswith("\n"):
            raise Unreadable(f"a CSV line is longer than {PIECE_BYTES // 1024} KiB")
        if piece:
            yield piece


def _chained(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


class Column:
    """One CSV column's statistics, gathered value by value in bounded memory: which
    types every value so far fits (integer, number, boolean, date), their ranges (each
    bound kept with its text), and the hashes of at most DISTINCT_CAP distinct values.
    Written for speed: a 50 MB file is some millions of values."""

    def __init__(self, name: str):
        self.name = name
        self.count = self.nulls = 0
        self.integer = self.number = self.boolean = self.date = True  # still fits
        self.low: Any = None  # (number, its text), the same for dates
        self.high: Any = None
        self.int_total = 0  # exact, however large
        self.float_total = 0.0
        self.trues = 0
        self.low_date: Any = None
        self.high_date: Any = None
        self.low_text: str | None = None
        self.high_text: str | None = None
        self.distinct: set[int] = set()
        self.distinct_capped = False

    def add(self, raw: str) -> None:
        value = raw.strip()
        if not value or (len(value) <= 4 and value.lower() in NULLS):
            self.nulls += 1
            return
        self.count += 1
        if len(self.distinct) < DISTINCT_CAP:
            self.distinct.add(hash(value))
        elif not self.distinct_capped and hash(value) not in self.distinct:
            self.distinct_capped = True
        if self.number:
            self._add_number(value)
        if self.boolean:
            self._add_boolean(value)
        if self.date:
            self._add_date(value)
        if self.low_text is None:
            self.low_text = self.high_text = value
        elif value < self.low_text:
            self.low_text = value
        elif value > self.high_text:  # type: ignore[operator]
            self.high_text = value

    def _add_number(self, value: str) -> None:
        number: Any
        if self.integer and INTEGER.fullmatch(value):
            number = int(value)
            self.int_total += number
        elif NUMBER.fullmatch(value):
            self.integer = False
            number = float(value)  # inf beyond a float's range; its text is kept
            self.float_total += number
        else:
            self.integer = self.number = False
            return
        if self.low is None:
            self.low = self.high = (number, value)
        elif number < self.low[0]:
            self.low = (number, value)
        elif number > self.high[0]:
            self.high = (number, value)

    def _add_boolean(self, value: str) -> None:
        truth = BOOLEANS.get(value.lower())
        if truth is None:
            self.boolean = False
        else:
            self.trues += truth

    def _add_date(self, value: str) -> None:
        moment = parsed_date(value)
        if moment is None:
            self.date = False
        elif self.low_date is None:
            self.low_date = self.high_date = (moment, value)
        elif moment < self.low_date[0]:
            self.low_date = (moment, value)
        elif moment > self.high_date[0]:
            self.high_date = (moment, value)

    def type(self) -> str | None:
        """The narrowest type every value fits; None without values."""
        if not self.count:
            return None
        fits = [("integer", self.integer and self.number), ("number", self.number),
                ("boolean", self.boolean), ("date", self.date)]
        return next((kind for kind, fit in fits if fit), "text")

    def figures(self) -> dict:
        kind = self.type()
        low, high, average = self._range(kind)
        return {"name": self.name, "type": kind, "count": self.count, "nulls": self.nulls,
                "min": low, "max": high, "mean": average, "distinct": len(self.distinct),
                "distinct_capped": self.distinct_capped}

    def _range(self, kind: str | None) -> tuple[Any, Any, Any]:
        if kind in ("integer", "number"):
            return (json_number(*self.low), json_number(*self.high),
                    mean(self.int_total, self.float_total, self.count))
        if kind == "boolean":
            return self.trues == self.count, self.trues > 0, self.trues / self.count
        if kind == "date":
            return self.low_date[1], self.high_date[1], None
        if kind == "text":
            return (self.low_text or "")[:MAX_SHOWN_CHARS], (
                self.high_text or "")[:MAX_SHOWN_CHARS], None
        return None, None, None


def parsed_date(value: str) -> datetime | None:
    """A comparable moment for an ISO 8601 date or date-time, else None. Moments with an
    offset compare in UTC; those without as they are."""
    if not DATE.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def json_number(number: Any, text: str) -> Any:
    """An int as it is (exact, however large), a float as it is, and its text when no
    float holds it."""
    return number if isinstance(number, int) or math.isfinite(number) else text


def mean(int_total: int, float_total: float, count: int) -> float | None:
    average = float((Decimal(int_total) + Decimal(float_total)) / count)
    return average if math.isfinite(average) else None


# JSON

def json_figures(path: Path) -> dict:
    """The document's shape: its top type, keys or length, depth, and each path's types
    (count of values, lengths of arrays) to MAX_DEPTH levels and MAX_PATHS paths."""
    try:
        with open(path, "rb") as file:
            document = json.load(file)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError alike
        raise Unreadable(f"not valid JSON: {_first_line(error)}") from None
    shape = Shape()
    shape.walk(document)
    top = {"type": json_type(document)}
    if isinstance(document, dict):
        top["keys"] = [key[:MAX_SHOWN_CHARS] for key in list(document)[:MAX_KEYS]]
    elif isinstance(document, list):
        top["length"] = len(document)
    return {**top, **shape.figures()}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    kinds = {int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return kinds[type(value)]


class Shape:
    """Each path's types and array lengths, gathered without recursion (a deep document
    cannot exhaust the stack here)."""

    def __init__(self) -> None:
        self.paths: dict[str, dict] = {}
        self.depth = 0
        self.paths_capped = False

    def walk(self, document: Any) -> None:
        pending = [(document, "$", 1)]
        while pending:
            value, path, depth = pending.pop()
            self.depth = max(self.depth, depth)
            if depth <= MAX_DEPTH:
                self._record(path, value)
            if isinstance(value, dict):
                pending.extend((item, child_path(path, key), depth + 1)
                               for key, item in value.items())
            elif isinstance(value, list):
                pending.extend((item, f"{path}[]", depth + 1) for item in value)

    def _record(self, path: str, value: Any) -> None:
        figures = self.paths.get(path)
        if figures is None:
            if len(self.paths) >= MAX_PATHS:
                self.paths_capped = True
                return
            figures = self.paths[path] = {"types": [], "count": 0}
        figures["count"] += 1
        kind = json_type(value)
        if kind not in figures["types"]:
            figures["types"] = sorted([*figures["types"], kind])
        if isinstance(value, list):
            lengths = figures.setdefault("lengths", {"min": len(value), "max": len(value)})
            lengths["min"] = min(lengths["min"], len(value))
            lengths["max"] = max(lengths["max"], len(value))

    def figures(self) -> dict:
        return {"depth": self.depth, "depth_capped": self.depth > MAX_DEPTH,
                "paths": dict(sorted(self.paths.items())),
                "paths_capped": self.paths_capped}


def child_path(path: str, key: str) -> str:
    """`$.name` for a plain key, `$["odd key"]` for any other; keys cut at
    MAX_KEY_CHARS, the path at MAX_PATH_CHARS (paths cut alike count as one)."""
    key = key[:MAX_KEY_CHARS]
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"[:MAX_PATH_CHARS]
    return f"{path}[{json.dumps(key)}]"[:MAX_PATH_CHARS]


# PDF and images

def pdf_figures(path: Path) -> dict:
    """Pages and the length of the text pypdf extracts from them."""
    count = characters = with_text = 0
    try:
        for _, text in pages(path, PDF):
            count += 1
            characters += len(text)
            with_text += bool(text.strip())
    except PyPdfError as error:
        raise Unreadable(f"not a readable PDF: {_first_line(error)}") from None
    return {"pages": count, "text_characters": characters, "pages_with_text": with_text}


def image_figures(path: Path) -> dict:
    """Format and size from the image's header; its data checked, never decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                figures = {"format": image.format, "width": image.width,
                           "height": image.height, "mode": image.mode}
                image.verify()
        except Image.DecompressionBombError as error:
            raise Unreadable(f"image too large: {_first_line(error)}") from None
        except (OSError, SyntaxError) as error:  # UnidentifiedImageError is an OSError
            raise Unreadable(f"not a readable image: {_first_line(error)}") from None
    return figures

