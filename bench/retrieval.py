"""Benchmark: how well ARQIUM's memory search finds labelled conversation turns (issue 16).

Each conversation file (bench/retrieval_data/*.json, or --data FILE...) holds dated
sessions of turns and questions labelled with the turns that answer them. Per
conversation the bench registers a user, issues it an API key, makes it a Memory Service
v0 user with one vault and one memory, and stores one v0 entry per turn
(`"Speaker: text"`, metadata {turn_id, session_id, session_date, speaker}) over HTTP, in
the conversation's order (conversations in threads). Once the search holds every entry,
by words and by meaning (a search sent with the X-Min-Position of the last write), it
asks every question, `limit` 20, through `POST /v0/search` (the user's memory) and
`GET /api/v1/memory/search` with mode hybrid, keyword and semantic, and ranks the same
turns with two baselines computed here: plain BM25 (rank-bm25's BM25Okapi over
lowercased word tokens) and exact cosine with ARQIUM's own embedding model over the text
the server embeds.

It prints, per method, recall@5/10/20, hit@1/5/10/20, MRR@20 and session-recall@10
overall and per question kind (bench/retrieval_metrics.py), and the client-side p50/p95
latency of each HTTP method. The methods of one question are asked back to back, the
embedding ones in turn first (the first pays the query's embedding, the others find it
cached), so each of them pays it for an equal share of the questions.

    pip install -e '.[bench]'
    python bench/retrieval.py                                  # all of retrieval_data/
    python bench/retrieval.py --data my_set/*.json --ranks /tmp/ranks.jsonl
    python bench/retrieval.py --methods bm25 cosine            # baselines only, no server
    python bench/retrieval.py --url http://127.0.0.1:8000      # a running ARQIUM

By default it starts `arqium up` on a temporary data directory (rate limits off) and
stops it at the end; a server given by --url must require credentials on /v0 (the
default ARQIUM_V0_AUTH=required), so that the v0 user is the API key's own account.
Progress goes to stderr; the tables (or --json) to stdout.
"""

import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from retrieval_metrics import METRICS, by_kind, mean_metrics, question_metrics
from store_memories import ArqiumProcess, HttpClient, parse_position, percentile, progress
from tqdm import tqdm

DATA_DIR = Path(__file__).resolve().parent / "retrieval_data"
DEPTH = 20  # results asked for, and the deepest metric
V0 = "v0/search"
V1_MODES = {"v1/hybrid": "hybrid", "v1/keyword": "keyword", "v1/semantic": "semantic"}
HTTP_METHODS = (V0, *V1_MODES)
BASELINES = ("bm25", "cosine")
METHODS = (*HTTP_METHODS, *BASELINES)
EMBEDS_QUERY = {V0, "v1/hybrid", "v1/semantic"}  # the server embeds their query
KIND_ORDER = ("single-hop", "multi-hop", "temporal", "open-domain")
CATCH_UP_TIMEOUT = 1800.0
PASSWORD = "retrieval-bench-password"


# --- the labelled data ----------------------------------------------------------------

@dataclass(frozen=True)
class Turn:
    id: str
    session: str  # "<conversation>/<session id>": unique across files
    session_id: str
    date: str
    speaker: str
    text: str

    @property
    def content(self) -> str:
        return f"{self.speaker}: {self.text}"

    @property
    def metadata(self) -> dict:
        return {"turn_id": self.id, "session_id": self.session_id,
                "session_date": self.date, "speaker": self.speaker}


@dataclass(frozen=True)
class Question:
    id: str
    conversation: str
    kind: str
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: list[Turn]
    questions: list[Question]


def load_conversation(path: Path) -> Conversation:
    raw = json.loads(path.read_text())
    name = raw["conversation"]
    turns = [Turn(turn["id"], f"{name}/{session['id']}", session["id"], session["date"],
                  turn["speaker"], turn["text"])
             for session in raw["sessions"] for turn in session["turns"]]
    questions = [Question(q["id"], name, q["kind"], q["question"], tuple(q["evidence"]))
                 for q in raw["questions"]]
    return Conversation(name, turns, questions)


def load_conversations(paths: Sequence[Path]) -> list[Conversation]:
    """The conversations of the files, checked: turn ids unique across all of them, every
    question's evidence a turn of its own conversation."""
    conversations, seen = [load_conversation(path) for path in paths], set()
    for conversation in conversations:
        ids = {turn.id for turn in conversation.turns}
        if len(ids) < len(conversation.turns) or ids & seen:
            raise SystemExit(f"{conversation.id}: turn ids must be unique across all files")
        seen |= ids
        for question in conversation.questions:
            if not question.evidence or not set(question.evidence) <= ids:
                raise SystemExit(f"{question.id}: its evidence must be turns of "
                                 f"{conversation.id}: {question.evidence}")
    return conversations


# --- ARQIUM over HTTP: accounts, entries ------------------------------------------------

@dataclass
class Account:
    """A conversation's user: its v0 handle, API key, memory, and its entries' turns."""
    conversation: Conversation
    handle: str
    api_key: str
    vault_id: str = ""
    memory_id: str = ""
    turn_of_entry: dict[str, str] = field(default_factory=dict)

    @property
    def entries_path(self) -> str:
        return (f"/v0/users/{self.handle}/vaults/{self.vault_id}/memories/"
                f"{self.memory_id}/entries")


def answered(status: int, data: bytes, expected: int, what: str) -> dict:
    if status != expected:
        raise RuntimeError(f"{what}: {status} {data[:300]!r}")
    return json.loads(data)


def open_account(client: HttpClient, conversation: Conversation, run_id: str,
                 index: int) -> Account:
    """A new ARQIUM user with an API key, made a v0 user with one vault and one memory."""
    email = f"retrieval-{run_id}-{index}@example.com"
    status, _, data = client.post("/api/v1/auth/register", {
        "email": email, "password": PASSWORD, "name": f"retrieval {conversation.id}"})
    token = answered(status, data, 201, "register")["data"]["access_token"]
    status, _, data = client.post("/api/v1/api-keys", {"name": "retrieval bench"}, token)
    account = Account(conversation, f"r{run_id}_{index}",
                      answered(status, data, 201, "issue an API key")["data"]["key"])
    status, _, data = client.post("/v0/users", {"userId": account.handle, "email": email},
                                  account.api_key)
    answered(status, data, 201, "create the v0 user")
    vaults = f"/v0/users/{account.handle}/vaults"
    status, _, data = client.post(vaults, {"title": "retrieval"}, account.api_key)
    account.vault_id = answered(status, data, 201, "create a vault")["vaultId"]
    status, _, data = client.post(f"{vaults}/{account.vault_id}/memories",
                                  {"title": conversation.id, "memoryType": "conversation"},
                                  account.api_key)
    account.memory_id = answered(status, data, 201, "create a memory")["memoryId"]
    return account


def check_v0_requires_credentials(client: HttpClient) -> None:
    """With ARQIUM_V0_AUTH=open a v0 user is an account of its own, not the API key's
    (whose e-mail address it cannot take): the /api/v1 searches would not see it."""
    status, _, _ = client.get("/v0/users/nobody")
    if status != 401:
        raise SystemExit(f"GET /v0/users/nobody without credentials answers {status}, not "
                         "401: run the server with ARQIUM_V0_AUTH=required")


def per_thread_client(base_url: str) -> tuple[Callable[[], HttpClient], list[HttpClient]]:
    """A keep-alive client per thread, and the list of all of them (to close)."""
    local, made, lock = threading.local(), [], threading.Lock()

    def client() -> HttpClient:
        if not hasattr(local, "client"):
            local.client = HttpClient(base_url)
            with lock:
                made.append(local.client)
        return local.client

    return client, made


def store_turns(base_url: str, accounts: list[Account], threads: int) -> int:
    """One v0 entry per turn, in the conversation's order (as a chat writes them: the
    order is what a memory's neighbours are), `threads` conversations at a time; returns
    the last memory position."""
    client, clients = per_thread_client(base_url)
    positions, lock = [0], threading.Lock()
    bar = tqdm(total=sum(len(account.conversation.turns) for account in accounts),
               desc="bench: storing turns", unit="turn", file=sys.stderr, mininterval=1)

    def store(account: Account) -> None:
        for turn in account.conversation.turns:
            status, headers, data = client().post(
                account.entries_path, {"rawEntry": turn.content, "metadata": turn.metadata},
                account.api_key)
            entry = answered(status, data, 201, f"store {turn.id}")
            with lock:
                account.turn_of_entry[entry["entryId"]] = turn.id
                positions[0] = max(positions[0],
                                   parse_position(headers.get("X-Event-Position")) or 0)
                bar.update()

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(store, accounts))
    finally:
        bar.close()
        for each in clients:
            each.close()
    return positions[0]


def wait_until_searchable(base_url: str, account: Account, position: int) -> float:
    """Until the search holds every entry by words and meaning (the X-Min-Position of the
    last write; each wait is bounded by the server, which answers 503 when it is still
    behind); seconds waited."""
    client, started = HttpClient(base_url), time.monotonic()
    path = "/api/v1/memory/search?" + urlencode({"q": "catching up", "limit": 1})
    try:
        while True:
            status, _, data = client.get(path, account.api_key,
                                         {"X-Min-Position": f"memory.{position}"})
            waited = time.monotonic() - started
            if status == 200:
                return waited
            if status != 503 or waited > CATCH_UP_TIMEOUT:
                raise RuntimeError(f"search not caught up: {status} {data[:300]!r}")
            progress(f"the search is still indexing ({waited:.0f} s)")
    finally:
        client.close()


# --- asking the questions -------------------------------------------------------------

@dataclass
class Answer:
    turns: list[str]  # ranked
    seconds: float | None = None  # client-side, HTTP methods only
    status: int = 200


def v0_request(account: Account, question: Question) -> tuple[str, str, bytes]:
    return "POST", "/v0/search", json.dumps({
        "userId": account.handle, "memoryId": account.memory_id, "query": question.text,
        "limit": DEPTH}).encode()


def v0_entry_ids(answer: dict) -> list[str]:
    return [hit["entryId"] for hit in answer["entries"]]


def v1_request(mode: str) -> Callable[[Account, Question], tuple[str, str, None]]:
    def request(account: Account, question: Question) -> tuple[str, str, None]:
        query = urlencode({"q": question.text, "mode": mode, "limit": DEPTH},
                          quote_via=quote)
        return "GET", f"/api/v1/memory/search?{query}", None
    return request


def v1_entry_ids(answer: dict) -> list[str]:
    """A v0 entry's memory key is v0/<memory id>/<entry id>."""
    return [item["key"].rsplit("/", 1)[-1] for item in answer["data"]["items"]]


REQUESTS = {V0: (v0_request, v0_entry_ids),
            **{name: (v1_request(mode), v1_entry_ids) for name, mode in V1_MODES.items()}}


def ask(client: HttpClient, account: Account, question: Question, method: str) -> Answer:
    make_request, entry_ids = REQUESTS[method]
    verb, path, body = make_request(account, question)
    started = time.perf_counter()
    try:
        status, _, data = client.request(verb, path, body, account.api_key)
    except (OSError, http.client.HTTPException):
        status = 0  # counted as an error, the question as missed
    seconds = time.perf_counter() - started
    if status != 200:
        return Answer([], seconds, status)
    turns = [account.turn_of_entry.get(entry) for entry in entry_ids(json.loads(data))]
    return Answer([turn for turn in turns if turn], seconds, status)


def question_order(index: int, methods: Sequence[str]) -> list[str]:
    """The methods of the index-th question: those that embed the query take turns being
    first (the one that pays the embedding), the others after them."""
    embedding = [m for m in methods if m in EMBEDS_QUERY]
    shift = index % len(embedding) if embedding else 0
    return [*embedding[shift:], *embedding[:shift], *(m for m in methods
                                                      if m not in EMBEDS_QUERY)]


def ask_all(base_url: str, accounts: list[Account], methods: Sequence[str], clients: int
            ) -> dict[tuple[str, str], Answer]:
    """Every question through every HTTP method, `clients` requests at a time."""
    asked = [(account, question)
             for account in accounts for question in account.conversation.questions]
    work = [(account, question, method) for index, (account, question) in enumerate(asked)
            for method in question_order(index, methods)]
    client, made = per_thread_client(base_url)
    bar = tqdm(total=len(work), desc="bench: searching", unit="search", file=sys.stderr,
               mininterval=1)

    def one(item: tuple[Account, Question, str]) -> tuple[tuple[str, str], Answer]:
        account, question, method = item
        answer = ask(client(), account, question, method)
        bar.update()
        return (question.id, method), answer

    try:
        with ThreadPoolExecutor(clients) as pool:
            return dict(pool.map(one, work))
    finally:
        bar.close()
        for each in made:
            each.close()


def warm_up(base_url: str, account: Account, methods: Sequence[str], rounds: int) -> None:
    """Unmeasured searches first: an API process loads the embedding model on its first
    query."""
    client = HttpClient(base_url)
    try:
        for n in range(rounds):
            for method in methods:
                ask(client, account, Question(f"warm-{n}", "", "", f"warm up {n}", ()),
                    method)
    finally:
        client.close()


# --- baselines: the same turns, ranked here ---------------------------------------------

def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def top_turns(scores: Sequence[float], turns: Sequence[Turn], matched_only: bool = False
              ) -> list[str]:
    """The DEPTH best turns, ties in turn order; with matched_only, only those scoring
    above 0 (a search answers no turn that matches none of the query's words)."""
    import numpy as np

    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:DEPTH]
    return [turns[i].id for i in order if not matched_only or scores[i] > 0]


def bm25_answers(conversations: Sequence[Conversation]) -> dict[tuple[str, str], Answer]:
    from rank_bm25 import BM25Okapi

    answers = {}
    for conversation in conversations:
        index = BM25Okapi([words(turn.content) for turn in conversation.turns])
        for question in conversation.questions:
            answers[question.id, "bm25"] = Answer(top_turns(
                index.get_scores(words(question.text)), conversation.turns,
                matched_only=True))
    return answers


def embedded_text(turn: Turn) -> str:
    """What the memory_embeddings projection embeds for this turn's entry (an entry's key
    holds only ids, which it leaves out; the entry has no tags)."""
    from arqium.domain.memory.domainmodel import searchable_text
    from arqium.domain.memory.vaults import entry_key

    return searchable_text(entry_key("memory", "entry"), turn.content, [])


def cosine_answers(conversations: Sequence[Conversation]) -> dict[tuple[str, str], Answer]:
    import numpy as np

    from arqium.infra.embeddings import FLOAT_MODEL, shared_embedder

    embedder, answers = shared_embedder(FLOAT_MODEL), {}
    for conversation in tqdm(conversations, desc="bench: cosine baseline", file=sys.stderr,
                             unit="conversation"):
        turns = np.asarray(embedder.embed([embedded_text(t) for t in conversation.turns]))
        queries = np.asarray(embedder.embed([q.text for q in conversation.questions]))
        for question, similarities in zip(conversation.questions, queries @ turns.T):
            answers[question.id, "cosine"] = Answer(top_turns(similarities,
                                                              conversation.turns))
    return answers


# --- the report -------------------------------------------------------------------------

def kinds_in_order(questions: Sequence[Question]) -> list[str]:
    present = {q.kind for q in questions}
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def method_report(method: str, questions: Sequence[Question], session_of: dict[str, str],
                  answers: dict[tuple[str, str], Answer]) -> dict:
    scored = [(q.kind,
               question_metrics(answers[q.id, method].turns, q.evidence, session_of))
              for q in questions]
    report = {"overall": mean_metrics([metrics for _, metrics in scored]),
              "by_kind": by_kind(scored)}
    seconds = sorted(answers[q.id, method].seconds for q in questions
                     if answers[q.id, method].seconds is not None)
    if seconds:
        report["latency_ms"] = {"p50": percentile(seconds, 50) * 1000,
                                "p95": percentile(seconds, 95) * 1000,
                                "requests": len(seconds)}
        report["errors"] = sum(answers[q.id, method].status != 200 for q in questions)
    return report


COLUMNS = {"recall@5": "R@5", "recall@10": "R@10", "recall@20": "R@20", "hit@1": "H@1",
           "hit@5": "H@5", "hit@10": "H@10", "hit@20": "H@20", "mrr@20": "MRR@20",
           "session_recall@10": "SR@10"}  # the labels of METRICS


def table(title: str, rows: dict[str, dict], latency: dict[str, dict], width: int) -> str:
    """Methods as rows, the metrics as columns; then p50/p95 and errors of the methods
    in `latency`, when there are any."""
    header = f"{title:<{width}}" + "".join(f"{COLUMNS[m]:>7}" for m in METRICS)
    if latency:
        header += f"{'p50 ms':>9}{'p95 ms':>8}{'errors':>8}"
    lines = [header]
    for method, metrics in rows.items():
        line = f"{method:<{width}}" + "".join(f"{metrics[m]:>7.3f}" for m in METRICS)
        if method in latency:
            timing = latency[method]["latency_ms"]
            line += f"{timing['p50']:>9.1f}{timing['p95']:>8.1f}" \
                    f"{latency[method]['errors']:>8}"
        lines.append(line)
    return "\n".join(lines)


def print_tables(report: dict) -> None:
    methods = report["methods"]
    timed = {m: r for m, r in methods.items() if "latency_ms" in r}
    titles = {kind: f"{kind} ({count})"
              for kind, count in report["questions_by_kind"].items()}
    width = max(len(name) for name in [*methods, *titles.values(), "overall"]) + 2
    print(f"{report['questions']} questions over {report['turns']} turns of "
          f"{report['conversations']} conversations; {DEPTH} results per search"
          + (f", {report['search_clients']} at a time" if report["search_clients"] else ""))
    print(table("overall", {m: r["overall"] for m, r in methods.items()}, timed, width))
    for kind, title in titles.items():
        print()
        print(table(title, {m: r["by_kind"][kind] for m, r in methods.items()}, {}, width))


def write_ranks(path: str, questions: Sequence[Question], methods: Sequence[str],
                answers: dict[tuple[str, str], Answer]) -> None:
    with open(path, "w") as out:
        for question in questions:
            for method in methods:
                out.write(json.dumps({
                    "question": question.id, "kind": question.kind, "method": method,
                    "ranked": answers[question.id, method].turns,
                    "evidence": list(question.evidence)}) + "\n")
    progress(f"ranked turns per question and method in {path}")


# --- the run ----------------------------------------------------------------------------

def http_answers(args: argparse.Namespace, conversations: list[Conversation],
                 methods: list[str]) -> tuple[dict, list[str]]:
    """The answers of the HTTP methods, from `arqium up` or the server at --url; the
    problems the started server logged."""
    server = None
    if args.url is None:
        os.environ["ARQIUM_V0_AUTH"] = "required"  # the v0 user is the API key's account
        server = ArqiumProcess()
        progress(f"starting arqium up (data in {server.data_dir}, port {server.port})")
        server.start()
    base_url = args.url or server.url
    try:
        run_id, client = uuid.uuid4().hex[:8], HttpClient(base_url)
        try:
            check_v0_requires_credentials(client)
            accounts = [open_account(client, conversation, run_id, index)
                        for index, conversation in enumerate(conversations)]
        finally:
            client.close()
        started = time.monotonic()
        position = store_turns(base_url, accounts, args.store_threads)
        progress(f"stored {sum(len(a.turn_of_entry) for a in accounts)} turns in "
                 f"{time.monotonic() - started:.1f} s")
        waited = wait_until_searchable(base_url, accounts[0], position)
        progress(f"the search held every turn {waited:.1f} s after the last was stored")
        warm_up(base_url, accounts[0], methods, args.warmup)
        return ask_all(base_url, accounts, methods, args.clients), \
            list(server.problems) if server else []
    finally:
        if server:
            server.stop()


def data_files(given: list[str] | None) -> list[Path]:
    paths = [Path(p) for p in given] if given else sorted(DATA_DIR.glob("*.json"))
    if not paths:
        raise SystemExit(f"no data: {DATA_DIR} has no *.json; give files with --data")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", metavar="FILE",
                        help="conversation files (default: bench/retrieval_data/*.json)")
    parser.add_argument("--url", help="a running ARQIUM (default: start `arqium up`)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--ranks", metavar="FILE",
                        help="write each question's ranked turns per method (JSONL)")
    parser.add_argument("--clients", type=int, default=2, help="searches at a time")
    parser.add_argument("--store-threads", type=int, default=8,
                        help="conversations stored at a time")
    parser.add_argument("--warmup", type=int, default=3,
                        help="unmeasured searches per HTTP method first")
    args = parser.parse_args()
    if min(args.clients, args.store_threads) < 1 or args.warmup < 0:
        parser.error("--clients and --store-threads must be >= 1, --warmup >= 0")
    paths = data_files(args.data)
    conversations = load_conversations(paths)
    questions = [q for c in conversations for q in c.questions]
    methods = [m for m in METHODS if m in args.methods]  # the table's order
    answers, problems = {}, []
    if http := [m for m in methods if m in HTTP_METHODS]:
        answers, problems = http_answers(args, conversations, http)
    if "bm25" in methods:
        answers |= bm25_answers(conversations)
    if "cosine" in methods:
        answers |= cosine_answers(conversations)
    session_of = {turn.id: turn.session for c in conversations for turn in c.turns}
    report = {
        "data": [str(p) for p in paths], "conversations": len(conversations),
        "search_clients": args.clients if http else None,
        "turns": len(session_of), "questions": len(questions),
        "questions_by_kind": {k: sum(q.kind == k for q in questions)
                              for k in kinds_in_order(questions)},
        "methods": {m: method_report(m, questions, session_of, answers) for m in methods},
        "server_problems": problems[:20]}
    if args.ranks:
        write_ranks(args.ranks, questions, methods, answers)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_tables(report)
        if problems:
            print(f"\nserver log problems: {len(problems)} lines, first: {problems[0]}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
