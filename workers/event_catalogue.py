"""The events the relay publishes: each type's subject and the data fields its envelope
carries, the personal ones marked. The README's table ("Consuming events from NATS") is
printed from here: `python -m arqium.workers.event_catalogue`."""

import dataclasses
import importlib
import inspect
import pkgutil
from dataclasses import dataclass

from eventsourcing.domain import CanInitAggregate

from arqium import domain
from arqium.domain.agents.application import AgentsApplication
from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.components.application import ComponentsApplication
from arqium.domain.files.application import FilesApplication
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.shared import ArqiumAggregate
from arqium.infra.stream import SUBJECT_ROOT
from arqium.workers.relay import ENVELOPE_FIELDS, UNPUBLISHED_FIELDS, WITHHELD, snake

APPLICATIONS = (IdentityApplication, MemoryApplication, SessionsApplication,
                LedgerApplication, AnalyticsApplication, PlatformApplication,
                FilesApplication, ComponentsApplication, AgentsApplication)
# Published fields that are, or may hold, personal data: what users write is the data
# consumers are there for; nothing else personal is published.
PERSONAL = {"name", "content", "state", "changes", "context", "data", "metadata", "tags",
            "title", "description", "label", "components", "key", "handle",
            "properties", "filename", "preview", "input", "parameters",
            "output", "error"}


@dataclass(frozen=True)
class PublishedEvent:
    type: str
    subject: str
    fields: tuple[str, ...]
    withheld: tuple[str, ...]


def published_events() -> list[PublishedEvent]:
    return [published(app.name, event_class) for app in APPLICATIONS
            for aggregate in aggregates_of(app.name)
            for event_class in events_of(aggregate)]


def published(app_name: str, event_class: type) -> PublishedEvent:
    aggregate, _, name = event_class.__qualname__.rpartition(".")
    fields = [f.name for f in dataclasses.fields(event_class)
              if f.name not in ENVELOPE_FIELDS and f.name != "originator_topic"]
    hidden = UNPUBLISHED_FIELDS | WITHHELD.get(event_class.__qualname__, set())
    return PublishedEvent(event_class.__qualname__,
                          f"{SUBJECT_ROOT}.{app_name}.{snake(aggregate)}.{snake(name)}",
                          tuple(f for f in fields if f not in hidden),
                          tuple(f for f in fields if f in hidden))


def aggregates_of(app_name: str) -> list[type]:
    """The aggregates of a bounded context (package arqium.domain.<app_name>)."""
    for module in pkgutil.walk_packages(domain.__path__, f"{domain.__name__}."):
        importlib.import_module(module.name)
    found, unseen = [], list(ArqiumAggregate.__subclasses__())
    while unseen:
        aggregate = unseen.pop(0)
        unseen.extend(aggregate.__subclasses__())
        if aggregate.__module__.startswith(f"arqium.domain.{app_name}."):
            found.append(aggregate)
    return sorted(found, key=lambda a: a.__qualname__)


def events_of(aggregate: type) -> list[type]:
    """The aggregate's event classes, but its unused default `Created` (when its
    creation event has a name of its own) and the `Event` base."""
    events = [c for name, c in vars(aggregate).items()
              if inspect.isclass(c) and issubclass(c, ArqiumAggregate.Event)
              and c.__qualname__ == f"{aggregate.__qualname__}.{name}" and name != "Event"]
    named_creation = any(issubclass(c, CanInitAggregate) and c is not aggregate.Created
                         for c in events)
    return [c for c in events if not (named_creation and c is aggregate.Created)]


def markdown_table() -> str:
    rows = ["| type | subject | data fields (* personal) | withheld |",
            "|---|---|---|---|"]
    for event in published_events():
        fields = ", ".join(f"`{f}`*" if f in PERSONAL else f"`{f}`" for f in event.fields)
        withheld = ", ".join(f"`{f}`" for f in event.withheld)
        rows.append(f"| {event.type} | `{event.subject}` | {fields or '—'} | "
                    f"{withheld or '—'} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
