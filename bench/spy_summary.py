"""Where the API's CPU goes, from the raw stacks `compare.py --profile DIR` records
with py-spy: the share of the samples of each request step (the innermost one on the
sample's stack), of each mechanism (the sampled code's own file), and the busiest
functions by own time; in ms per request when the API's CPU ms per request of that
load (compare.py's table) is given.

    python bench/spy_summary.py /tmp/prof/writes.txt --ms-per-request 2.8
    python bench/spy_summary.py /tmp/prof/search.txt --ms-per-request 4.0 --top 25
"""

import argparse
import re
from collections import Counter

# What a request step is, by a frame "function (file:line)" on its stack. A sample goes
# to the innermost step on its stack (a query run by the authentication is
# authentication's; the middlewares only get the time spent in their own code).
STEPS = [
    ("authentication (API key / token, its lookups)",
     r"\(api/(principals|common/caller)\.py"),
    ("idempotency middleware", r"\(api/idempotency\.py"),
    ("usage counting", r"\(api/usage\.py|system/usage\.py"),
    ("rate limit middleware (off)", r"\(api/ratelimit\.py"),
    ("other ARQIUM middlewares", r"\(api/(middleware|cors|input_limits|latency|requestinfo|"
                                r"module_gate|errors)\.py"),
    ("Starlette/uvicorn middlewares", r"starlette/middleware/|uvicorn/middleware/|"
                                      r"fastapi/telemetry|fastapi/_body_limit"),
    ("request body: JSON parse + pydantic", r"request_body_to_args|_validate_value_with_|"
                                            r"\(starlette/requests\.py"),
    ("response: encode + serialize", r"serialize_response|jsonable_encoder|"
                                     r"_prepare_response_content|JSONResponse|"
                                     r"\(api/common/(envelope|exact_json)\.py"),
    ("FastAPI routing + dependencies", r"fastapi/(routing|dependencies)|starlette/routing"),
    ("memory command: domain + eventsourcing", r"\(domain/|eventsourcing/"),
    ("group commit", r"infra/group_commit\.py"),
    ("event store / connections", r"infra/(eventstore|connections)\.py"),
    ("read-your-writes wait", r"api/common/positions\.py"),
    ("search SQL + rows", r"projections/memory_search\.py"),
    ("query embedding", r"infra/(query_)?embeddings\.py"),
    ("read-model queries (SQL sent, rows read)", r"\(projections/"),
    ("route handlers (api/v1, api/cerebro, api/common)", r"\(api/"),
    ("anyio thread pool hand-off", r"anyio/"),
    ("uvicorn + httptools (HTTP parsing, transport)", r"uvicorn/"),
    ("asyncio event loop", r"asyncio/"),
]
# What a sample's leaf does, by its file: the mechanism under the steps.
MECHANISMS = [
    ("psycopg (client side of queries)", r"psycopg"), ("json module", r"json/"),
    ("pydantic", r"pydantic"), ("logging", r"logging/"), ("uuid", r"uuid\.py"),
    ("datetime/time zones", r"datetime|zoneinfo"), ("cryptography", r"crypto"),
    ("threading / locks", r"threading\.py|queue\.py"), ("asyncio", r"asyncio/"),
]
SAMPLE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def read_stacks(path: str) -> Counter:
    stacks: Counter = Counter()
    with open(path) as lines:
        for line in lines:
            match = SAMPLE.match(line.rstrip("\n"))
            if match:
                frames = tuple(match["stack"].split(";")[1:])  # the thread name first
                if frames:
                    stacks[frames] += int(match["count"])
    return stacks


def shares(stacks: Counter, kinds, innermost_of) -> list[tuple[str, float]]:
    """The share of the samples of each kind (`innermost_of(frames)` names it)."""
    total, counted = sum(stacks.values()), Counter()
    for frames, count in stacks.items():
        counted[innermost_of(frames)] += count
    return [(name, counted[name] / total) for name, _ in [*kinds, ("other", "")]
            if counted[name]]


def step_of(frames: tuple[str, ...]) -> str:
    for frame in reversed(frames):
        for name, pattern in STEPS:
            if re.search(pattern, frame):
                return name
    return "other"


def mechanism_of(frames: tuple[str, ...]) -> str:
    for name, pattern in MECHANISMS:
        if re.search(pattern, frames[-1]):
            return name
    return "other"


def own_time(stacks: Counter, top: int) -> list[tuple[str, float]]:
    total, leaves = sum(stacks.values()), Counter()
    for frames, count in stacks.items():
        leaves[re.sub(r":\d+\)", ")", frames[-1])] += count
    return [(leaf, count / total) for leaf, count in leaves.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", help="a py-spy raw (collapsed stacks) file")
    parser.add_argument("--ms-per-request", type=float,
                        help="the API's CPU ms per request of that load (compare.py)")
    parser.add_argument("--top", type=int, default=15, help="functions by own time (15)")
    args = parser.parse_args()
    stacks = read_stacks(args.stacks)
    scale = args.ms_per_request or 0

    def row(name: str, share: float) -> str:
        ms = f"{share * scale:6.2f} ms" if scale else ""
        return f"  {share * 100:5.1f} %  {ms}  {name}"

    print(f"{sum(stacks.values())} samples; by request step (innermost on the stack):")
    for name, share in sorted(shares(stacks, STEPS, step_of), key=lambda x: -x[1]):
        print(row(name, share))
    print("by what the sampled code itself was (its file):")
    by_mechanism = shares(stacks, MECHANISMS, mechanism_of)
    for name, share in sorted(by_mechanism, key=lambda x: -x[1]):
        print(row(name, share))
    print(f"busiest functions by own time (top {args.top}):")
    for name, share in own_time(stacks, args.top):
        print(row(name, share))


if __name__ == "__main__":
    main()
