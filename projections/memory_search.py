"""Memory search behind one interface, for every face: hybrid, keyword or meaning search
with the filters the faces use, and the working-set ranking. The PostgreSQL search is
here; the Elasticsearch one is in memory_search_es. This module only reads: the tables
of the memory_items and memory_embeddings read models, by the names their views give."""

import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, Protocol

from psycopg import Connection, RawCursor
from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.memory.moments import asks_when, time_named
from arqium.domain.memory.workingset import (
    LAYER_WEIGHT,
    LEFT_OUT,
    RECENCY_HALF_LIFE_DAYS,
    RELEVANCE_WEIGHT,
    UNKNOWN_CONFIDENCE,
    pack,
)
from arqium.infra.embeddings import vector_literal
from arqium.projections.base import BatchProjection
from arqium.projections.memory_embeddings import MemoryEmbeddingsView
from arqium.projections.memory_items import (
    MemoryItemsProjection,
    MemoryItemsView,
    memory_shown,
    sealed_content_if_any,
    sealed_sql,
)

SearchMode = Literal["hybrid", "keyword", "semantic"]
CANDIDATES = 100  # how deep each side (keyword, meaning) ranks before fusion
# Nearest vectors read per meaning candidate when filters the embeddings do not hold
# (layer, confidence, metadata) may thin them; else one each (expiry rarely thins).
OVERFETCH = 4
# BM25's term-frequency saturation and length normalisation; b is lower than the usual
# 0.75: memories are short, the longer ones say more (chosen on bench/retrieval.py).
BM25_K1, BM25_B = 1.2, 0.3
# The keyword side's share of a fused score (meaning has the rest). With the length
# prior and a 0.3 context weight, 0.4 ranks better than 0.5 on bench/retrieval.py
# (recall@10 .863 against .853, MRR@20 .708 against .686; 0.3: .871, .694).
KEYWORD_WEIGHT = 0.4
TIME_WEIGHT = 0.3  # what happening when the question says adds to a memory's score
# What telling a time adds to a candidate's score when the question asks when (see
# domain.memory.moments): "When did Leo move aboard?" is answered by "I moved everything
# aboard yesterday", not by the many memories about the boat. On bench/retrieval.py's
# held-out conversations (whose misses suggested it), temporal recall@10 .675 -> .727
# (0.3: .733, with fewer of the others found; on the development set both alike).
WHEN_WEIGHT = 0.15
# In a hybrid search a memory shorter than is usual among the candidates (the upper
# quartile of their counts of distinct lexemes, at most FULL_LEXEMES) loses up to
# SHORT_PENALTY of its score, in proportion: "Haha same!" or "Where?" answers nothing,
# though its one word may match; where every memory is a short fact, none loses much.
# In the labelled conversations 97 % of the evidence turns have five content words or
# more, against 70 % of the other turns found in the top 10. Chosen on bench/
# retrieval.py (recall@10 .816 -> .853; a fixed length of 12 instead of the quartile:
# .859, but it would rank long memories above short facts in a store of facts).
SHORT_PENALTY, FULL_LEXEMES = 0.7, 12
USUAL_QUANTILE = 0.75
# In a hybrid search a memory that ends by asking ("Did you find a flat in Edinburgh?")
# keeps 1 - ASK_PENALTY of its score: a question is answered by what is said ("Yes! A
# one-bed in Leith"), not by another question, though it shares the question's words.
# The answer still gains from it: its neighbours are lifted by its whole score. In the
# labelled conversations 2 % of the evidence turns end by asking, against 28 % of all
# turns. Chosen on bench/retrieval.py: held-out MRR@20 .583 -> .593 (0.3: .592, 0.5:
# .593), development .705 -> .712, neither set's recall lower.
ASK_PENALTY = 0.4
# In a hybrid search, a memory's conversation is its context: the share of its best
# neighbour's score (the memory before or after it, within CONTEXT_GAP) that it gains.
# "How did the inspection go?" shares the question's words; the answer after it,
# "Passed!", does not. 0.3 ranks a little better than 0.2 since the length prior keeps
# neighbours that say nothing down (bench/retrieval.py: recall@10 .863 against .853;
# 0.4: .863, 0.1: .852).
CONTEXT_WEIGHT = 0.3
CONTEXT_GAP = timedelta(hours=1)
# A memory that ends by asking (see ASK_PENALTY) gives the memory just after it this
# share instead: most likely the answer. On bench/retrieval.py, held-out MRR@20 .593 ->
# .602 and recall@10 .743 -> .745 (0.4: .604, .744; 0.6: .591, .741); development MRR
# .712 -> .728, session-recall@10 .980 -> .976.
ANSWER_WEIGHT = 0.5
# In a hybrid search a memory's meaning counts the memory said just before it (within
# CONTEXT_GAP): its cosine similarity gains PREVIOUS_WEIGHT of the previous memory's.
# "Fine, I tape it as a precaution" says nothing of a finger; said after "How's the
# finger?", it answers "Is Maya still careful with her injured finger?". On bench/
# retrieval.py's held-out conversations recall@10 .711 -> .738 and MRR@20 .562 -> .583
# (0.1: .727, .572; 0.3: .735, .583); on the development set alike (.867 -> .870, MRR
# .708 -> .705). Embedding each memory with the one before it did no better.
PREVIOUS_WEIGHT = 0.2
# Only the best of a ranking lift their neighbours: a lift from further down rarely
# reaches a page, and each costs two index probes. On bench/retrieval.py 20 ranks a
# little better than 50 (MRR@20 .610 against .603), 10 a little worse.
CONTEXT_DEPTH = 20
# In a hybrid search the SPREAD_WINDOW best are reordered to span more of the owner's
# days (a conversation's turns share one): past the SPREAD_FROM best, which keep their
# places, each keeps (1 - SAME_DAY_PENALTY) ** k of its score, k the better memories of
# the window that happened the same day (UTC). A question whose answer was told over
# several conversations ("How did Dev's job title change over the year?") finds more of
# them on the first page; memories of one day keep their order among themselves. The
# rest follow the window, as Elasticsearch's rescore window does. On bench/
# retrieval.py's held-out conversations session-recall@10 .910 -> .927, recall@10 .745
# -> .720, MRR@20 .602 -> .601 (hit@20 unchanged: the window is the best 20);
# development .976 -> .990, .878 -> .875, .728 -> .727. (Spread over every candidate
# instead: hit@20 .896 -> .881; from the 5th: recall@10 .710.)
SPREAD_WINDOW, SPREAD_FROM, SAME_DAY_PENALTY = 20, 7, 0.2
FUZZY_MIN_LENGTH = 4  # shorter query words are not corrected: too many look-alikes
FUZZY_PER_WORD = 2  # the owner's words, spelt most like a word found nowhere, used for it
PAGE_SLACK = 10  # ids beyond a page's read with it, in case some have gone meanwhile
HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2"

Embed = Callable[[str], Sequence[float]]
Ranking = list[tuple[str, float]]
# A memory's neighbours: (id, whether it happened after the memory), for each memory.
Neighbours = Mapping[str, Sequence[tuple[str, bool]]]


@dataclass(frozen=True)
class MemoryQuery:
    """What a face searches: the owner's live memories matching `text`, by keyword and
    meaning (mode), narrowed by the filters; `metadata` must be contained in a memory's;
    `snippets` asks for each hit's text with the matched words in <mark>; `shown`, for
    each hit as the native face shows it (`shown`: its JSON text, or a dict where its
    sealed content was opened) instead of its columns."""

    owner_id: str
    text: str
    mode: SearchMode = "hybrid"
    layer: str | None = None
    tags: Sequence[str] = ()
    min_confidence: float | None = None
    key_prefix: str | None = None
    metadata: dict | None = None
    limit: int = 10
    offset: int = 0  # best ones skipped: `limit` from there make the page
    snippets: bool = False
    min_similarity: float | None = None
    shown: bool = False

    @property
    def by_keyword(self) -> bool:
        return self.mode in ("hybrid", "keyword")

    @property
    def by_meaning(self) -> bool:
        return self.mode in ("hybrid", "semantic")


def fuse(keyword: Ranking, meaning: Ranking, timely: Ranking = (),
         told: Collection[str] = (), unembedded: Collection[str] = ()) -> Ranking:
    """One ranking of both sides' (id, score) lists, best first: BM25 scores scaled by
    the best one (they have no fixed range), cosine similarities from the list's worst
    (0) to its best (1), then weighted and summed. Unlike reciprocal ranks, a strong hit
    on one side keeps its place against ids both sides ranked low. The memories of the
    time a question names (`timely`: (id, cosine)) gain TIME_WEIGHT; the candidates that
    tell a time, when the question asks when (`told`), WHEN_WEIGHT. A keyword hit not
    embedded yet (`unembedded`, given when the search ranks by meaning) takes its keyword
    share on the meaning side too: its whole weight."""
    scores: dict[str, float] = {}
    for memory_id, share in _scaled(keyword, floor=0.0):
        scores[memory_id] = (1.0 if memory_id in unembedded else KEYWORD_WEIGHT) * share
    worst = meaning[-1][1] if meaning else 0.0
    meaning_shares = dict(_scaled(meaning, floor=worst))
    for memory_id, share in meaning_shares.items():
        scores[memory_id] = scores.get(memory_id, 0.0) + (1 - KEYWORD_WEIGHT) * share
    for memory_id, similarity in timely:
        share = 0.0 if memory_id in meaning_shares or not meaning else max(
            similarity - worst, 0.0) / max(meaning[0][1] - worst, 1e-9)
        scores[memory_id] = (scores.get(memory_id, 0.0) + TIME_WEIGHT
                             + (1 - KEYWORD_WEIGHT) * min(share, 1.0))
    for memory_id in told:
        if memory_id in scores:
            scores[memory_id] += WHEN_WEIGHT
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def usual_length(lexemes: Collection[int]) -> float:
    """The length from which a memory keeps its whole score: the candidates' upper
    quartile count of lexemes (as PostgreSQL's percentile_cont), at most FULL_LEXEMES
    (at least 1)."""
    if not lexemes:
        return FULL_LEXEMES
    ordered = sorted(lexemes)
    at = USUAL_QUANTILE * (len(ordered) - 1)
    below, share = int(at), at - int(at)
    above = min(below + 1, len(ordered) - 1)
    quantile = ordered[below] + share * (ordered[above] - ordered[below])
    return max(min(quantile, FULL_LEXEMES), 1.0)


def length_prior(lexemes: int, usual: float = FULL_LEXEMES,
                 penalty: float = SHORT_PENALTY) -> float:
    """What a memory of that many distinct lexemes keeps of its score."""
    return 1 - penalty * max(usual - lexemes, 0) / usual


def with_prior(ranking: Ranking, lexemes: Mapping[str, int], usual: float,
               penalty: float = SHORT_PENALTY, asking: Collection[str] = (),
               ask_penalty: float = ASK_PENALTY) -> Ranking:
    """The ranking with each memory's score scaled by its length prior (`lexemes`: of
    each memory) and, for those that end by asking (`asking`), by 1 - ask_penalty;
    best first."""
    scaled = [(memory_id, score * length_prior(lexemes.get(memory_id, FULL_LEXEMES),
                                               usual, penalty)
               * (1 - ask_penalty if memory_id in asking else 1))
              for memory_id, score in ranking]
    return sorted(scaled, key=lambda item: (-item[1], item[0]))


def with_previous(meaning: Ranking, previous: Mapping[str, float],
                  weight: float = PREVIOUS_WEIGHT) -> Ranking:
    """The meaning ranking with each memory's similarity raised by `weight` of its
    previous memory's (`previous`: by id, for those that have one), best first."""
    scored = [(memory_id, similarity + weight * previous.get(memory_id, 0.0))
              for memory_id, similarity in meaning]
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def with_context(ranking: Ranking, neighbours: Neighbours,
                 asking: Collection[str] = ()) -> Ranking:
    """The fused ranking with each memory lifted by CONTEXT_WEIGHT of its best
    neighbour's score, ANSWER_WEIGHT of it after a memory that asks (`asking`);
    `neighbours`: those of each of the CONTEXT_DEPTH best. Best first."""
    scores = dict(ranking)
    lifts: dict[str, float] = {}
    for memory_id, score in ranking[:CONTEXT_DEPTH]:
        for neighbour, after in neighbours.get(memory_id, ()):
            weight = ANSWER_WEIGHT if after and memory_id in asking else CONTEXT_WEIGHT
            lifts[neighbour] = max(lifts.get(neighbour, 0.0), weight * score)
    lifted = {memory_id: scores.get(memory_id, 0.0) + lifts.get(memory_id, 0.0)
              for memory_id in scores.keys() | lifts.keys()}
    return sorted(lifted.items(), key=lambda item: (-item[1], item[0]))


def spread(ranking: Ranking, days: Mapping[str, date | None],
           penalty: float = SAME_DAY_PENALTY) -> Ranking:
    """The ranking (best first) with its SPREAD_WINDOW best reordered to span more days
    (`days`: when each memory happened), as SAME_DAY_PENALTY says; the rest after them,
    in their order, their scores at most the window's last."""
    window, rest = ranking[:SPREAD_WINDOW], ranking[SPREAD_WINDOW:]
    better_that_day: Counter = Counter()
    spread_window = []
    for rank, (memory_id, score) in enumerate(window):
        day = days.get(memory_id)
        kept = 1.0 if rank < SPREAD_FROM else (1 - penalty) ** better_that_day[day]
        better_that_day[day] += 1
        spread_window.append((memory_id, score * kept))
    spread_window.sort(key=lambda item: (-item[1], item[0]))
    last = spread_window[-1][1] if spread_window else 0.0
    return spread_window + [(memory_id, min(score, last)) for memory_id, score in rest]


def _scaled(ranking: Ranking, floor: float) -> list[tuple[str, float]]:
    """Scores as shares of the way from `floor` (0) to the best (1)."""
    if not ranking:
        return []
    spread = ranking[0][1] - floor
    return [(memory_id, (score - floor) / spread if spread > 0 else 1.0)
            for memory_id, score in ranking]


@dataclass
class Traits:
    """Of memories ranked elsewhere: those that tell a time (if the query asks when),
    how many lexemes each holds, those that end by asking, the day each happened."""

    told: list[str] = field(default_factory=list)
    lexemes: dict[str, int] = field(default_factory=dict)
    asking: set[str] = field(default_factory=set)
    days: dict[str, date] = field(default_factory=dict)
    unembedded: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]]) -> "Traits":
        """The traits in SELECT_TRAITS rows."""
        return cls([row["id"] for row in rows if row["told"]],
                   {row["id"]: row["lexemes"] for row in rows},
                   {row["id"] for row in rows if row["asks"]},
                   {row["id"]: row["day"] for row in rows},
                   {row["id"] for row in rows if row["unembedded"]})

    def update(self, other: "Traits") -> None:
        """Those of the other memories too."""
        self.told += other.told
        self.lexemes.update(other.lexemes)
        self.asking |= other.asking
        self.days.update(other.days)
        self.unembedded |= other.unembedded


class MemorySearch(Protocol):
    """The one memory search of a system, chosen at start-up."""

    def search(self, query: MemoryQuery, now: datetime) -> tuple[list[dict], int]:
        """The matching memories, best first (at most query.limit), each row with its
        `score` and `snippet` (None unless asked); also how many matched in all."""

    def working_set(self, owner_id: str, now: datetime, max_tokens: int,
                    candidates: int, conversation: str = "") -> list[dict]:
        """The owner's memories for a prompt, best first, packed within max_tokens,
        ranked by relevance to `conversation` too when there is one (each one's id as
        text: what every face shows, and a UUID object costs ~2 µs to make and write)."""

    def wait(self, application_name: str, position: int, timeout: float) -> None:
        """Block until every index the search reads has reached `position`;
        TimeoutError if one has not within `timeout`."""

    def wait_for_words(self, application_name: str, position: int, timeout: float) -> None:
        """Block until the search finds every memory up to `position` by its words and
        key (its meaning may follow later); TimeoutError if not within `timeout`."""

    def words_projection(self) -> type[BatchProjection] | None:
        """The one read model that holds what `wait_for_words` waits for, if there is
        one: a read can then check it holds the caller's writes in one round trip."""

    def close(self) -> None:
        """Release what the search holds of its own."""


# The columns of a found memory, and the owner's live memories (m: a memory_items row).
FOUND_COLUMNS = """m.id, m.key, m.content, m.layer, m.confidence, m.tags, m.metadata,
    m.session_id, m.context_id, m.created_at, m.updated_at, m.expires_at"""
# A found memory as the native face shows it (MemoryQuery.shown): reading each column's
# value and writing them again as JSON cost 0.08 ms of the API's 1.3 ms a search.
SHOWN_COLUMNS = ("m.id, " + memory_shown("m.") + " AS shown, " + sealed_content_if_any("m.")
                 + " AS sealed")
LIVE_OF_OWNER = """m.owner_id = %(owner_id)s AND m.gone_at IS NULL
        AND (m.expires_at IS NULL OR m.expires_at > %(now)s)"""
# What makes a memory of the owner a candidate. The key prefix is compared with left(),
# which no index serves, so the owner's full-text index, not the key index, drives the
# keyword side.
CANDIDATE = LIVE_OF_OWNER + """
        AND (%(layer)s::text IS NULL OR m.layer = %(layer)s)
        AND (%(min_confidence)s::float8 IS NULL OR m.confidence >= %(min_confidence)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR m.tags ?| %(tags)s::text[])
        AND (%(key_prefix)s::text IS NULL
            OR left(m.key, length(%(key_prefix)s)) = %(key_prefix)s)
        AND (%(metadata)s::jsonb IS NULL OR m.metadata @> %(metadata)s::jsonb)"""
# The query's terms: each word's lexemes (English stems, stop words dropped) that some
# live memory of the owner holds, weight 1; for a word of which no memory holds any
# lexeme (a typo, most likely), the lexemes of the owner's words spelt most like it
# (pg_trgm), weighted by how alike. Exact matches are never drowned by look-alikes.
TERMS = """
words AS (
    SELECT DISTINCT word
    FROM regexp_split_to_table(lower(%(query)s), '[^[:alnum:]]+') AS word
    WHERE %(use_keyword)s AND word <> ''
),
lexemes AS (
    SELECT w.word, v.lexeme, EXISTS (
        SELECT 1 FROM {items} m WHERE m.owner_id = %(owner_id)s AND m.gone_at IS NULL
            AND m.tsv @@ quote_literal(v.lexeme)::tsquery) AS found
    FROM words w, unnest(to_tsvector('english', w.word)) AS v
),
missing AS (
    SELECT word FROM lexemes GROUP BY word HAVING NOT bool_or(found)
),
terms AS MATERIALIZED (
    SELECT lexeme, 1.0::float8 AS weight, quote_literal(lexeme)::tsquery AS query
    FROM lexemes WHERE found
    UNION ALL
    SELECT v.lexeme, max(alike.similarity)::float8, quote_literal(v.lexeme)::tsquery
    FROM missing, LATERAL (
        SELECT known.word, similarity(known.word, missing.word) AS similarity
        FROM {words} known
        WHERE known.owner_id = %(owner_id)s AND known.word %% missing.word
        ORDER BY similarity DESC, known.word LIMIT %(fuzzy_per_word)s
    ) AS alike, unnest(to_tsvector('english', alike.word)) AS v
    WHERE length(missing.word) >= %(fuzzy_min_length)s
    GROUP BY v.lexeme
)"""
# The keyword side: Okapi BM25 over the owner's candidate memories holding any term. A
# term's document frequency is counted among those matches (every memory holding it is
# one), N is the owner's live memories, a document's length its distinct lexemes; a
# term counts once in a memory, as a memory's length counts each lexeme once.
KEYWORD = """
matches AS MATERIALIZED (
    SELECT m.id, m.tsv, length(m.tsv)::float8 AS len, m.asks FROM {items} m
    WHERE m.tsv @@ (SELECT string_agg(quote_literal(lexeme), ' | ') FROM terms)::tsquery
        AND """ + CANDIDATE + """
),
hits AS (
    SELECT x.id, x.len, x.asks, t.weight, count(*) OVER (PARTITION BY t.lexeme) AS df
    FROM matches x JOIN terms t ON x.tsv @@ t.query
),
corpus AS (
    SELECT greatest((SELECT count(*) FROM matches), coalesce((
        SELECT documents FROM {owners} WHERE owner_id = %(owner_id)s), 0))::float8 AS n,
        greatest((SELECT avg(len) FROM matches), 1) AS average_length
),
keyword AS (
    SELECT 'keyword' AS side, h.id::text AS id,
        sum(h.weight * ln(1 + (corpus.n - h.df + 0.5) / (h.df + 0.5)) * (%(k1)s + 1)
            / (1 + %(k1)s * (1 - %(b)s + %(b)s * h.len / corpus.average_length)))
            AS score, max(h.len)::int AS lexemes, bool_or(h.asks) AS asks
    FROM hits h CROSS JOIN corpus
    GROUP BY h.id ORDER BY score DESC, h.id
    LIMIT %(candidates)s
)"""
# The meaning side ranks by cosine distance the nearest vectors that pass the key and
# tag filters (the embeddings table has them, and marks gone memories), then keeps
# those whose memory passes the rest. The nearest are found by one of two branches (the
# parameters rule the other out before it reads anything): with no key or tag filter,
# from the covering index alone, which no plan can do while a filter names the table's
# other columns.
NEAREST = """
    (SELECT e.id, e.embedding <=> %(vector)s::halfvec AS distance FROM {embeddings} e
    WHERE %(vector)s::halfvec IS NOT NULL AND e.owner_id = %(owner_id)s AND NOT e.gone
        AND """
FILTERED = "(%(key_prefix)s::text IS NOT NULL OR cardinality(%(tags)s::text[]) > 0)"
NEAREST_FIRST = """
    ORDER BY distance
    LIMIT %(candidates)s * %(overfetch)s)"""


def just_before(columns: str, only_if: str = "true") -> str:
    """The owner's live memory (m) that happened just before another (x), within the
    gap, with those of its columns: found first and filtered after, so that every plan
    (a prepared statement's generic one too) walks the sequence index to it. `only_if`
    (of parameters alone) spares the index probe when it is false."""
    return """
        (SELECT """ + columns + """ FROM {items} m
        WHERE """ + only_if + """ AND m.owner_id = %(owner_id)s AND m.gone_at IS NULL
            AND (m.occurred_at, m.created_at, m.id) < (x.occurred_at, x.created_at, x.id)
            AND m.occurred_at >= x.occurred_at - %(context_gap)s
        ORDER BY m.occurred_at DESC, m.created_at DESC, m.id DESC LIMIT 1)"""


# How like the query the memory said just before a memory (x) is, if that one has not
# expired. Only the meaning side's candidates are read with it, after they are chosen by
# their own similarity (as an Elasticsearch search's are).
PREVIOUS = """
    LEFT JOIN LATERAL (SELECT 1 - (e.embedding <=> %(vector)s::halfvec) AS similarity
        FROM""" + just_before("m.id, m.expires_at", only_if="%(previous_weight)s > 0") \
    + """ AS m
        JOIN {embeddings} e ON e.id = m.id AND NOT e.gone
        WHERE m.expires_at IS NULL OR m.expires_at > %(now)s) AS previous ON true"""
# Of memories ranked elsewhere: how like the query the memory before each is.
SELECT_PREVIOUS = """
SELECT x.id::text AS id, previous.similarity FROM {items} x""" + PREVIOUS + """
WHERE x.id = ANY(%(ids)s::uuid[]) AND x.owner_id = %(owner_id)s
    AND previous.similarity IS NOT NULL"""
MEANING = """
nearest AS MATERIALIZED (""" + NEAREST + "NOT " + FILTERED + NEAREST_FIRST + """
    UNION ALL""" + NEAREST + FILTERED + """
        AND (%(key_prefix)s::text IS NULL
            OR left(e.key, length(%(key_prefix)s)) = %(key_prefix)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR e.tags ?| %(tags)s::text[])""" \
    + NEAREST_FIRST + """
),
meaning AS (
    SELECT 'meaning' AS side, x.id::text AS id,
        x.similarity + %(previous_weight)s * coalesce(previous.similarity, 0) AS score,
        x.lexemes, x.asks
    FROM (SELECT m.id, m.occurred_at, m.created_at,
            1 - n.distance AS similarity, length(m.tsv) AS lexemes, m.asks
        FROM nearest n JOIN {items} m ON m.id = n.id
        WHERE """ + CANDIDATE + """
            AND (%(min_similarity)s::float8 IS NULL OR 1 - n.distance >= %(min_similarity)s)
        ORDER BY n.distance, n.id
        LIMIT %(candidates)s) AS x""" + PREVIOUS + """
    ORDER BY score DESC, x.id
)"""
# The memories of the time a question names ([start, end)), nearest its meaning first.
TIMELY = """
timely AS (
    SELECT 'timely' AS side, m.id::text AS id,
        1 - (e.embedding <=> %(vector)s::halfvec) AS score, length(m.tsv) AS lexemes,
        m.asks
    FROM {items} m JOIN {embeddings} e ON e.id = m.id
    WHERE %(start)s::timestamptz IS NOT NULL
        AND m.occurred_at >= %(start)s AND m.occurred_at < %(end)s AND """ + CANDIDATE + """
    ORDER BY e.embedding <=> %(vector)s::halfvec, m.id
    LIMIT %(candidates)s
)"""
# Whether a memory (m) tells a time, for a question that asks when.
TELLS_A_TIME = "%(asks_when)s AND m.tells_time"
# The candidates that tell a time, if the question asks when.
TOLD = """
told AS (
    SELECT 'told' AS side, m.id::text AS id, 0::float8 AS score, length(m.tsv) AS lexemes,
        m.asks
    FROM {items} m
    WHERE m.id IN (SELECT id::uuid FROM keyword UNION SELECT id::uuid FROM meaning
        UNION SELECT id::uuid FROM timely)
        AND """ + TELLS_A_TIME + """
)"""
# Whether the memory of that id has no embedding yet (its text is still to be embedded):
# a search by meaning cannot rank it, so a keyword hit takes its keyword share on the
# meaning side too, rather than fall behind memories only like it in meaning.
UNEMBEDDED = """NOT EXISTS (SELECT 1 FROM {{embeddings}} e
        WHERE e.id = {id} AND NOT e.gone)"""
# The day a memory (m) happened, for the spread of a ranking's best.
DAY = "(coalesce(m.occurred_at, m.created_at) AT TIME ZONE 'UTC')::date"
# Of memories ranked elsewhere: how many lexemes each holds, whether it tells a time,
# whether it ends by asking, the day it happened.
SELECT_TRAITS = """
SELECT m.id::text AS id, length(m.tsv) AS lexemes, """ + TELLS_A_TIME + """ AS told,
    m.asks, """ + DAY + """ AS day, """ + UNEMBEDDED.format(id="m.id") + """ AS unembedded
FROM {items} m WHERE m.id = ANY(%(ids)s::uuid[]) AND m.owner_id = %(owner_id)s"""
RANKINGS = "WITH " + ",".join([TERMS, KEYWORD, MEANING, TIMELY, TOLD])
# Every side's ranking, one row per (side, memory), each side best first.
SELECT_RANKINGS = RANKINGS + """
SELECT * FROM keyword UNION ALL SELECT * FROM meaning UNION ALL SELECT * FROM timely
UNION ALL SELECT * FROM told"""
SELECT_TIMELY = "WITH " + TIMELY + "SELECT * FROM timely"
# Each memory of a ranking lifts its neighbours: the live memories of the owner just
# before and just after it in the order they happened, within the gap, if they are
# candidates (each found first and filtered after, as just_before says).
ADJACENT_COLUMNS = """m.id, m.owner_id, m.gone_at, m.expires_at, m.layer, m.confidence,
            m.tags, m.key, m.metadata, length(m.tsv) AS lexemes, m.asks"""
NEIGHBOURS = """
    CROSS JOIN LATERAL (SELECT m.id, m.lexemes, m.asks, m.after FROM (
        """ + just_before(ADJACENT_COLUMNS + ", false AS after") + """
        UNION ALL
        (SELECT """ + ADJACENT_COLUMNS + """, true AS after FROM {items} m
        WHERE m.owner_id = %(owner_id)s AND m.gone_at IS NULL
            AND (m.occurred_at, m.created_at, m.id) > (x.occurred_at, x.created_at, x.id)
            AND m.occurred_at <= x.occurred_at + %(context_gap)s
        ORDER BY m.occurred_at, m.created_at, m.id LIMIT 1)
    ) AS m WHERE """ + CANDIDATE + """) AS neighbour"""
LIFTS = """
lifts AS (
    SELECT neighbour.id::text AS id, own.score * CASE WHEN neighbour.after AND own.asks
            THEN %(answer_weight)s ELSE %(context_weight)s END AS lift,
        neighbour.lexemes, neighbour.asks
    FROM (SELECT id, score, asks FROM own ORDER BY score DESC, id
        LIMIT %(context_depth)s) AS own
    JOIN {items} x ON x.id = own.id::uuid""" + NEIGHBOURS + """
    WHERE %(context_weight)s > 0
)"""
SELECT_NEIGHBOURS = """
SELECT x.id::text AS of, neighbour.id::text AS id, neighbour.after
FROM {items} x""" + NEIGHBOURS + """
WHERE x.id = ANY(%(ids)s::uuid[])"""
# What `fuse`, `with_context`, `with_prior` and `spread` do, in SQL: so that a search
# is one statement, its page read with it.
FUSED = """,
scale AS (
    SELECT (SELECT max(score) FROM keyword) AS keyword_best,
        (SELECT max(score) FROM meaning) AS meaning_best,
        (SELECT min(score) FROM meaning) AS meaning_worst
),
shares AS (
    SELECT k.id, CASE WHEN %(vector)s::halfvec IS NOT NULL
            AND """ + UNEMBEDDED.format(id="k.id::uuid") + """ THEN 1
            ELSE %(keyword_weight)s END
        * CASE WHEN scale.keyword_best > 0
        THEN k.score / scale.keyword_best ELSE 1 END AS share, k.lexemes, k.asks
    FROM keyword k, scale
    UNION ALL
    SELECT m.id, (1 - %(keyword_weight)s)
        * CASE WHEN scale.meaning_best > scale.meaning_worst
        THEN (m.score - scale.meaning_worst) / (scale.meaning_best - scale.meaning_worst)
        ELSE 1 END, m.lexemes, m.asks
    FROM meaning m, scale
    UNION ALL
    SELECT t.id, %(time_weight)s + CASE WHEN t.id IN (SELECT id FROM meaning)
        OR scale.meaning_best IS NULL THEN 0
        ELSE (1 - %(keyword_weight)s) * least(greatest(t.score - scale.meaning_worst, 0)
            / greatest(scale.meaning_best - scale.meaning_worst, 1e-9), 1) END, t.lexemes,
        t.asks
    FROM timely t, scale
    UNION ALL
    SELECT id, %(when_weight)s::float8, lexemes, asks FROM told
),
own AS (SELECT id, sum(share) AS score, max(lexemes) AS lexemes, bool_or(asks) AS asks
    FROM shares GROUP BY id),
usual AS (
    SELECT greatest(least(coalesce(percentile_cont(%(usual_quantile)s::float8)
        WITHIN GROUP (ORDER BY lexemes), %(full_lexemes)s::int),
        %(full_lexemes)s::int), 1)::float8 AS length
    FROM own
),
""" + LIFTS + """,
prior AS (
    SELECT scored.id, (sum(scored.score) + coalesce(max(scored.lift), 0))
        * (1 - %(short_penalty)s::float8
            * greatest(usual.length - max(scored.lexemes), 0) / usual.length)
        * CASE WHEN bool_or(scored.asks) THEN 1 - %(ask_penalty)s::float8 ELSE 1 END
        AS score
    FROM (
        SELECT id, score, NULL::float8 AS lift, lexemes, asks FROM own
        UNION ALL SELECT id, 0, lift, lexemes, asks FROM lifts) AS scored
    CROSS JOIN usual
    GROUP BY scored.id, usual.length
),
best AS (
    SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank
    FROM prior ORDER BY score DESC, id LIMIT %(spread_window)s
),
spread AS (
    SELECT b.id, b.score * CASE WHEN b.rank <= %(spread_from)s THEN 1
        ELSE power(1 - %(same_day_penalty)s::float8, count(*) OVER (
            PARTITION BY """ + DAY + """ ORDER BY b.rank
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) END AS score
    FROM best b JOIN {items} m ON m.id = b.id::uuid
),
fused AS (
    SELECT id, score, ordinal FROM (
        SELECT id, score, row_number() OVER (ORDER BY tier, ranked_by DESC, id) AS ordinal
        FROM (SELECT id, score, 0 AS tier, score AS ranked_by FROM spread
            UNION ALL
            SELECT id, least(score, (SELECT min(score) FROM spread)), 1, score FROM prior
            WHERE id NOT IN (SELECT id FROM best)) AS tiers
        ) AS ordered
    ORDER BY ordinal LIMIT %(limit)s OFFSET %(offset)s
)"""
# A hit's text with the query's words marked, when asked (never sealed content's).
SNIPPET = """
    CASE WHEN %(snippet_terms)s::text IS NOT NULL
        AND NOT """ + sealed_sql("m.content") + """
        THEN ts_headline('english', coalesce(m.content #>> '{{}}', ''),
            websearch_to_tsquery('english', %(snippet_terms)s), %(headline)s)
    END AS snippet"""


def search_sql(columns: str) -> str:
    """A search: the rankings, fused, and the page of the fused ranking with its rows'
    `columns`; a page past its end is one row of NULLs that still says how many the
    ranking holds."""
    return RANKINGS + FUSED + """
SELECT """ + columns + ", fused.score, counted.total," + SNIPPET + """
FROM (SELECT count(*) AS total FROM (SELECT id FROM own UNION SELECT id FROM lifts) AS all_ids
    ) AS counted
LEFT JOIN (fused JOIN {items} m ON m.id = fused.id::uuid) ON true
ORDER BY fused.ordinal"""


SEARCH, SEARCH_SHOWN = search_sql(FOUND_COLUMNS), search_sql(SHOWN_COLUMNS)
SELECT_PRESENT = """
SELECT max(occurred_at) AS present FROM {items}
WHERE owner_id = %(owner_id)s AND gone_at IS NULL AND occurred_at <= %(now)s"""


def ranked_page_sql(columns: str) -> str:
    """The page of a ranking made elsewhere (Elasticsearch), in its order, with its rows'
    `columns`; the owner and liveness are checked again, so a memory deleted since it
    was ranked is not shown. A snippet marks the query's words."""
    return """
SELECT """ + columns + ", ranked.score, %(total)s::bigint AS total," + SNIPPET + """
FROM unnest(%(ids)s::uuid[], %(scores)s::float8[]) WITH ORDINALITY
    AS ranked (id, score, ordinal)
JOIN {items} m USING (id)
WHERE """ + LIVE_OF_OWNER + """
ORDER BY ranked.ordinal
LIMIT %(limit)s"""


SELECT_RANKED_PAGE = ranked_page_sql(FOUND_COLUMNS)
SELECT_RANKED_PAGE_SHOWN = ranked_page_sql(SHOWN_COLUMNS)
# The working-set ranking (see domain.memory.workingset): layer weight, then confidence,
# a recency bonus that halves every half-life and, when the chat's recent messages are
# known, the cosine similarity of the memory's embedding to theirs; memories left out of
# prompts and those larger than the whole budget are not candidates. Packing is left to
# the caller, but only rows that can still be packed are read: the best ones that fit
# together (the running total within the budget) and, after them, only those no larger
# than what that leaves (the budget only shrinks as packing goes on). One statement,
# so one snapshot; the relevance is a subquery only run when there are messages.
SELECT_WORKING_SET = """
WITH ranked AS (
    SELECT m.id, m.tokens, row_number() OVER ranking AS rank,
        sum(m.tokens) OVER ranking AS running
    FROM {items} m
    WHERE """ + LIVE_OF_OWNER + """
        AND m.sensitivity <> ALL(%(left_out)s) AND m.tokens <= %(max_tokens)s
    WINDOW ranking AS (ORDER BY
        coalesce((%(layer_weights)s::jsonb ->> m.layer)::float8, 0)
        + coalesce(m.confidence, %(unknown_confidence)s)
        + exp(-ln(2) * greatest(extract(epoch FROM %(now)s - m.updated_at)::float8, 0)
            / (86400 * %(half_life_days)s))
        + CASE WHEN %(messages)s::halfvec IS NULL THEN 0
            ELSE %(relevance_weight)s * greatest(1 - (
                SELECT e.embedding <=> %(messages)s::halfvec FROM {embeddings} e
                WHERE e.id = m.id), 0) END DESC, m.id)
    ORDER BY rank
    LIMIT %(limit)s
),
packable AS (
    SELECT id, rank, tokens, running, %(max_tokens)s - coalesce(max(running) FILTER (
        WHERE running <= %(max_tokens)s) OVER (), 0) AS left_after_the_best
    FROM ranked
)
SELECT m.id::text AS id, m.key, m.content, m.layer, m.confidence, m.updated_at, m.version,
    m.tokens
FROM packable JOIN {items} m USING (id)
WHERE packable.running <= %(max_tokens)s
    OR packable.tokens <= packable.left_after_the_best
ORDER BY packable.rank"""


# A transaction of one statement, planned generically (one simple query: no pipeline).
# Its planner counts a page read at random as little more than one read in order, as it
# is on SSDs and for pages in the cache: under PostgreSQL's default (4, for spinning
# disks), an owner holding a tenth of the memories had every owner's embeddings scanned
# rather than its own read through the covering index (2.4 -> 0.7 ms of a 5 ms search).
GENERIC_PLAN = ("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; "
                "SET LOCAL random_page_cost = 1.1")
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def native_placeholders(statement: str) -> tuple[str, tuple[str, ...]]:
    """A statement's named placeholders (`%(name)s`) as PostgreSQL's own (`$1`, one
    number per name), `%%` as `%`; and the names, in the order of their numbers."""
    numbers: dict[str, int] = {}

    def native(match: re.Match) -> str:
        name = match.group(1)
        return "%" if name is None else f"${numbers.setdefault(name, len(numbers) + 1)}"

    return PLACEHOLDER.sub(native, statement), tuple(numbers)


class PostgresMemorySearch:
    """Ranked in PostgreSQL: BM25 over full text (trigrams for words found nowhere) on
    the memory read model, nearest vectors on the embeddings read model, fused here."""

    def __init__(self, items: MemoryItemsView, embeddings: MemoryEmbeddingsView,
                 embed: Embed):
        self.items, self.embeddings, self.embed = items, embeddings, embed
        self._statements: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._literals = lru_cache(maxsize=1024)(vector_literal)

    def query_literal(self, vector: Sequence[float]) -> str:
        """A query vector's pgvector text, kept for the queries that come again."""
        return self._literals(tuple(vector))

    def search(self, query: MemoryQuery, now: datetime) -> tuple[list[dict], int]:
        """Ranked, fused and read in one statement."""
        rows = self._rows(SEARCH_SHOWN if query.shown else SEARCH,
                          **self.search_parameters(query, now))
        found = [row for row in rows if row["id"] is not None]
        return self._readable(query.owner_id, found, query.shown), rows[0]["total"]

    def search_parameters(self, query: MemoryQuery, now: datetime) -> dict[str, Any]:
        """The parameters of SEARCH for the query."""
        return {**self._ranking_parameters(query, now),
                "keyword_weight": KEYWORD_WEIGHT, "time_weight": TIME_WEIGHT,
                "when_weight": WHEN_WEIGHT, "short_penalty": self.short_penalty(query),
                "ask_penalty": self.ask_penalty(query), "full_lexemes": FULL_LEXEMES,
                "usual_quantile": USUAL_QUANTILE,
                "context_weight": self.context_weight(query),
                "answer_weight": self.answer_weight(query), "context_depth": CONTEXT_DEPTH,
                "spread_window": SPREAD_WINDOW, "spread_from": SPREAD_FROM,
                "same_day_penalty": self.same_day_penalty(query), "limit": query.limit,
                "offset": query.offset, "snippet_terms": self.snippet_terms(query),
                "headline": HEADLINE}

    def _readable(self, owner_id: str, rows: list[dict], shown: bool) -> list[dict]:
        """The rows with their sealed content opened (in `shown`, if they are shown)."""
        if shown:
            return [{**row, "shown": self.items.shown_of(owner_id, row)} for row in rows]
        return self.items.opened(owner_id, rows)

    def rankings(self, query: MemoryQuery, now: datetime
                 ) -> tuple[Ranking, Ranking, Ranking, list[str]]:
        """The keyword (BM25), meaning (cosine) and timely (cosine, memories of the time
        the query names) rankings that `search` fuses, each best first, empty when its
        mode is off; and the candidates that tell a time, if the query asks when."""
        rows = self._rows(SELECT_RANKINGS, **self._ranking_parameters(query, now))
        sides: dict[str, Ranking] = {"keyword": [], "meaning": [], "timely": [], "told": []}
        for row in rows:
            sides[row["side"]].append((row["id"], row["score"]))
        return (sides["keyword"], sides["meaning"], sides["timely"],
                [memory_id for memory_id, _ in sides["told"]])

    def _ranking_parameters(self, query: MemoryQuery, now: datetime) -> dict[str, Any]:
        vector = self.query_vector(query)
        start, end = self._span(query, now, vector)
        return {**self._filters(query, now), "query": query.text,
                "use_keyword": query.by_keyword, "fuzzy_per_word": FUZZY_PER_WORD,
                "fuzzy_min_length": FUZZY_MIN_LENGTH, "k1": BM25_K1, "b": BM25_B,
                "vector": self.query_literal(vector) if vector else None,
                "overfetch": OVERFETCH if self._thinned(query) else 1,
                "min_similarity": query.min_similarity,
                "previous_weight": self.previous_weight(query), "context_gap": CONTEXT_GAP,
                "start": start, "end": end, **self._when_parameters(query)}

    @staticmethod
    def _when_parameters(query: MemoryQuery) -> dict[str, Any]:
        return {"asks_when": asks_when(query.text)}

    @staticmethod
    def context_weight(query: MemoryQuery) -> float:
        """A hybrid search counts the conversation; keyword and meaning alone do not (a
        keyword search finds the memories holding the words, and nothing else)."""
        return CONTEXT_WEIGHT if query.mode == "hybrid" else 0.0

    @staticmethod
    def answer_weight(query: MemoryQuery) -> float:
        """What a memory that asks gives the one after it, in a hybrid search (see
        ANSWER_WEIGHT)."""
        return ANSWER_WEIGHT if query.mode == "hybrid" else 0.0

    @staticmethod
    def previous_weight(query: MemoryQuery) -> float:
        """A hybrid search reads a memory's meaning with the memory before it (see
        PREVIOUS_WEIGHT); meaning alone ranks by cosine similarity only."""
        return PREVIOUS_WEIGHT if query.mode == "hybrid" else 0.0

    def previous_similarities(self, query: MemoryQuery, ids: Collection[str], now: datetime
                              ) -> dict[str, float]:
        """Of the memories (ids): how like the query the memory before each is, for
        those that have one (for a search that ranks meaning elsewhere)."""
        vector = self.query_vector(query)
        if not ids or vector is None or not self.previous_weight(query):
            return {}
        rows = self._rows(SELECT_PREVIOUS, ids=list(ids), owner_id=query.owner_id, now=now,
                          vector=self.query_literal(vector), context_gap=CONTEXT_GAP,
                          previous_weight=self.previous_weight(query))
        return {row["id"]: row["similarity"] for row in rows}

    @staticmethod
    def short_penalty(query: MemoryQuery) -> float:
        """A hybrid search prefers memories that say something (see length_prior);
        keyword and meaning alone rank by their own measure only."""
        return SHORT_PENALTY if query.mode == "hybrid" else 0.0

    @staticmethod
    def same_day_penalty(query: MemoryQuery) -> float:
        """A hybrid search spreads its best over days (see SAME_DAY_PENALTY); keyword
        and meaning alone rank by their own measure only."""
        return SAME_DAY_PENALTY if query.mode == "hybrid" else 0.0

    @staticmethod
    def ask_penalty(query: MemoryQuery) -> float:
        """A hybrid search prefers memories that tell to those that ask (see
        ASK_PENALTY); keyword and meaning alone rank by their own measure only."""
        return ASK_PENALTY if query.mode == "hybrid" else 0.0

    def neighbours(self, ids: Sequence[str], query: MemoryQuery, now: datetime
                   ) -> dict[str, list[tuple[str, bool]]]:
        """Each memory's neighbours in the order memories happened (see NEIGHBOURS):
        (id, whether it happened after the memory)."""
        found: dict[str, list[tuple[str, bool]]] = {}
        if ids:
            for row in self._rows(SELECT_NEIGHBOURS, **self._filters(query, now),
                                  ids=list(ids), context_gap=CONTEXT_GAP):
                found.setdefault(row["of"], []).append((row["id"], row["after"]))
        return found

    def timely_ranking(self, query: MemoryQuery, now: datetime) -> Ranking:
        """The timely ranking alone (for a search that ranks the rest elsewhere)."""
        vector = self.query_vector(query)
        start, end = self._span(query, now, vector)
        if start is None:
            return []
        rows = self._rows(SELECT_TIMELY, **self._filters(query, now), start=start,
                          end=end, vector=self.query_literal(vector))
        return [(row["id"], row["score"]) for row in rows]

    def traits(self, query: MemoryQuery, ids: Collection[str]) -> "Traits":
        """What the fusion reads of the memories (ids), for a search that ranks the rest
        elsewhere."""
        if not ids:
            return Traits()
        return Traits.of(self._rows(SELECT_TRAITS, ids=list(ids), owner_id=query.owner_id,
                                    **self._when_parameters(query)))

    def _span(self, query: MemoryQuery, now: datetime, vector: Sequence[float] | None
              ) -> tuple[datetime | None, datetime | None]:
        """The time the query names, when meaning ranks; (None, None) otherwise."""
        if vector is None:
            return None, None
        span = time_named(query.text, lambda: self._present(query.owner_id, now))
        return span or (None, None)

    def _present(self, owner_id: str, now: datetime) -> datetime:
        """When the owner's newest memory happened (now if none did before now)."""
        rows = self._rows(SELECT_PRESENT, owner_id=owner_id, now=now)
        return rows[0]["present"] or now

    @staticmethod
    def _thinned(query: MemoryQuery) -> bool:
        """Whether filters the embeddings table cannot apply narrow the query."""
        return (query.layer is not None or query.min_confidence is not None
                or query.metadata is not None)

    def _filters(self, query: MemoryQuery, now: datetime) -> dict[str, Any]:
        """The parameters of CANDIDATE, and the depth of a side's ranking."""
        return {"owner_id": query.owner_id, "now": now, "layer": query.layer,
                "min_confidence": query.min_confidence, "tags": list(query.tags),
                "key_prefix": query.key_prefix, "candidates": CANDIDATES,
                "metadata": None if query.metadata is None else Jsonb(query.metadata)}

    @staticmethod
    def snippet_terms(query: MemoryQuery) -> str | None:
        """The words a snippet marks, when snippets are asked for."""
        return query.text if query.snippets else None

    def query_vector(self, query: MemoryQuery) -> Sequence[float] | None:
        """The query's embedding (cached by `embed`), when meaning ranks."""
        return self.embed(query.text) if query.by_meaning else None

    def page_of(self, ranking: Sequence[tuple[str, float]], owner_id: str, limit: int,
                now: datetime, snippet_terms: str | None = None, shown: bool = False
                ) -> list[dict]:
        """The rows of a ranking ((id, score), best first), its page; each with a
        snippet marking `snippet_terms` when they are given, and as the native face
        shows it if `shown` (see MemoryQuery)."""
        if not ranking:
            return []
        # The best `limit` and a few more, should some have gone since they were ranked.
        ids, scores = zip(*ranking[:limit + PAGE_SLACK])
        return self._readable(owner_id, self._rows(
            SELECT_RANKED_PAGE_SHOWN if shown else SELECT_RANKED_PAGE, ids=list(ids),
            scores=list(scores), total=len(ranking), owner_id=owner_id, now=now,
            limit=limit, snippet_terms=snippet_terms, headline=HEADLINE), shown)

    def working_set(self, owner_id: str, now: datetime, max_tokens: int,
                    candidates: int, conversation: str = "") -> list[dict]:
        """With their content; ranked, cut and read in one statement."""
        messages = self.embed(conversation) if conversation else None
        rows = self._rows(
            SELECT_WORKING_SET, owner_id=owner_id, now=now, max_tokens=max_tokens,
            left_out=list(LEFT_OUT), layer_weights=Jsonb(LAYER_WEIGHT),
            unknown_confidence=UNKNOWN_CONFIDENCE, half_life_days=RECENCY_HALF_LIFE_DAYS,
            limit=candidates, relevance_weight=RELEVANCE_WEIGHT,
            messages=vector_literal(messages) if messages else None)
        chosen, _ = pack([row["tokens"] for row in rows], max_tokens)
        return self.items.opened(owner_id, [rows[index] for index in chosen])

    def wait(self, application_name: str, position: int, timeout: float) -> None:
        for view in (self.items, self.embeddings):
            view.wait(application_name, position, timeout)

    def wait_for_words(self, application_name: str, position: int, timeout: float) -> None:
        self.items.wait(application_name, position, timeout)

    def words_projection(self) -> type[BatchProjection] | None:
        return MemoryItemsProjection

    def close(self) -> None:
        """Nothing of its own: its read models are closed by the system that owns them."""

    def sql(self, template: str) -> Composed:
        """A template naming the read models' live tables: {items}, {words} and {owners}
        (the memory read model's, its owners' vocabularies and counts), {embeddings}."""
        return self.items.sql(template, **self._tables())

    def _rows(self, template: str, **params: Any) -> list[dict]:
        # Prepared at once and run by its generic plan: planning the search costs more
        # than running it, and each part of it is found by owner through an index, so
        # one plan serves every owner, query and filter (bench/search_memories.py).
        # PostgreSQL's own choice after five runs is not always the generic plan.
        with self.items.datastore.get_connection() as conn, RawCursor(conn) as cursor:
            statement, names = self._native(template, conn)
            conn.execute(GENERIC_PLAN)  # the pool's context ends the transaction
            return cursor.execute(statement, [params[name] for name in names],
                                  prepare=True).fetchall()

    def _native(self, template: str, conn: Connection) -> tuple[str, tuple[str, ...]]:
        """The template's statement with PostgreSQL's own placeholders, made once: psycopg
        would parse its named ones on every run (it keeps no statement over 4 kB)."""
        if template not in self._statements:
            self._statements[template] = native_placeholders(
                self.sql(template).as_string(conn))
        return self._statements[template]

    def _tables(self) -> dict[str, str]:
        return {"items": self.items.name, "embeddings": self.embeddings.name}
