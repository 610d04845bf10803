"""Which services a command uses: ARQIUM_DATABASE_URL / ARQIUM_NATS_URL when set, else
those of the `arqium up` running under the data directory, found in the services file
that `up` writes there (mode 0600) while it runs and removes when it stops."""

import json
import os
from pathlib import Path
from typing import Any

import psutil
from pydantic import ValidationError

from arqium.infra.settings import LoggingSettings, Settings

SERVICES_FILE = "services.json"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and the options given; a bad value stops the command
    with one line naming the variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise SystemExit(explain(error)) from None


def log_level() -> str:
    try:
        return LoggingSettings().log_level
    except ValidationError as error:
        raise SystemExit(explain(error)) from None


def explain(error: ValidationError) -> str:
    problem = error.errors()[0]
    message = problem["msg"].removeprefix("Value error, ")
    if problem["loc"]:
        return f"ARQIUM_{str(problem['loc'][0]).upper()}: {message}"
    return message


def with_services(settings: Settings, nats: bool = True) -> Settings:
    """`settings` with the database URL (and NATS URL) that the environment does not set
    taken from the `arqium up` running under its data directory."""
    if settings.database_url and (settings.nats_url or not nats):
        return settings
    running = running_up(settings.data_dir)
    if running is None:
        needed = "ARQIUM_DATABASE_URL and ARQIUM_NATS_URL" if nats else "ARQIUM_DATABASE_URL"
        raise SystemExit(f"no running `arqium up` under {shown(settings.data_dir)}: start "
                         f"one, pass --data-dir, or set {needed}")
    return settings.model_copy(update={
        "database_url": settings.database_url or running["database_url"],
        "nats_url": settings.nats_url or running["nats_url"]})


def running_up(data_dir: Path) -> dict | None:
    """What the `arqium up` under `data_dir` published, if that process still runs (a
    file left by a killed one, or one whose pid now names another process, is not)."""
    try:
        published = json.loads(services_file(data_dir).read_text())
        process = psutil.Process(published["pid"])
        if abs(process.create_time() - published["started_at"]) < 1:
            return published
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        pass
    return None


def publish_services(settings: Settings) -> None:
    """Write this `arqium up`'s services file, readable by its owner only (the database
    URL may hold a password)."""
    path = services_file(settings.data_dir)
    published = {"database_url": settings.database_url, "nats_url": settings.nats_url,
                 "api_url": f"http://{settings.host}:{settings.port}", "pid": os.getpid(),
                 "started_at": psutil.Process().create_time()}
    draft = path.with_name(f".{SERVICES_FILE}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(published, file)
    os.replace(draft, path)


def withdraw_services(data_dir: Path) -> None:
    """Remove the services file if this process wrote it."""
    path = services_file(data_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def services_file(data_dir: Path) -> Path:
    return Path(data_dir) / SERVICES_FILE


def shown(data_dir: Path) -> str:
    """A data directory as a user would type it (./.arqium, not .arqium)."""
    path = Path(data_dir)
    return str(path) if path.is_absolute() or str(path).startswith("..") else f"./{path}"
