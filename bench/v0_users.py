"""Benchmark: Memory Service v0 `POST /v0/users` (issue 15 point 2), the call every Go
SDK integration test starts with.

Starts `arqium up` on a temporary data directory with ARQIUM_V0_AUTH=open (the /v0 face
without credentials, as the SDK's tests run it) and the default Argon2 cost, then makes
N v0 users one after the other over one keep-alive connection, after a few unmeasured
warm-up calls, and prints the client-side p50/p95/p99 and the failures (non-201). For
comparison it also times N `POST /v0/users/{userId}/vaults`. Target: p50 < 50 ms.

    python bench/v0_users.py                 # 50 calls
    python bench/v0_users.py --calls 200
"""

import argparse
import os
import time
import uuid

from store_memories import ArqiumProcess, HttpClient, summary_ms

TARGET_P50_MS = 50.0
WARMUP = 5


def timed(client: HttpClient, path: str, body: dict) -> tuple[float, int]:
    started = time.perf_counter()
    status, _, _ = client.post(path, body)
    return time.perf_counter() - started, status


def run(url: str, calls: int) -> None:
    client, run_id = HttpClient(url), uuid.uuid4().hex[:6]

    def user(i: int) -> tuple[float, int]:
        return timed(client, "/v0/users", {"userId": f"u{run_id}_{i}",
                                           "email": f"v0-{run_id}-{i}@example.com"})

    for i in range(WARMUP):
        user(-1 - i)
    users = [user(i) for i in range(calls)]
    vaults = [timed(client, f"/v0/users/u{run_id}_{i}/vaults", {"title": "work"})
              for i in range(calls)]
    for name, samples in (("POST /v0/users", users), ("POST .../vaults", vaults)):
        figures = summary_ms([seconds for seconds, _ in samples])
        failures = sum(status != 201 for _, status in samples)
        print(f"{name:18} n={figures['count']} p50={figures['p50']:.1f} ms "
              f"p95={figures['p95']:.1f} ms p99={figures['p99']:.1f} ms "
              f"failures={failures}")
    p50 = summary_ms([seconds for seconds, _ in users])["p50"]
    verdict = "met" if p50 < TARGET_P50_MS else "MISSED"
    print(f"target p50 < {TARGET_P50_MS:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    os.environ["ARQIUM_V0_AUTH"] = "open"  # the SDK's tests send no credentials
    server = ArqiumProcess()
    try:
        server.start()
        run(server.url, args.calls)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
