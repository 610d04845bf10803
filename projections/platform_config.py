"""The system configuration (every patch merged) and its profiles, as the Admin API's
/api/config routes show them."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.platform.application import PlatformApplication
from arqium.domain.platform.domainmodel import ConfigProfiles, PlatformConfig
from arqium.domain.shared import merge_patch
from arqium.projections.base import BatchProjection, ReadModel

CREATE_CONFIG = """
CREATE TABLE IF NOT EXISTS {table} (
    id smallint PRIMARY KEY CHECK (id = 1),
    config jsonb NOT NULL,
    last_updated timestamptz NOT NULL
)"""
CREATE_PROFILES = """
CREATE TABLE IF NOT EXISTS {profiles} (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL,
    config jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
)"""

SELECT_CONFIG_FOR_UPDATE = "SELECT config FROM {table} WHERE id = 1 FOR UPDATE"
UPSERT_CONFIG = """
INSERT INTO {table} (id, config, last_updated) VALUES (1, %(config)s, %(at)s)
ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, last_updated = EXCLUDED.last_updated"""
INSERT_PROFILE = """
INSERT INTO {profiles} (id, name, description, config, created_at, updated_at)
VALUES (%(id)s, %(name)s, %(description)s, %(config)s, %(at)s, %(at)s)
ON CONFLICT (id) DO NOTHING"""
UPDATE_PROFILE = """
UPDATE {profiles} SET name = COALESCE(%(name)s, name),
    description = COALESCE(%(description)s, description),
    config = COALESCE(%(config)s, config), updated_at = %(at)s
WHERE id = %(id)s"""
DELETE_PROFILE = "DELETE FROM {profiles} WHERE id = %(id)s"

SELECT_CONFIG = "SELECT config, last_updated FROM {table} WHERE id = 1"
SELECT_PROFILES = """
SELECT id, name, description, config, created_at, updated_at FROM {profiles}
ORDER BY created_at, id"""
SELECT_PROFILE = """
SELECT id, name, description, config, created_at, updated_at FROM {profiles}
WHERE id = %(id)s"""


class PlatformConfigView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_CONFIG), self.sql(CREATE_PROFILES, profiles=self.profiles)])

    @property
    def profiles(self) -> str:
        return f"{self.name}_profiles"

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.profiles]

    def changes(self) -> dict | None:
        """Every change merged ({config, last_updated}), or None if nothing changed."""
        rows = self.query(SELECT_CONFIG)
        return rows[0] if rows else None

    def all_profiles(self) -> list[dict]:
        return self.query(SELECT_PROFILES, identifiers={"profiles": self.profiles})

    def profile(self, profile_id: str) -> dict | None:
        rows = self.query(SELECT_PROFILE, identifiers={"profiles": self.profiles},
                          id=profile_id)
        return rows[0] if rows else None


class PlatformConfigProjection(BatchProjection):
    name = "platform_config"
    application = PlatformApplication
    view_class = PlatformConfigView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other platform events do not change this read model."""

    @apply.register
    def _(self, domain_event: PlatformConfig.ConfigUpdated, position: int,
          curs: Cursor) -> None:
        row = curs.execute(self.view.sql(SELECT_CONFIG_FOR_UPDATE)).fetchone()
        merged = merge_patch(row["config"] if row else {}, domain_event.patch)
        curs.execute(self.view.sql(UPSERT_CONFIG),
                     {"config": Jsonb(merged), "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ConfigProfiles.ProfileCreated, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_PROFILE, profiles=self.view.profiles), {
            "id": domain_event.profile_id, "name": domain_event.name,
            "description": domain_event.description,
            "config": Jsonb(domain_event.config), "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ConfigProfiles.ProfileUpdated, position: int,
          curs: Cursor) -> None:
        config = None if domain_event.config is None else Jsonb(domain_event.config)
        curs.execute(self.view.sql(UPDATE_PROFILE, profiles=self.view.profiles), {
            "id": domain_event.profile_id, "name": domain_event.name,
            "description": domain_event.description, "config": config,
            "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ConfigProfiles.ProfileDeleted, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_PROFILE, profiles=self.view.profiles),
                     {"id": domain_event.profile_id})
