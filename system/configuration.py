"""The system configuration in force: its defaults with every change merged, as the
platform_config read model holds them; and the security policy identity is handed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arqium.domain.identity.domainmodel import SecurityPolicy
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.shared import merge_patch
from arqium.projections.platform_config import PlatformConfigView


@dataclass(frozen=True)
class CurrentConfig:
    platform: PlatformApplication
    view: PlatformConfigView
    defaults: dict[str, Any]
    wait_seconds: float

    def read(self) -> tuple[dict[str, Any], datetime | None]:
        """The configuration and when it last changed (None: never, the defaults)."""
        changes = self.view.changes()
        if changes is None:
            return self.defaults, None
        return merge_patch(self.defaults, changes["config"]), changes["last_updated"]

    def caught_up(self) -> dict[str, Any]:
        """The configuration once the read model holds every change stored so far
        (within wait_seconds; past that, the latest it holds)."""
        head = self.platform.recorder.max_notification_id()
        if head:
            try:
                self.view.wait(self.platform.name, head, self.wait_seconds)
            except TimeoutError:
                pass  # a password check must not fail for a slow projector
        return self.read()[0]

    def security_policy(self) -> SecurityPolicy:
        security = self.caught_up()["security"]
        return SecurityPolicy(
            min_password_length=security["password_policy"]["min_length"],
            require_special=security["password_policy"]["require_special"],
            session_timeout=security["session_timeout"])
