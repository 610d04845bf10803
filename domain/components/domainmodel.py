"""Components: what a user saved of a rendered answer (a grid, a chart, a table ...),
and components made by combining others."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Invalid, NotFound

TYPES = ("grid", "chart", "table", "card", "text", "list")
MERGE, STACK = "merge", "stack"
STRATEGIES = (MERGE, STACK)
MAX_TITLE_LENGTH = 200
MAX_DATA_BYTES = 1024 * 1024
MAX_PREVIEW_BYTES = 256 * 1024
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MIN_SOURCES, MAX_SOURCES = 2, 20


class ComponentNotFound(NotFound):
    pass


class Component(ArqiumAggregate):
    """A saved component; a combined one also names the components it came from."""

    class Saved(ArqiumAggregate.Created):
        owner_id: str
        title: str
        type: str
        data: Any
        preview: str | None
        tags: list[str]
        at: datetime

    class Combined(Saved):
        sources: list[UUID]
        strategy: str

    def __init__(self, owner_id: str, title: str, type: str, data: Any,
                 preview: str | None, tags: list[str], at: datetime,
                 sources: Sequence[UUID] = ()):
        self.owner_id = owner_id
        self.title = title
        self.type = type
        self.data = data
        self.preview = preview
        self.tags = list(tags)
        self.saved_at = at
        self.sources = list(sources)
        self.deleted = False

    @classmethod
    def save(cls, id: UUID, owner_id: str, draft: dict, at: datetime) -> "Component":
        """A new component from a draft {title, type, data, preview, tags}."""
        check_draft(draft)
        return cls._create(cls.Saved, id=id, owner_id=owner_id, **draft, at=at)

    @classmethod
    def combine(cls, id: UUID, sources: Sequence["Component"], strategy: str,
                at: datetime) -> "Component":
        """One component holding the sources' contents, as `strategy` lays them out."""
        check_strategy(strategy)
        check_source_count(len(sources))
        draft = combined_draft(sources, strategy)
        check_draft(draft)
        return cls._create(cls.Combined, id=id, owner_id=sources[0].owner_id, **draft,
                           at=at, sources=[s.id for s in sources], strategy=strategy)

    def delete(self, at: datetime) -> None:
        self._deleted(at=at)

    @event("Deleted")
    def _deleted(self, at: datetime) -> None:
        self.deleted = True

    def content(self) -> dict:
        """What a combination holds of this component."""
        return {"id": str(self.id), "title": self.title, "type": self.type,
                "data": self.data}


class ComponentsOwner(ArqiumAggregate):
    """An owner's components as a whole: forgetting it removes them from every read
    model (the events stay in the history)."""

    @staticmethod
    def create_id(owner_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:components-owner:{owner_id}")

    @event("Forgotten")
    def __init__(self, owner_id: str, at: datetime):
        self.owner_id = owner_id


def combined_draft(sources: Sequence[Component], strategy: str) -> dict:
    """merge: one grid whose children are the sources' contents in order, a grid's own
    children spliced in; stack: one list whose items are the sources' contents."""
    if strategy == MERGE:
        children = [child for source in sources for child in grid_children(source)]
        kind, data = "grid", {"children": children}
    else:
        kind, data = "list", {"items": [source.content() for source in sources]}
    title = "Combined: " + ", ".join(source.title for source in sources)
    if len(title) > MAX_TITLE_LENGTH:
        title = title[:MAX_TITLE_LENGTH - 1] + "…"
    tags = list(dict.fromkeys(tag for source in sources for tag in source.tags))
    return {"title": title, "type": kind, "data": data, "preview": None,
            "tags": tags[:MAX_TAGS]}


def grid_children(source: Component) -> list[Any]:
    """A grid's children (data.children), any other component's content."""
    if source.type == "grid" and isinstance(source.data, dict) \
            and isinstance(source.data.get("children"), list):
        return list(source.data["children"])
    return [source.content()]


def check_draft(draft: dict) -> None:
    check_title(draft["title"])
    check_type(draft["type"])
    check_data(draft["data"])
    check_preview(draft["preview"])
    check_tags(draft["tags"])


def check_title(title: str) -> None:
    if not title.strip() or len(title) > MAX_TITLE_LENGTH:
        raise Invalid(f"title must be 1 to {MAX_TITLE_LENGTH} characters, not all blank",
                      field="title")


def check_type(kind: str) -> None:
    if kind not in TYPES:
        raise Invalid(f"type must be one of {', '.join(TYPES)}", field="type")


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise Invalid(f"strategy must be one of {', '.join(STRATEGIES)}", field="strategy")


def check_data(data: Any) -> None:
    """At most MAX_DATA_BYTES once serialized as compact JSON."""
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise Invalid(f"data must be at most {MAX_DATA_BYTES} bytes as JSON (this is "
                      f"{size})", field="data")


def check_preview(preview: str | None) -> None:
    """An HTML string, or a data URI of an image."""
    if preview is None:
        return
    if len(preview.encode()) > MAX_PREVIEW_BYTES:
        raise Invalid(f"preview must be at most {MAX_PREVIEW_BYTES} bytes",
                      field="preview")
    if preview.startswith("data:") and not preview.startswith("data:image/"):
        raise Invalid("a data URI preview must be an image (data:image/...)",
                      field="preview")


def check_tags(tags: list[str]) -> None:
    if len(tags) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} tags", field="tags")
    if any(not tag.strip() or len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise Invalid(f"each tag must be 1 to {MAX_TAG_LENGTH} characters, not all blank",
                      field="tags")


def check_source_count(count: int) -> None:
    if not MIN_SOURCES <= count <= MAX_SOURCES:
        raise Invalid(f"component_ids must name {MIN_SOURCES} to {MAX_SOURCES} components",
                      field="component_ids")


def check_distinct(ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        raise Invalid("component_ids must not repeat an id", field="component_ids")


def check_target_count(target_count: int, count: int) -> None:
    if not 1 <= target_count < count:
        raise Invalid(f"target_count must be at least 1 and less than the {count} "
                      "components named", field="target_count")


def condensed_groups(components: Sequence[Component], target_count: int
                     ) -> list[list[Component]]:
    """The components gathered into `target_count` groups, pair by pair: each step joins
    the two groups of the same type if any, then sharing the most tags, then the first
    in the given order (the later group joins the earlier one, keeping its place)."""
    groups = [[component] for component in components]
    while len(groups) > target_count:
        _, i, j = min((affinity(groups[i], groups[j]), i, j)
                      for i in range(len(groups)) for j in range(i + 1, len(groups)))
        groups[i] = groups[i] + groups.pop(j)
    return groups


def affinity(first: list[Component], second: list[Component]) -> tuple[int, int]:
    """Smaller is closer: a different type counts first, fewer shared tags next."""
    shared = {t for c in first for t in c.tags} & {t for c in second for t in c.tags}
    return (0 if group_type(first) == group_type(second) else 1, -len(shared))


def group_type(group: list[Component]) -> str:
    """Its members' type when they share one, else a grid (what merging them makes)."""
    types = {component.type for component in group}
    return types.pop() if len(types) == 1 else "grid"
