"""What ARQIUM's identity routes answer in `data` (documentation only)."""

from pydantic import BaseModel


class UserView(BaseModel):
    id: str
    email: str
    name: str
    roles: list[str]
    created_at: str | None


class TokenPairView(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str


class LoginView(TokenPairView):
    user: UserView


class LoggedOut(BaseModel):
    logged_out: bool


class TokenValidity(BaseModel):
    valid: bool
    user_id: str | None
    roles: list[str]
    expires_at: str | None


class ApiKeyView(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str | None


class IssuedApiKey(ApiKeyView):
    key: str


class ApiKeyList(BaseModel):
    items: list[ApiKeyView]


class Revoked(BaseModel):
    id: str
    revoked: bool
