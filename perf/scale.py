"""Scale, measured side by side in one run (issue #14); each part runs in fresh processes.

1. data: `--data-dir` on a generated retrieval corpus of N passages (default 1,000,000): the harness's load
   (checks + Arrow table + the mteb Dataset) against `pyarrow.json.read_json` of the same file: time and peak RSS
   above the interpreter's, beside the Arrow table's size; and the row-by-row reader the harness used before.
   Goals: peak RSS <= 2x the Arrow table, load time <= 3x pyarrow's.
2. kill: work lost per kill -9 during encoding: a child encodes with the cache and reports each batch; after a
   random number of batches it is killed; lost = batches finished - batches found in the store. Goal: <= one
   commit interval (COMMIT_BATCHES).
3. workers: wall time of a multi-task plan under `harness launch ray` with 1 and with 2 local workers.

    python perf/scale.py [--passages 1000000] [--kills 5] [--skip data,kill,workers]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _child(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON object last."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


RSS = """
import json, resource, sys, time
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""

PYARROW = (
    RSS
    + """
import pyarrow.json as pj
base = peak(); t = time.perf_counter()
table = pj.read_json(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "rss": peak() - base, "table_bytes": table.nbytes}))
"""
)

HARNESS = (
    RSS
    + """
from pathlib import Path
from harness.benchmarks.mteb.portable import TaskData
from harness.core.spec import registry
import datasets, pyarrow.json
spec = registry().get("SciFact")
base = peak(); t = time.perf_counter()
data = TaskData(spec, Path(sys.argv[1]))
mteb_form = data.to_mteb()
print(json.dumps({"seconds": time.perf_counter() - t, "rss": peak() - base}))
"""
)

ROWS = (
    RSS
    + """
import datasets, json as js
base = peak(); t = time.perf_counter()
rows = [js.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
corpus = datasets.Dataset.from_list([{"id": r["_id"], "title": r.get("title") or "", "text": r["text"]} for r in rows])
print(json.dumps({"seconds": time.perf_counter() - t, "rss": peak() - base}))
"""
)


def data(passages: int) -> None:
    rng = random.Random(0)
    words = ["the", "of", "a", "model", "text", "embedding", "retrieval", "question", "answer", "data", "science"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mteb" / "SciFact"
        (folder / "qrels").mkdir(parents=True)
        corpus = folder / "corpus.jsonl"
        with corpus.open("w") as fh:
            for i in range(passages):
                text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 120)))
                fh.write(json.dumps({"_id": f"d{i}", "title": f"title {i % 997}", "text": text}) + "\n")
        (folder / "queries.jsonl").write_text(
            "".join(json.dumps({"_id": f"q{i}", "text": f"question {i}"}) + "\n" for i in range(300))
        )
        (folder / "qrels" / "test.tsv").write_text(
            "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i * 7}\t1\n" for i in range(300))
        )
        size = corpus.stat().st_size
        arrow = _child(PYARROW, str(corpus))
        harness = _child(HARNESS, tmp)
        rows = _child(ROWS, str(corpus))
    print(
        f"data: {passages:,} passages, corpus.jsonl {size / 1e6:.0f} MB, Arrow table {arrow['table_bytes'] / 1e6:.0f} MB"
    )
    print(f"  pyarrow.json.read_json   {arrow['seconds']:6.1f} s   peak RSS +{arrow['rss'] / 1e6:6.0f} MB")
    print(
        f"  harness --data-dir load  {harness['seconds']:6.1f} s   peak RSS +{harness['rss'] / 1e6:6.0f} MB   "
        f"= {harness['seconds'] / arrow['seconds']:.2f}x pyarrow's time, {harness['rss'] / arrow['table_bytes']:.2f}x the Arrow table"
    )
    print(
        f"  rows then Dataset (before) {rows['seconds']:4.1f} s   peak RSS +{rows['rss'] / 1e6:6.0f} MB   "
        f"= {rows['seconds'] / arrow['seconds']:.2f}x, {rows['rss'] / arrow['table_bytes']:.2f}x"
    )


KILLED = """
import sys
from pathlib import Path
from harness.models.cache import CachedEncoder
from harness.models.stores.sqlite import EmbeddingCache
from harness.models.encoder import Encoder
inner = Encoder("minilm", mode="none", batch_size=16)
encode = inner.encode_batches
def counted(batches, instruction):
    out = []
    for b in batches:
        out += encode([b], instruction)
        print("batch", flush=True)
    return out
inner.encode_batches = counted
texts = [f"passage {i} about " + "science and data " * (i % 9) for i in range(int(sys.argv[2]))]
CachedEncoder(inner, EmbeddingCache(Path(sys.argv[1]))).encode(texts)
"""


def kill(kills: int) -> None:
    from harness.models.cache import COMMIT_BATCHES
    from harness.models.stores.sqlite import EmbeddingCache

    rng, lost = random.Random(1), []
    for _ in range(kills):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.sqlite"
            proc = subprocess.Popen(
                [sys.executable, "-c", KILLED, str(path), "4000"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert proc.stdout
            target, done = rng.randint(20, 200), 0
            while done < target and proc.stdout.readline().strip() == b"batch":
                done += 1
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kept = EmbeddingCache(path).stats()[0] // 16
            lost.append(done - kept)
    print(
        f"kill: {kills} kills of an encoding (batch 16, a commit every {COMMIT_BATCHES} batches): batches lost "
        f"{lost} (max {max(lost)}; goal <= {COMMIT_BATCHES})"
    )


def workers() -> None:
    tasks = "STSBenchmark,SICK-R,STS12,STS13,BIOSSES,Banking77Classification"
    times = {}
    for n in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "HARNESS_CACHE": f"{tmp}/cache"}
            t = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "harness",
                    "launch",
                    "ray",
                    "--workers",
                    str(n),
                    "--tasks",
                    tasks,
                    "--data-dir",
                    str(SHARED),
                    "--output-dir",
                    f"{tmp}/out",
                ],
                check=True,
                env=env,
                capture_output=True,
            )
            times[n] = time.perf_counter() - t
    print(
        f"workers: {tasks} with all-MiniLM-L6-v2 under `harness launch ray`: 1 worker {times[1]:.0f} s, "
        f"2 workers {times[2]:.0f} s ({times[1] / times[2]:.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(f"cpus: {os.cpu_count()}; python {sys.version.split()[0]}")
    if "data" not in skip:
        data(args.passages)
    if "kill" not in skip:
        kill(args.kills)
    if "workers" not in skip and SHARED.is_dir():
        workers()
