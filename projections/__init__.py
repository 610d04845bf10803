"""Read models, each in one module with its projection, view and SQL. Every projection
is listed in `catalog`; this package imports none of them, so that a command about one
read model (a rebuild) imports that one alone."""

import importlib

# The module of each projection, by name (a test keeps it equal to catalog.PROJECTIONS).
MODULE_OF = {
    "memory_items": "memory_items", "memory_embeddings": "memory_embeddings",
    "contexts": "contexts", "users": "users", "login_sessions": "login_sessions",
    "api_keys": "api_keys", "chat_sessions": "chat_sessions",
    "session_messages": "session_messages", "ledger_objects": "ledger_objects",
    "vaults": "vaults", "platform_config": "platform_config",
    "platform_modules": "platform_modules", "files": "files", "components": "components",
    "document_chunks": "document_chunks",
    "document_chunk_embeddings": "document_chunk_embeddings",
    "agent_invocations": "agent_invocations",
    **dict.fromkeys(("identity_activity", "memory_activity", "ledger_activity",
                     "sessions_activity", "tracked_events", "platform_activity", "usage"),
                    "activity"),
}


def projection_named(name: str) -> type:
    """The projection of that name, its module alone imported."""
    if name not in MODULE_OF:
        known = ", ".join(MODULE_OF)
        raise SystemExit(f"unknown projection {name!r}; known projections: {known}")
    module = importlib.import_module(f"{__name__}.{MODULE_OF[name]}")
    return next(value for value in vars(module).values()
                if isinstance(value, type) and value.__module__ == module.__name__
                and getattr(value, "name", None) == name)
