"""The fusion of the keyword and meaning rankings that every memory search shares."""

import pytest

from arqium.projections.memory_search import (
    ANSWER_WEIGHT,
    CONTEXT_DEPTH,
    CONTEXT_WEIGHT,
    FULL_LEXEMES,
    KEYWORD_WEIGHT,
    SAME_DAY_PENALTY,
    SHORT_PENALTY,
    SPREAD_FROM,
    SPREAD_WINDOW,
    WHEN_WEIGHT,
    fuse,
    length_prior,
    spread,
    usual_length,
    with_context,
    with_prior,
)


def test_each_side_is_scaled_by_its_best_and_weighted():
    fused = dict(fuse([("a", 10.0), ("b", 5.0)], []))
    assert fused == {"a": pytest.approx(KEYWORD_WEIGHT), "b": pytest.approx(KEYWORD_WEIGHT / 2)}


def test_cosine_similarities_are_scaled_from_the_worst_to_the_best():
    fused = dict(fuse([], [("a", 0.8), ("b", 0.6), ("c", 0.4)]))
    meaning = 1 - KEYWORD_WEIGHT
    assert fused == pytest.approx({"a": meaning, "b": meaning / 2, "c": 0.0})


def test_a_strong_hit_on_one_side_outranks_weak_hits_on_both():
    # "a" is first by meaning only; "b" and "c" are on both lists but weak on each.
    keyword = [("k", 9.0), ("b", 1.0), ("c", 0.9)]
    meaning = [("a", 0.7), ("x", 0.5), ("b", 0.42), ("c", 0.41), ("y", 0.4)]
    order = [memory_id for memory_id, _ in fuse(keyword, meaning)]
    assert order.index("a") < order.index("b") and order.index("a") < order.index("c")


def test_equal_scores_are_ordered_by_id_and_nothing_fuses_to_nothing():
    assert [memory_id for memory_id, _ in fuse([("b", 1.0), ("a", 1.0)], [])] == ["a", "b"]
    assert fuse([], []) == []


def test_a_candidate_that_tells_a_time_gains_the_when_weight_and_no_other_enters():
    fused = dict(fuse([("a", 10.0), ("b", 10.0)], [], told=["b", "elsewhere"]))
    assert fused == pytest.approx({"a": KEYWORD_WEIGHT, "b": KEYWORD_WEIGHT + WHEN_WEIGHT})


def test_a_memory_gains_a_share_of_its_best_neighbours_score():
    fused = [("question", 1.0), ("noise", 0.3), ("other", 0.1)]
    neighbours = {"question": [("before", False), ("answer", True)],
                  "other": [("answer", False)]}
    lifted = dict(with_context(fused, neighbours))
    assert lifted["answer"] == pytest.approx(CONTEXT_WEIGHT * 1.0)  # the best, not a sum
    assert lifted["before"] == pytest.approx(CONTEXT_WEIGHT * 1.0)
    assert lifted["question"] == 1.0 and lifted["noise"] == 0.3  # no neighbours: as fused


def test_a_memory_that_asks_gives_the_memory_after_it_the_answer_weight():
    fused = [("question", 1.0), ("noise", 0.3)]
    neighbours = {"question": [("before", False), ("answer", True)]}
    lifted = dict(with_context(fused, neighbours, asking={"question"}))
    assert lifted["answer"] == pytest.approx(ANSWER_WEIGHT * 1.0)
    assert lifted["before"] == pytest.approx(CONTEXT_WEIGHT * 1.0)  # not after it
    assert dict(with_context(fused, neighbours))["answer"] == pytest.approx(
        CONTEXT_WEIGHT * 1.0)  # a question not asked: the usual share


def test_context_reorders_only_by_the_lift():
    fused = [("a", 0.5), ("b", 0.45), ("c", 0.9)]
    ranking = with_context(fused, {"c": [("b", False)]})
    assert [memory_id for memory_id, _ in ranking] == ["c", "b", "a"]


def test_only_the_best_of_a_ranking_lift_their_neighbours():
    fused = [(f"m{rank:03}", 1.0 - rank / 1000) for rank in range(CONTEXT_DEPTH + 5)]
    last_lifting, first_not = fused[CONTEXT_DEPTH - 1][0], fused[CONTEXT_DEPTH][0]
    lifted = dict(with_context(fused, {last_lifting: [("near", True)],
                                       first_not: [("far", True)]}))
    assert lifted["near"] > 0 and "far" not in lifted


def test_a_memory_of_fewer_words_than_usual_keeps_less_of_its_score():
    assert length_prior(FULL_LEXEMES) == length_prior(FULL_LEXEMES + 40) == 1.0
    assert length_prior(0) == pytest.approx(1 - SHORT_PENALTY)
    assert length_prior(1) < length_prior(FULL_LEXEMES // 2) < 1.0
    assert length_prior(3, usual=3) == 1.0  # where every memory is short


def test_the_usual_length_is_the_candidates_upper_quartile_within_bounds():
    assert usual_length([6, 2, 4]) == 5  # interpolated, as PostgreSQL's percentile_cont
    assert usual_length([1, 2, 3, 4, 5]) == 4
    assert usual_length([40, 50]) == FULL_LEXEMES
    assert usual_length([0, 0]) == 1
    assert usual_length([]) == FULL_LEXEMES


def test_the_prior_scales_each_score_and_reorders():
    ranked = with_prior([("haha", 1.0), ("answer", 0.9)], {"haha": 1, "answer": 20},
                        usual=10)
    assert ranked == [("answer", 0.9), ("haha", pytest.approx(length_prior(1, 10)))]
    assert with_prior([("a", 1.0)], {"a": 1}, usual=10, penalty=0.0) == [("a", 1.0)]


def test_the_best_are_spread_over_days_past_the_first_few():
    ranking = [(f"m{rank:02}", 1.0 - rank / 100) for rank in range(SPREAD_WINDOW + 3)]
    days = {memory_id: "monday" for memory_id, _ in ranking}
    days["m09"] = days["m12"] = "tuesday"
    spread_out = spread(ranking, days)
    order = [memory_id for memory_id, _ in spread_out]
    assert order[:SPREAD_FROM] == [f"m{rank:02}" for rank in range(SPREAD_FROM)]
    # The 8th of Monday keeps 0.8 ** 7 of its score; Tuesday's first keeps all of it.
    assert order[SPREAD_FROM:SPREAD_FROM + 2] == ["m09", "m12"]
    scores = dict(spread_out)
    assert scores["m07"] == pytest.approx(0.93 * (1 - SAME_DAY_PENALTY) ** SPREAD_FROM)
    assert scores["m12"] == pytest.approx(0.88 * (1 - SAME_DAY_PENALTY))
    monday = [memory_id for memory_id in order[:SPREAD_WINDOW]
              if days[memory_id] == "monday"]
    assert monday == sorted(monday)  # one day's memories keep their order
    # The rest follow the window, in their order, never scored above its last.
    assert order[SPREAD_WINDOW:] == ["m20", "m21", "m22"]
    assert [score for _, score in spread_out] == sorted(scores.values(), reverse=True)


def test_memories_of_one_day_keep_their_order():
    ranking = [(f"m{rank:02}", 1.0 - rank / 100) for rank in range(SPREAD_WINDOW)]
    assert spread(ranking, {}, penalty=0.0) == ranking
    assert [memory_id for memory_id, _ in spread(ranking, {})] == [
        memory_id for memory_id, _ in ranking]


def test_a_keyword_hit_not_embedded_yet_takes_its_keyword_share_on_the_meaning_side():
    keyword, meaning = [("fresh", 10.0), ("old", 5.0)], [("old", 0.9), ("alike", 0.5)]
    assert [memory_id for memory_id, _ in fuse(keyword, meaning)][0] == "old"
    fused = dict(fuse(keyword, meaning, unembedded={"fresh"}))
    assert fused["fresh"] == pytest.approx(1.0)
    assert max(fused, key=fused.get) == "fresh"
