"""The modules' states, settings, install counts and ratings, as the Admin API's
/api/modules routes and the ARQIUM /api/v1/plugins routes show them. A module without a
row has had no event: it is in its default state (installed and enabled)."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.platform.application import PlatformApplication
from arqium.domain.platform.modules import ModuleStates
from arqium.domain.shared import merge_patch
from arqium.projections.base import BatchProjection, ReadModel

CREATE_MODULES = """
CREATE TABLE IF NOT EXISTS {table} (
    module_id text PRIMARY KEY,
    installed boolean NOT NULL DEFAULT true,
    enabled boolean NOT NULL DEFAULT true,
    settings jsonb NOT NULL DEFAULT '{{}}',
    downloads integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
)"""
CREATE_RATINGS = """
CREATE TABLE IF NOT EXISTS {ratings} (
    module_id text NOT NULL,
    user_id text NOT NULL,
    stars smallint NOT NULL,
    rated_at timestamptz NOT NULL,
    PRIMARY KEY (module_id, user_id)
)"""

UPSERT_INSTALLED = """
INSERT INTO {table} AS m (module_id, downloads, updated_at) VALUES (%(id)s, 1, %(at)s)
ON CONFLICT (module_id) DO UPDATE SET installed = true, enabled = true, settings = '{{}}',
    downloads = m.downloads + 1, updated_at = EXCLUDED.updated_at"""
UPSERT_UNINSTALLED = """
INSERT INTO {table} (module_id, installed, enabled, updated_at)
VALUES (%(id)s, false, false, %(at)s)
ON CONFLICT (module_id) DO UPDATE SET installed = false, enabled = false, settings = '{{}}',
    updated_at = EXCLUDED.updated_at"""
UPSERT_ENABLED = """
INSERT INTO {table} (module_id, enabled, updated_at) VALUES (%(id)s, %(enabled)s, %(at)s)
ON CONFLICT (module_id) DO UPDATE SET enabled = EXCLUDED.enabled,
    updated_at = EXCLUDED.updated_at"""
SELECT_SETTINGS_FOR_UPDATE = "SELECT settings FROM {table} WHERE module_id = %(id)s FOR UPDATE"
UPSERT_SETTINGS = """
INSERT INTO {table} (module_id, settings, updated_at) VALUES (%(id)s, %(settings)s, %(at)s)
ON CONFLICT (module_id) DO UPDATE SET settings = EXCLUDED.settings,
    updated_at = EXCLUDED.updated_at"""
UPSERT_RATING = """
INSERT INTO {ratings} (module_id, user_id, stars, rated_at)
VALUES (%(id)s, %(user)s, %(stars)s, %(at)s)
ON CONFLICT (module_id, user_id) DO UPDATE SET stars = EXCLUDED.stars,
    rated_at = EXCLUDED.rated_at"""

SELECT_MODULES = """
SELECT module_id, installed, enabled, settings, downloads, updated_at FROM {table}"""
SELECT_RATINGS = """
SELECT module_id, avg(stars)::float AS rating, count(*) AS ratings FROM {ratings}
GROUP BY module_id"""


class PlatformModulesView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_MODULES), self.sql(CREATE_RATINGS, ratings=self.ratings)])

    @property
    def ratings(self) -> str:
        return f"{self.name}_ratings"

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.ratings]

    def changed_modules(self) -> dict[str, dict]:
        """The row of every module that had an event, by module id."""
        return {row["module_id"]: row for row in self.query(SELECT_MODULES)}

    def ratings_by_module(self) -> dict[str, dict]:
        """{rating (the mean), ratings (how many)} of every rated module."""
        return {row["module_id"]: row for row in self.query(
            SELECT_RATINGS, identifiers={"ratings": self.ratings})}


class PlatformModulesProjection(BatchProjection):
    name = "platform_modules"
    application = PlatformApplication
    view_class = PlatformModulesView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other platform events do not change this read model."""

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleInstalled, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(UPSERT_INSTALLED),
                     {"id": domain_event.module_id, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleUninstalled, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(UPSERT_UNINSTALLED),
                     {"id": domain_event.module_id, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleEnabled, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(UPSERT_ENABLED), {
            "id": domain_event.module_id, "enabled": True, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleDisabled, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(UPSERT_ENABLED), {
            "id": domain_event.module_id, "enabled": False, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleSettingsChanged, position: int,
          curs: Cursor) -> None:
        row = curs.execute(self.view.sql(SELECT_SETTINGS_FOR_UPDATE),
                           {"id": domain_event.module_id}).fetchone()
        merged = merge_patch(row["settings"] if row else {}, domain_event.patch)
        curs.execute(self.view.sql(UPSERT_SETTINGS), {
            "id": domain_event.module_id, "settings": Jsonb(merged), "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ModuleStates.ModuleRated, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(UPSERT_RATING, ratings=self.view.ratings), {
            "id": domain_event.module_id, "user": domain_event.user,
            "stars": domain_event.stars, "at": domain_event.at})
