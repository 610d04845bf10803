"""Times are written as the seeds write them: ISO 8601 in UTC with a Z."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from arqium.api.common.shapes import iso


@pytest.mark.parametrize("moment, written", [
    (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "2026-01-02T03:04:05Z"),
    (datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc),
     "2026-01-02T03:04:05.120000Z"),
    (datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=ZoneInfo("UTC")), "2026-01-02T03:04:05.000007Z"),
    (datetime(2026, 7, 2, 3, 4, 5, tzinfo=ZoneInfo("Europe/Paris")), "2026-07-02T01:04:05Z"),
    (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
     "2026-01-02T08:34:05Z"),
])
def test_a_time_is_written_in_utc_with_a_z(moment, written):
    assert iso(moment) == written


def test_a_time_without_a_zone_is_read_as_local_time():
    naive = datetime(2026, 1, 2, 3, 4, 5, 6)
    assert iso(naive) == naive.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def test_no_time_is_none():
    assert iso(None) is None
