"""ARQIUM API keys: issue (the secret is shown once), list, revoke."""

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import ApiKeys, IdentityApp, Waits
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import PageDep, ok
from arqium.api.common.shapes import iso
from arqium.api.v1.documents import ApiKeyList, IssuedApiKey, Revoked
from arqium.projections.api_keys import ApiKeysProjection

router = APIRouter(prefix="/api/v1/api-keys", tags=["ARQIUM: API keys"])

class IssueApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=list, max_length=50)


@router.post("", status_code=201, summary="Issue an API key (its secret is shown only now)",
             responses=enveloped(201, IssuedApiKey))
def issue(body: IssueApiKey, caller: CurrentCaller, identity: IdentityApp, waits: Waits):
    key, secret, position = identity.issue_api_key(caller.user_id, body.name,
                                                   body.scopes, cause=caller.cause)
    waits.reached(ApiKeysProjection, position)  # so the key works from the first request
    return ok({"id": str(key.id), "name": key.name, "key": secret, "prefix": key.prefix,
               "scopes": key.scopes, "created_at": iso(key.created_at)},
              status=201, position=(identity.name, position))


@router.get("", summary="Your API keys (never their secrets)",
            responses=enveloped(200, ApiKeyList))
def list_keys(caller: CurrentCaller, keys: ApiKeys, page: PageDep):
    rows, total = keys.for_user(caller.user_id, page.limit, page.offset)
    return ok({"items": [{"id": str(row["id"]), "name": row["name"], "prefix": row["prefix"],
                          "scopes": row["scopes"], "created_at": iso(row["created_at"])}
                         for row in rows]}, pagination=page.meta(total))


@router.delete("/{key_id}", summary="Revoke one of your API keys",
               responses=enveloped(200, Revoked))
def revoke(key_id: UUID, caller: CurrentCaller, identity: IdentityApp, waits: Waits):
    position = identity.revoke_api_key(caller.user_id, str(key_id), cause=caller.cause)
    waits.reached(ApiKeysProjection, position)  # so the key is refused from now on
    return ok({"id": str(key_id), "revoked": True}, position=(identity.name, position))
