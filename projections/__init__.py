"""Read models, each in one module with its projection, view and SQL."""

from projections.memory_items import MemoryItemsProjection

PROJECTIONS = (MemoryItemsProjection,)


def projection_named(name: str) -> type:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise SystemExit(f"unknown projection {name!r}; known projections: {known}")
