"""One settings object for the whole system (environment prefix ARQIUM_)."""

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class LoggingSettings(BaseSettings):
    """The log level alone, readable where no other setting is needed (and where the
    others may not validate): `arqium ledger verify`, `arqium --help`."""

    model_config = SettingsConfigDict(env_prefix="ARQIUM_", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(LoggingSettings):
    environment: Literal["local", "production"] = "local"
    database_url: str | None = None
    # May carry credentials (nats://user:password@host:4222); never shown in logs.
    nats_url: str | None = None
    nats_creds: Path | None = None  # a NATS .creds file (JWT and nkey seed), if needed
    elasticsearch_url: str | None = None
    elasticsearch_index: str = "arqium-memories"
    data_dir: Path = Path(".arqium")
    host: str = "127.0.0.1"
    port: int = 8000
    # API processes sharing the port: they are stateless, one per core scales reads (rate
    # limits are then per process unless ARQIUM_RATE_LIMIT_STORAGE is shared).
    api_processes: int = Field(default=1, ge=1, le=64)

    jwt_secret: SecretStr | None = None
    # Wraps the owners' data keys and seals stored responses (base64 of 32 bytes); or a
    # file holding it. Neither: `<data_dir>/master.key`, generated once (not production).
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    jwt_issuer: str = "arqium"
    access_token_minutes: float = Field(default=15, gt=0)
    refresh_token_hours: int = Field(default=24, gt=0)
    remember_me_days: int = Field(default=30, gt=0)

    password_min_length: int = Field(default=8, ge=8)
    # Argon2id's cost for new password hashes: RFC 9106's second recommended option by
    # default; production refuses less than OWASP's minimum (2 passes over 19 MiB).
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65536, ge=1024, le=4 * 1024 * 1024)
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None
    oidc_client_id: str | None = None
    oidc_scope: str = "openid profile email"
    oidc_redirect_uri: str | None = None
    # The NEXTAUTH_SECRET of the NextAuth.js (v4) app whose session cookie CEREBRO's
    # clients send (none: a NextAuth cookie is ignored).
    nextauth_secret: SecretStr | None = None

    # An OpenAI-compatible chat-completions endpoint for CEREBRO's /api/chat (none: 503).
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=120, gt=0)
    chat_memory_tokens: int = Field(default=1000, ge=0)  # the working set in a chat prompt

    # The Memory Service v0 face (/v0) without credentials, as its seed runs: for a
    # loopback-only deployment (`arqium up` warns otherwise). Default: same auth as all.
    v0_auth: Literal["required", "open"] = "required"

    rate_limits: Literal["on", "off"] = "on"
    rate_limit_storage: str = "memory://"
    limit_arqium_user: str = "1000/minute"
    limit_arqium_api_key: str = "10000/minute"
    limit_cerebro_auth: str = "5/minute"
    limit_cerebro_chat: str = "30/minute"
    limit_cerebro_general: str = "100/minute"
    limit_cerebro_expensive: str = "20/minute"
    limit_astralbody_user: str = "100/minute"
    limit_astralbody_upload: str = "10/hour"
    limit_login_account: str = "5/minute"
    limit_login_address: str = "30/minute"
    # Seed 002 (/v0) states no limit: the ARQIUM ones, counted apart from /api/v1.
    limit_v0_user: str = "1000/minute"
    limit_v0_api_key: str = "10000/minute"
    # Proxies whose X-Forwarded-For names the client (addresses or CIDRs, comma
    # separated); nobody else's is believed, so no client picks its own address.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # What one GraphQL document may ask for, refused before it runs.
    graphql_max_depth: int = Field(default=10, gt=0)
    graphql_max_aliases: int = Field(default=50, ge=0)
    graphql_max_fields: int = Field(default=1000, gt=0)
    graphql_max_tokens: int = Field(default=10000, gt=0)

    nats_stream: str = "ARQIUM_EVENTS"
    # How often an API process re-checks its open sockets' credentials against the read
    # models, in case NATS lost the event that ended them (it ends them within a second).
    socket_credential_check_seconds: float = Field(default=5.0, gt=0)
    read_wait_seconds: float = Field(default=5.0, gt=0)
    # While commits keep coming, a projector or relay reads the log at most once in this
    # many seconds, so that each of its reads and transactions carries several commits'
    # events (0: once a commit). Reads of one's own writes wait up to that much longer.
    worker_gather_seconds: float = Field(default=0.03, ge=0, le=1)
    # How often an API process stores the requests and searches it counted (analytics
    # usage), and how many hours of counts it keeps while the database refuses them.
    usage_flush_seconds: float = Field(default=10.0, gt=0)
    usage_max_pending_hours: int = Field(default=24, gt=0)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    # An uploaded file (POST /upload, /api/files/upload): counted while it streams in,
    # beside the body limit above, which multipart uploads to those routes skip.
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    # How long a signed download URL (CEREBRO's `url`) works.
    signed_url_seconds: int = Field(default=3600, gt=0)
    # The blob_sweep worker's rounds, and how long a blob no file holds is kept: longer
    # than an upload takes from storing its bytes to recording them.
    blob_sweep_seconds: float = Field(default=600.0, gt=0)
    blob_grace_seconds: float = Field(default=3600.0, ge=0)
    # The file_analysis worker: how often it looks for files to analyse (it is also woken
    # by new files events), how many it analyses at once (each in a process of its own,
    # so at most that many cores busy), and the bounds of one file's analysis: processor
    # seconds (a busy machine slows it without failing it) and address space.
    analysis_poll_seconds: float = Field(default=0.5, gt=0)
    analysis_processes: int = Field(default=2, ge=1, le=64)
    analysis_cpu_seconds: float = Field(default=120.0, gt=0)
    analysis_memory_mb: int = Field(default=1024, ge=128)
    # How far the threads that embed (memories, document chunks) yield the processor:
    # their nice value (0-19; 0 = as any other). Embedding is the heaviest work there
    # is, and it can wait: requests and the other read models go first.
    embedding_niceness: int = Field(default=10, ge=0, le=19)
    # Inferences the embedding workers run at once, one thread each (at that nice value):
    # two embed a backlog about twice as fast as one where a core is idle, and cost the rest
    # little where none is, as they take only what nobody else wants (README,
    # "Performance").
    embedding_threads: int = Field(default=2, ge=1, le=64)
    # The share of the machine's processor the embedding workers leave idle: they pace
    # their inferences by what the rest of the machine uses (Linux). A virtual machine
    # busy on every CPU is held back by its host, all of it ~100 ms at a time (README,
    # "Performance"). 0: no pacing, they take all the idle processor there is.
    embedding_headroom: float = Field(default=0.1, ge=0, lt=1)
    # How the model computes: "float" as packaged, or "int8" (about twice as fast, its
    # vectors ~0.99 cosine of the float ones and its ranking a little worse: README,
    # "Performance"). The API and every worker must agree; rebuild the embedding read
    # models after changing it.
    embedding_precision: Literal["float", "int8"] = "float"
    # File bytes in an S3-compatible bucket when endpoint and bucket are set (else under
    # <data_dir>/blobs); credentials as the store wants them.
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = "blobs/"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # The knowledge base (CEREBRO's RAG): documents cut into chunks of this many MiniLM
    # tokens, each sharing `overlap` tokens with the one before; at most this many chunks
    # of one file (embedding a chunk takes 0.1-0.3 s of a core: a bound keeps one huge file
    # from holding the embeddings worker for long; text past it is not searched).
    rag_chunk_tokens: int = Field(default=200, ge=16, le=250)
    rag_chunk_overlap: int = Field(default=40, ge=0)
    rag_max_chunks_per_file: int = Field(default=500, gt=0)
    # A caller's same question answered again from this process's cache (0: never),
    # until the caller's knowledge base changes.
    rag_cache_seconds: float = Field(default=60.0, ge=0)
    # The retrieval's circuit breaker: open after this many failures or timeouts in a
    # row, for the cool-down; the first request after it is the trial.
    rag_breaker_failures: int = Field(default=5, gt=0)
    rag_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    rag_timeout_seconds: float = Field(default=2.0, gt=0)
    max_json_depth: int = Field(default=32, ge=1, le=256)  # nesting of a JSON body
    context_ttl_minutes: int = Field(default=15, gt=0)
    temporary_ttl_minutes: int = Field(default=10080, gt=0)
    expiry_interval_seconds: float = Field(default=10.0, gt=0)
    ledger_digest_seconds: float = Field(default=300.0, gt=0)  # between ledger seals
    promotion_threshold: float = Field(default=0.8, ge=0, le=1)
    # A request with an Idempotency-Key holds its key this long, renewed while it runs;
    # a retry after a crash waits at most this long before it takes the key over.
    idempotency_lease_seconds: float = Field(default=5.0, gt=0)
    # The connections of one process (an API process, or the worker process, whose
    # workers share them): its pool keeps db_pool_size open and opens up to
    # db_pool_max_overflow more under load; the worker process holds 2 more (advisory
    # locks, LISTEN). The defaults fit one API process and the workers in 18.
    db_pool_size: int = Field(default=2, gt=0)
    db_pool_max_overflow: int = Field(default=6, ge=0)
    # How long a request waits for a pooled connection before it answers 503 (whole
    # seconds: the library reads an integer).
    db_pool_timeout_seconds: int = Field(default=2, gt=0)
    # A session that leaves a transaction idle this long is ended by the server, so a
    # stalled process cannot hold the event store's table lock for long (whole seconds:
    # the library reads an integer). Raise it on a host that stalls processes longer.
    db_idle_in_transaction_seconds: int = Field(default=5, gt=0)
    group_commit: bool = True
    # A failing worker is retried after 1 s, then twice as long each time, at most this
    # long (the other workers keep moving meanwhile).
    worker_retry_max_seconds: float = Field(default=60.0, gt=0)
    # The browser origins allowed to call the API (CORS), comma separated; `*` stands
    # for any host labels (`https://*.astralbody.com`) or any port (`http://localhost:*`).
    cors_origins: Annotated[list[str], NoDecode] = ["http://localhost:*",
                                                    "https://*.astralbody.com"]

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _addresses_or_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for entry in value if isinstance(value, list) else []:
            ipaddress.ip_network(entry, strict=False)  # ValueError names a bad entry
        return value

    @model_validator(mode="after")
    def _overlap_within_chunk(self) -> "Settings":
        if self.rag_chunk_overlap >= self.rag_chunk_tokens:
            raise ValueError("ARQIUM_RAG_CHUNK_OVERLAP must be smaller than "
                             "ARQIUM_RAG_CHUNK_TOKENS")
        return self

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

    @model_validator(mode="after")
    def _refuse_default_master_key_in_production(self) -> "Settings":
        if self.environment == "production" and not (self.master_key
                                                      or self.master_key_file):
            raise ValueError(
                "ARQIUM_MASTER_KEY (try: openssl rand -base64 32) or "
                "ARQIUM_MASTER_KEY_FILE must be set when ARQIUM_ENVIRONMENT=production: "
                "the key that wraps the data keys must not be generated beside the data")
        return self

    @model_validator(mode="after")
    def _refuse_weak_password_hashing_in_production(self) -> "Settings":
        if self.environment == "production" and (
                self.password_hash_time_cost < 2 or self.password_hash_memory_kib < 19456):
            raise ValueError(
                "ARQIUM_PASSWORD_HASH_TIME_COST must be at least 2 and "
                "ARQIUM_PASSWORD_HASH_MEMORY_KIB at least 19456 (19 MiB) when "
                "ARQIUM_ENVIRONMENT=production (the defaults, 3 and 65536, are safe)")
        return self

    def rate_limit_items(self) -> dict[str, str]:
        """Each named limit (ARQIUM_LIMIT_<NAME>), e.g. {"arqium_user": "1000/minute"}."""
        return {name.removeprefix("limit_"): value for name, value in self.model_dump().items()
                if name.startswith("limit_")}
