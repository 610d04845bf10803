"""The retrieval benchmark's metrics, on an answer worked out by hand."""

import pytest

from bench.retrieval_metrics import METRICS, by_kind, mean_metrics, question_metrics

# Sessions of 5 turns: t1-t5 in s1, t6-t10 in s2, t11-t15 in s3, t16-t25 in s4.
SESSION_OF = {f"t{n}": f"s{min((n - 1) // 5 + 1, 4)}" for n in range(1, 26)}
EVIDENCE = ["t3", "t4", "t12"]  # sessions s1 and s3
# t3 third, t4 19th, t12 21st (past the top 20); t11 (of s3) 11th, past the top 10.
RANKED = ["t6", "t2", "t3", "t7", "t16", "t17", "t18", "t19", "t20", "t21", "t11", "t22",
          "t23", "t24", "t25", "t13", "t14", "t15", "t4", "t5", "t12"]


def test_metrics_of_one_answer_are_those_worked_out_by_hand():
    assert question_metrics(RANKED, EVIDENCE, SESSION_OF) == pytest.approx({
        "recall@5": 1 / 3, "recall@10": 1 / 3, "recall@20": 2 / 3,
        "hit@1": 0, "hit@5": 1, "hit@10": 1, "hit@20": 1,
        "mrr@20": 1 / 3, "session_recall@10": 1 / 2})


def test_evidence_only_past_the_top_20_scores_nothing():
    assert question_metrics(RANKED, ["t12"], SESSION_OF) == {name: 0 for name in METRICS}


def test_a_session_counts_as_found_by_any_of_its_turns_in_the_top_10():
    assert question_metrics(["t1", "t6"], ["t5", "t9"], SESSION_OF)[
        "session_recall@10"] == 1.0


def test_means_are_taken_overall_and_per_kind():
    first = question_metrics(RANKED, EVIDENCE, SESSION_OF)
    second = question_metrics(["t12"], ["t12"], SESSION_OF)  # all 1
    third = question_metrics([], ["t1"], SESSION_OF)  # all 0
    assert mean_metrics([first, second, third])["mrr@20"] == pytest.approx((1 / 3 + 1) / 3)
    assert by_kind([("temporal", second), ("single-hop", first), ("temporal", third)]) == {
        "single-hop": first, "temporal": {name: 0.5 for name in METRICS}}
