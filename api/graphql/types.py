"""The GraphQL types: the fields of the /api/v1 answers, in camelCase."""

from enum import Enum
from typing import NewType

import strawberry
from strawberry.scalars import JSON

DateTime = NewType("DateTime", str)
DATETIME_SCALAR = strawberry.scalar(
    name="DateTime", serialize=str, parse_value=str,
    description="ISO 8601 in UTC, written as the REST answers write it "
                "(2026-01-01T12:00:00Z)")


@strawberry.enum
class MemoryLayer(Enum):
    context = "context"
    temporary = "temporary"
    permanent = "permanent"


@strawberry.enum
class Sensitivity(Enum):
    public = "public"
    confidential = "confidential"
    secret = "secret"
    pii = "pii"


@strawberry.enum
class SearchMode(Enum):
    hybrid = "hybrid"
    semantic = "semantic"
    keyword = "keyword"


@strawberry.type(description="A user's profile, as GET /api/v1/users/profile shows it.")
class User:
    id: strawberry.ID
    email: str
    name: str
    roles: list[str]
    preferences: JSON
    created_at: DateTime | None
    last_login: DateTime | None = None


@strawberry.type(description="Named state with an optimistic version "
                             "(/api/v1/contexts).")
class Context:
    id: strawberry.ID
    name: str
    state: JSON
    session_id: str | None
    version: int
    created_at: DateTime | None
    updated_at: DateTime | None


@strawberry.type(description="A memory item (/api/v1/memory); `score` only on search "
                             "results.")
class MemoryItem:
    id: strawberry.ID
    key: str
    content: JSON | None
    layer: MemoryLayer
    tags: list[str]
    metadata: JSON
    confidence: float | None
    session_id: str | None
    context_id: str | None
    created_at: DateTime | None
    updated_at: DateTime | None
    expires_at: DateTime | None
    score: float | None = None


@strawberry.type(description="A chat or agent session (/api/v1/sessions).")
class Session:
    id: strawberry.ID
    title: str
    status: str
    metadata: JSON
    message_count: int
    created_at: DateTime | None
    updated_at: DateTime | None


@strawberry.type(description="Where a page sits in the whole list, as meta.pagination.")
class Pagination:
    page: int
    per_page: int
    total: int


@strawberry.type
class ContextPage:
    items: list[Context]
    pagination: Pagination


@strawberry.type
class SessionPage:
    items: list[Session]
    pagination: Pagination
