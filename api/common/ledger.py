"""Whose ledger objects a caller reads, on every face that shows the ledger."""

from arqium.infra.security import Principal

WHOLE_LEDGER_ROLES = ("auditor", "admin")


def reader(principal: Principal) -> str | None:
    """Whose objects a caller reads: auditors and admins the whole ledger (None)."""
    if any(role in principal.roles for role in WHOLE_LEDGER_ROLES):
        return None
    return principal.user_id
