"""ARQIUM identity: register and log in."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SystemDep, anonymous_cause
from api.faces.shapes import iso
from api.v1.envelope import ok
from domain.identity.domainmodel import User
from domain.shared import acting
from infra.security import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["ARQIUM: auth"])


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(min_length=1, max_length=200)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


def user_view(user: User) -> dict:
    return {"id": str(user.id), "email": user.email, "name": user.name,
            "roles": list(user.roles), "created_at": iso(user.registered_at)}


def token_fields(tokens: TokenPair) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in, "token_type": tokens.token_type}


@router.post("/register", status_code=201, summary="Register a user")
def register(body: RegisterRequest, system: SystemDep):
    with acting(anonymous_cause()):
        user, position = system.identity.register(body.email, body.name, body.password)
    tokens = system.tokens.issue(str(user.id), list(user.roles))
    return ok({"user": user_view(user), **token_fields(tokens)}, status=201,
              position=(system.identity.name, position))


@router.post("/login", summary="Log in with e-mail and password")
def login(body: LoginRequest, system: SystemDep):
    user = system.identity.authenticate(body.email, body.password)
    tokens = system.tokens.issue(str(user.id), list(user.roles))
    return ok({"user": user_view(user), **token_fields(tokens)})
