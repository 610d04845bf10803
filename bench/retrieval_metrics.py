"""Retrieval metrics of one ranked answer against a question's evidence turns, and their
means over many questions (bench/retrieval.py prints them)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

RECALL_AT = (5, 10, 20)
HIT_AT = (1, 5, 10, 20)
MRR_DEPTH = 20
SESSION_RECALL_AT = 10
METRICS = (*(f"recall@{k}" for k in RECALL_AT), *(f"hit@{k}" for k in HIT_AT),
           f"mrr@{MRR_DEPTH}", f"session_recall@{SESSION_RECALL_AT}")


def recall_at(ranked: Sequence[str], evidence: Iterable[str], k: int) -> float:
    """The fraction of the evidence turns in the top k."""
    wanted = set(evidence)
    return len(wanted & set(ranked[:k])) / len(wanted)


def hit_at(ranked: Sequence[str], evidence: Iterable[str], k: int) -> float:
    """1 when any evidence turn is in the top k, else 0."""
    return float(not set(evidence).isdisjoint(ranked[:k]))


def reciprocal_rank(ranked: Sequence[str], evidence: Iterable[str], depth: int) -> float:
    """1 / the rank of the first evidence turn; 0 when none is in the top `depth`."""
    wanted = set(evidence)
    return next((1 / rank for rank, turn in enumerate(ranked[:depth], 1) if turn in wanted),
                0.0)


def session_recall_at(ranked: Sequence[str], evidence: Iterable[str],
                      session_of: Mapping[str, str], k: int) -> float:
    """The fraction of the evidence's distinct sessions that have at least one turn (any
    turn, evidence or not) in the top k."""
    wanted = {session_of[turn] for turn in evidence}
    found = {session_of[turn] for turn in ranked[:k] if turn in session_of}
    return len(wanted & found) / len(wanted)


def question_metrics(ranked: Sequence[str], evidence: Sequence[str],
                     session_of: Mapping[str, str]) -> dict[str, float]:
    """Every metric of METRICS for one question."""
    return {**{f"recall@{k}": recall_at(ranked, evidence, k) for k in RECALL_AT},
            **{f"hit@{k}": hit_at(ranked, evidence, k) for k in HIT_AT},
            f"mrr@{MRR_DEPTH}": reciprocal_rank(ranked, evidence, MRR_DEPTH),
            f"session_recall@{SESSION_RECALL_AT}": session_recall_at(
                ranked, evidence, session_of, SESSION_RECALL_AT)}


def mean_metrics(per_question: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each metric's mean over the questions (an empty dict for no questions)."""
    if not per_question:
        return {}
    count = len(per_question)
    return {name: sum(q[name] for q in per_question) / count for name in METRICS}


def by_kind(per_question: Sequence[tuple[str, Mapping[str, float]]]
            ) -> dict[str, dict[str, float]]:
    """The means per question kind, from (kind, metrics) pairs; kinds sorted."""
    groups: dict[str, list[Mapping[str, float]]] = defaultdict(list)
    for kind, metrics in per_question:
        groups[kind].append(metrics)
    return {kind: mean_metrics(groups[kind]) for kind in sorted(groups)}
