"""One settings object for the whole system (environment prefix ARQIUM_)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARQIUM_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    database_url: str | None = None
    nats_url: str | None = None
    elasticsearch_url: str | None = None
    data_dir: Path = Path(".arqium")
    host: str = "127.0.0.1"
    port: int = 8000

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "arqium"
    access_token_minutes: int = Field(default=15, gt=0)
    refresh_token_hours: int = Field(default=24, gt=0)
    remember_me_days: int = Field(default=30, gt=0)

    admin_email: str | None = None
    admin_password: SecretStr | None = None

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_scope: str = "openid profile email"
    oidc_redirect_uri: str | None = None

    nats_stream: str = "ARQIUM_EVENTS"
    read_wait_seconds: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    context_ttl_minutes: int = Field(default=15, gt=0)
    temporary_ttl_minutes: int = Field(default=10080, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    group_commit: bool = True

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> "Settings":
        if self.environment == "production":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret) < 32:
                raise ValueError(
                    "ARQIUM_JWT_SECRET must be set to at least 32 random characters "
                    "when ARQIUM_ENVIRONMENT=production (try: openssl rand -hex 32)"
                )
        return self

    def require_services(self) -> tuple[str, str]:
        """The database and NATS URLs, or a clear error naming what to set."""
        missing = [n for n, v in (("ARQIUM_DATABASE_URL", self.database_url),
                                  ("ARQIUM_NATS_URL", self.nats_url)) if not v]
        if missing:
            raise SystemExit(
                f"{' and '.join(missing)} must be set (or use `arqium up`, "
                "which starts embedded services)"
            )
        return self.database_url, self.nats_url
