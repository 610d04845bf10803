"""Benchmark: AstralBody uploads (issue 18): throughput of `POST /upload` with N clients
for 1 MB and 50 MB files, and the time from each upload's answer until
`GET /files/{id}` says `analysis_status: complete`.

Starts `arqium up` on a temporary data directory (rate limits off, as in the other
benchmarks: ARQIUM_RATE_LIMITS=off is what a trusted deployment sets; uploads are
otherwise 10 an hour per user), registers one user per client, then runs one phase per
size: every client uploads its files one after the other (CSV files of about that size,
each with a row of its own, so no two share a blob), while a poller reads each uploaded
file's status every 20 ms. Throughput is the bytes of the files over the phase's upload
time (first request to last answer); MB = 2^20 bytes. The analysis worker takes
ARQIUM_ANALYSIS_PROCESSES files at a time (default 2), so a phase's times to `complete`
include the queue. Baselines from the same run, as this machine's speed varies: the
same clients writing the same bytes straight to files in the data directory (fsync'd),
and one file of the size analysed in this process alone (`infra/file_analysis.py`).

    python bench/uploads.py                # 8 clients: 5 x 1 MB, then 1 x 50 MB each
    python bench/uploads.py --clients 8 --small 10 --large 2
"""

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from arqium.infra.file_analysis import analyse

from store_memories import ArqiumProcess, HttpClient, register_users, summary_ms

MB = 1024 * 1024
HEADER = b"id,amount,label,day,flag\n"
POLL_SECONDS = 0.5  # between sweeps; the times come from the server's own stamps
ANALYSIS_TIMEOUT = 900.0


def csv_rows(size: int) -> bytes:
    """CSV rows (integers, decimals, labels, dates, booleans) of about `size` bytes."""
    rows, total, number = [], 0, 0
    while total < size:
        row = (f"{number},{number * 1.25:.2f},item-{number % 997},"
               f"2024-{1 + number % 12:02d}-{1 + number % 28:02d},"
               f"{'true' if number % 3 else 'false'}\n").encode()
        rows.append(row)
        total += len(row)
        number += 1
    return b"".join(rows)[:size - 128].rsplit(b"\n", 1)[0] + b"\n"


def took(file: dict) -> float:
    """Seconds from the file's upload to the end of its analysis, by the server's clock."""
    return (datetime.fromisoformat(file["analysed_at"].replace("Z", "+00:00"))
            - datetime.fromisoformat(file["uploaded_at"].replace("Z", "+00:00"))
            ).total_seconds()


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n').encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), boundary


class Phase:
    """One size's uploads: when each was answered, and when it was seen analysed."""

    def __init__(self, url: str, tokens: list[str], files: int, size: int,
                 data_dir: Path):
        self.url, self.tokens, self.files, self.size = url, tokens, files, size
        self.data_dir = data_dir
        self.rows = csv_rows(size)
        self.answered: dict[str, tuple[float, str]] = {}  # file id: (time, token)
        self.sent = 0  # bytes of the files accepted
        self.ended: dict[str, tuple[float, str]] = {}  # file id: (seconds, status)
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.uploading = True

    def run(self) -> tuple[float, float]:
        """Upload everything, wait for every analysis; (upload seconds, bytes sent)."""
        poller = threading.Thread(target=self.poll, daemon=True)
        poller.start()
        clients = [threading.Thread(target=self.upload_all, args=(number, token))
                   for number, token in enumerate(self.tokens)]
        started = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        upload_seconds = time.perf_counter() - started
        self.uploading = False
        poller.join(ANALYSIS_TIMEOUT)
        return upload_seconds, self.sent

    def upload_all(self, number: int, token: str) -> None:
        client = HttpClient(self.url)
        for index in range(self.files):
            content = HEADER + f"-{number}-{index},0,{uuid.uuid4().hex},2024-01-01,true\n"\
                .encode() + self.rows
            body, boundary = multipart(f"bench-{number}-{index}.csv", content)
            status, _, answer = client.request(
                "POST", "/upload", body, token,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"})
            now = time.perf_counter()
            with self.lock:
                if status == 200:
                    self.answered[json.loads(answer)["file_id"]] = (now, token)
                    self.sent += len(content)
                else:
                    self.failures.append(f"upload {status}: {answer[:200]!r}")
        client.close()

    def poll(self) -> None:
        client = HttpClient(self.url)
        deadline = time.perf_counter() + ANALYSIS_TIMEOUT
        while time.perf_counter() < deadline:
            with self.lock:
                waiting = [(file_id, token) for file_id, (_, token) in self.answered.items()
                           if file_id not in self.ended]
            if not waiting and not self.uploading:
                break
            for file_id, token in waiting:
                status, _, body = client.get(f"/files/{file_id}", token,
                                             {"X-Consistency": "eventual"})
                seen = json.loads(body) if status == 200 else {}
                if seen.get("analysis_status") in ("complete", "failed"):
                    with self.lock:
                        self.ended[file_id] = (took(seen), seen["analysis_status"])
            time.sleep(POLL_SECONDS)
        client.close()

    def raw_write_rate(self, directory: Path) -> float:
        """MB/s of the same clients writing the same bytes to files, fsync'd."""
        def write_all(number: int) -> None:
            for index in range(self.files):
                path = directory / f"raw-{self.size}-{number}-{index}"
                with open(path, "wb") as file:
                    file.write(HEADER + self.rows)
                    file.flush()
                    os.fsync(file.fileno())
                path.unlink()
        writers = [threading.Thread(target=write_all, args=(number,))
                   for number in range(len(self.tokens))]
        started = time.perf_counter()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        seconds = time.perf_counter() - started
        return len(writers) * self.files * len(HEADER + self.rows) / MB / seconds

    def analysis_alone(self, directory: Path) -> float:
        """Seconds to analyse one such file in this process."""
        path = directory / f"alone-{self.size}.csv"
        path.write_bytes(HEADER + self.rows)
        started = time.perf_counter()
        analyse(path, "text/csv")
        seconds = time.perf_counter() - started
        path.unlink()
        return seconds

    def report(self, label: str, upload_seconds: float, sent: float) -> None:
        waits = [seconds for seconds, _ in self.ended.values()]
        figures = summary_ms(waits)
        failed = sum(status == "failed" for _, status in self.ended.values())
        unfinished = len(self.answered) - len(self.ended)
        rate = sent / MB / upload_seconds
        with tempfile.TemporaryDirectory(dir=self.data_dir) as scratch:
            raw, alone = self.raw_write_rate(Path(scratch)), self.analysis_alone(
                Path(scratch))
        print(f"{label}: {len(self.answered)} files by {len(self.tokens)} clients in "
              f"{upload_seconds:.1f} s = {rate:.1f} MB/s (raw fsync'd writes "
              f"{raw:.1f} MB/s, ratio {rate / raw:.2f}); upload to complete p50 "
              f"{figures['p50'] / 1000:.2f} s, p95 {figures['p95'] / 1000:.2f} s "
              f"(one file analysed alone: {alone:.2f} s); refused "
              f"{len(self.failures)}, failed {failed}, unfinished {unfinished}")
        for failure in self.failures[:3]:
            print(f"  {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--small", type=int, default=5, help="1 MB files per client")
    parser.add_argument("--large", type=int, default=1, help="50 MB files per client")
    args = parser.parse_args()
    server = ArqiumProcess()
    try:
        server.start()
        tokens = register_users(server.url, args.clients, uuid.uuid4().hex[:6])
        for label, files, size in (("1 MB", args.small, MB),
                                   ("50 MB", args.large, 50 * MB)):
            phase = Phase(server.url, tokens, files, size, server.data_dir)
            phase.report(label, *phase.run())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
