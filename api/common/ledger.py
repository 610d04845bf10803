"""Whose ledger objects a caller reads, on every face that shows the ledger; the ARQIUM
face's ledger commands and how it shows what they did."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.common.exact_json import within_limit
from arqium.api.common.validation import Version
from arqium.domain.ledger.domainmodel import (
    MAX_ACTION_LENGTH,
    MAX_TYPE_NAME_LENGTH,
    LedgerObject,
)
from arqium.infra.security import Principal

WHOLE_LEDGER_ROLES = ("auditor", "admin")


def reader(principal: Principal) -> str | None:
    """Whose objects a caller reads: auditors and admins the whole ledger (None)."""
    if any(role in principal.roles for role in WHOLE_LEDGER_ROLES):
        return None
    return principal.user_id


class CreateLedgerObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_name: str = Field(min_length=1, max_length=MAX_TYPE_NAME_LENGTH)
    data: dict[str, Any]

    _data_limit = field_validator("data")(lambda value: within_limit(value, "data"))


class TransactLedgerObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=1, max_length=MAX_ACTION_LENGTH)
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    expected_version: Version | None = None

    _data_limit = field_validator("data", "metadata")(
        lambda value, info: within_limit(value, info.field_name))


def object_view(ledger_object: LedgerObject) -> dict:
    """An object as GET /api/v1/ledger/objects/{id} shows it, from the aggregate."""
    return {"id": str(ledger_object.id), "type_name": ledger_object.type_name,
            "data": ledger_object.data, "version": ledger_object.version,
            "updated_at": ledger_object.updated_at.isoformat(),
            "created_at": ledger_object.created_at.isoformat(), "hash": ledger_object.head}


def transaction_view(transacted: LedgerObject, transaction_id: Any,
                     body: TransactLedgerObject, actor: str) -> dict:
    """The transaction just applied, as the object's transactions list shows it."""
    return {"id": str(transaction_id), "object_id": str(transacted.id),
            "version": transacted.version, "action": body.action, "data": body.data,
            "metadata": body.metadata, "actor": actor,
            "recorded_at": transacted.updated_at.isoformat(), "hash": transacted.head}
