"""An API process's usage counts (system/usage.py): tallied per owner, hour and face,
stored one event per owner and hour, bounded while the database refuses them."""

from datetime import datetime, timedelta, timezone

from arqium.domain.analytics.domainmodel import Usage
from arqium.system.usage import UsageCounter, within_hours

NOON = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)



def tallies(*hours: int) -> dict:
    return {("u1", NOON + timedelta(hours=h)): {"cerebro": {"requests": 1, "searches": 0}}
            for h in hours}


def test_only_the_newest_hours_are_kept_beyond_the_cap():
    assert set(within_hours(tallies(0, 1, 2, 3), 2)) == set(tallies(2, 3))



def test_counts_are_stored_per_owner_and_hour_of_the_clock(system, clock):
    counter = UsageCounter(system.analytics, clock, max_hours=24)
    counter.add("u1", "arqium", searches=1)
    counter.add("u1", "arqium")
    counter.add("u2", "graphql")
    clock.advance(hours=1)
    counter.add("u1", "cerebro")
    assert counter.flush()
    events = [system.analytics.mapper.to_domain_event(item)
              for item in system.analytics.recorder.select_notifications(1, 100)]
    assert sorted((e.owner_id, e.hour, e.counts) for e in events
                  if isinstance(e, Usage.Recorded)) == sorted([
        ("u1", hour(clock.now - timedelta(hours=1)),
         {"arqium": {"requests": 2, "searches": 1}}),
        ("u2", hour(clock.now - timedelta(hours=1)),
         {"graphql": {"requests": 1, "searches": 0}}),
        ("u1", hour(clock.now), {"cerebro": {"requests": 1, "searches": 0}})])


def test_a_flush_with_nothing_counted_stores_nothing(system, clock):
    assert UsageCounter(system.analytics, clock, max_hours=24).flush()
    assert system.analytics.recorder.max_notification_id() is None


def hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
