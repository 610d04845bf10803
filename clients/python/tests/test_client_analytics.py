"""Analytics through the client: a tracked event counts on the dashboard at once."""


def test_a_tracked_event_counts_on_the_dashboard(client):
    tracked = client.analytics.track("checkout", {"amount": 12})
    assert tracked.name == "checkout"
    dashboard = client.analytics.dashboard(interval="day")
    assert (dashboard.scope, dashboard.totals.events.get("checkout")) == ("own", 1)


def test_usage_counts_the_callers_memories(client):
    client.memory.store("one", key="one", layer="permanent")
    usage = client.analytics.usage()
    assert usage.memories["total"] == 1
