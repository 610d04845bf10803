"""Components: combining lays contents out as the strategy says; condensing groups them
the same way every time."""

from uuid import uuid4

from arqium.domain.components.domainmodel import (
    Component,
    combined_draft,
    condensed_groups,
)


def component(kind: str, tags=(), data=None, title="c") -> Component:
    return Component.save(uuid4(), "u1", {"title": title, "type": kind, "data": data or {},
                                          "preview": None, "tags": list(tags)}, at=None)


def test_condensing_prefers_the_same_type_then_shared_tags_then_order(cause):
    chart, text, chart_b, text_b = (component("chart", ["x"]), component("text", ["y"]),
                                    component("chart", ["z"]), component("text", ["y"]))
    groups = condensed_groups([chart, text, chart_b, text_b], 2)
    assert groups == [[chart, chart_b], [text, text_b]]


def test_condensing_to_one_gathers_all_in_the_given_order_of_groups(cause):
    parts = [component(kind) for kind in ("card", "table", "card")]
    assert condensed_groups(parts, 1) == [[parts[0], parts[2], parts[1]]]


def test_a_merge_title_tags_and_children_come_from_the_sources_in_order(cause):
    grid = component("grid", ["a"], {"children": [1, 2]}, title="G")
    card = component("card", ["b", "a"], {"k": 1}, title="C")
    draft = combined_draft([grid, card], "merge")
    assert (draft["title"], draft["type"], draft["tags"]) == ("Combined: G, C", "grid",
                                                              ["a", "b"])
    assert draft["data"]["children"] == [1, 2, card.content()]
