"""Durable progress inside a task and the embedding stores (issue #14).

Each test names the bug it catches: a commit only at the end of a call (a kill loses the whole task), batches
that depend on what is cached (a resumed or cached run computes other vectors than a plain one), a shard store
that loses or mixes writers' vectors, a checksum not checked, SQLite's WAL allowed on a network filesystem."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import HarnessError
from harness.models import cache as cache_module
from harness.models import stores
from harness.models.cache import COMMIT_BATCHES, CachedEncoder
from harness.models.encoder import Encoder
from harness.models.stores import open_store
from harness.models.stores.memory import MemoryStore
from harness.models.stores.shards import ShardStore
from harness.models.stores.sqlite import EmbeddingCache
from tests.tiny_models import tiny_instructor

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"text number {i} " + "word " * (i % 17) for i in range(600)]  # lengths vary: the plan sorts them
INSTRUCTION = "Represent the statement: "


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def _plain(tiny: Path, texts: list[str] = TEXTS) -> np.ndarray:
    return Encoder(str(tiny), mode="masked", batch_size=4).encode(texts, instruction=INSTRUCTION)


def test_cached_uncached_and_partly_cached_calls_give_the_same_vectors(tiny: Path, tmp_path: Path) -> None:
    """A partly cached batch is encoded whole, so every path encodes the plan's batches (else: ulps apart)."""
    plain = _plain(tiny)
    store = EmbeddingCache(tmp_path / "c.sqlite")
    first = CachedEncoder(Encoder(str(tiny), mode="masked", batch_size=4), store)
    # a third of the texts cached beforehand, in the batches of the full call (what a killed run leaves)
    inner = Encoder(str(tiny), mode="masked", batch_size=4)
    plan = inner.batches(TEXTS, INSTRUCTION)
    done = [TEXTS[i] for b in plan[: len(plan) // 3] for i in b]
    store.put_many(
        (cache_module.entry_key(first.key, INSTRUCTION, t), v)
        for t, v in zip(done, _plain(tiny)[[TEXTS.index(t) for t in done]], strict=True)
    )
    resumed = first.encode(TEXTS, instruction=INSTRUCTION)
    memory = CachedEncoder(Encoder(str(tiny), mode="masked", batch_size=4), MemoryStore()).encode(
        TEXTS, instruction=INSTRUCTION
    )
    assert np.array_equal(resumed, plain) and np.array_equal(memory, plain)
    assert first.telemetry.texts_encoded == len(TEXTS) - len(done)  # the cached batches were not encoded again


KILLED = """
import sys
from pathlib import Path
from harness.models.cache import CachedEncoder
from harness.models.stores.sqlite import EmbeddingCache
from harness.models.encoder import Encoder
store = EmbeddingCache(Path(sys.argv[2]))
put = store.put_many
def announce(items):
    put(items)
    print("commit", flush=True)
store.put_many = announce
texts = [f"text number {i} " + "word " * (i % 17) for i in range(600)]
CachedEncoder(Encoder(sys.argv[1], mode="masked", batch_size=4), store).encode(texts, instruction="Represent the statement: ")
print("finished", flush=True)
"""


@pytest.mark.slow
def test_kill_9_mid_encoding_loses_at_most_one_commit_and_resumes_mid_call(tiny: Path, tmp_path: Path) -> None:
    """Before, the cache committed when a whole encode call returned: a kill lost the task's every vector."""
    path = tmp_path / "c.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tiny), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout
    commits = 0
    while commits < 3:
        line = proc.stdout.readline().strip()
        assert line == b"commit", f"the encoder finished or died before 3 commits: {line!r}"
        commits += 1
    proc.send_signal(signal.SIGKILL)  # somewhere inside the 4th group of batches
    proc.wait()
    kept = EmbeddingCache(path).stats()[0]
    assert kept >= 3 * COMMIT_BATCHES * 4  # three commits of 16 batches of 4 texts were not lost
    inner = Encoder(str(tiny), mode="masked", batch_size=4)
    resumed = CachedEncoder(inner, EmbeddingCache(path)).encode(TEXTS, instruction=INSTRUCTION)
    assert inner.telemetry.texts_encoded == len(TEXTS) - kept  # it continued where the commits stopped
    assert np.array_equal(resumed, _plain(tiny))  # and computed what an uninterrupted run computes


SHARD_WRITER = """
import sys, numpy as np
from pathlib import Path
from harness.models.stores.shards import ShardStore
store = ShardStore(Path(sys.argv[1]))
me = int(sys.argv[2])
for commit in range(20):
    store.put_many((f"{me:02x}{commit:02x}{j:060x}", np.full(8, me * 1000 + commit, np.float32)) for j in range(50))
"""


def test_many_writers_share_a_shard_store_without_locks(tmp_path: Path) -> None:
    """Four processes write at once into one folder: every vector of every writer is read back, none mixed."""
    folder = tmp_path / "shards"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHARD_WRITER, str(folder), str(w)], env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        for w in range(4)
    ]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    store = ShardStore(folder)
    keys = [f"{w:02x}{c:02x}{j:060x}" for w in range(4) for c in range(20) for j in range(50)]
    found = store.get_many(keys)
    assert len(found) == len(keys) == store.stats()[0]
    for key, vector in found.items():
        assert (vector == int(key[:2], 16) * 1000 + int(key[2:4], 16)).all()
    assert not list(folder.glob(".*.partial"))
    assert store.compact() == 80 and len(list(folder.glob("*.seg"))) == 1
    assert ShardStore(folder).get_many(keys[:3]).keys() == set(keys[:3])


def test_a_shard_stores_vectors_are_checked(tmp_path: Path) -> None:
    store = ShardStore(tmp_path / "shards")
    store.put_many([("ab" * 32, np.arange(8, dtype=np.float32))])
    [segment] = list((tmp_path / "shards").glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 1  # one bit of the vector
    segment.write_bytes(bytes(data))
    with pytest.raises(HarnessError, match=r"fails its checksum .*harness cache --clear"):
        ShardStore(tmp_path / "shards").get_many(["ab" * 32])


def test_the_encoder_over_shards_equals_the_plain_encoder(tiny: Path, tmp_path: Path) -> None:
    enc = CachedEncoder(Encoder(str(tiny), mode="masked", batch_size=4), ShardStore(tmp_path / "s"))
    assert np.array_equal(enc.encode(TEXTS[:50], instruction=INSTRUCTION), _plain(tiny, TEXTS[:50]))
    again = CachedEncoder(Encoder(str(tiny), mode="masked", batch_size=4), ShardStore(tmp_path / "s"))
    again.encode(TEXTS[:50], instruction=INSTRUCTION)
    assert again.telemetry.texts_encoded == 0


def test_sqlite_is_refused_on_a_network_filesystem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    monkeypatch.setattr(stores, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(HarnessError, match=r"network filesystem \(nfs4\).*HARNESS_CACHE_STORE=shards"):
        open_store()
    monkeypatch.setenv("HARNESS_CACHE_STORE", "shards")
    assert isinstance(open_store(), ShardStore)
    monkeypatch.setenv("HARNESS_CACHE_STORE", "redis")
    with pytest.raises(HarnessError, match=r"HARNESS_CACHE_STORE='redis': use one of sqlite, shards"):
        open_store()


def test_the_filesystem_type_comes_from_the_longest_mount_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"rootfs / ext4 rw 0 0\nserver:/x {tmp_path}/net nfs4 rw 0 0\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda f, *a, **k: real_open(mounts if f == "/proc/mounts" else f, *a, **k))
    (tmp_path / "net" / "cache").mkdir(parents=True)
    assert stores.filesystem_type(tmp_path / "net" / "cache") == "nfs4"
    assert stores.filesystem_type(tmp_path) == "ext4"


def test_commits_come_once_per_group_of_batches(tiny: Path, tmp_path: Path) -> None:
    """One commit per group of batches, not per batch (a commit per batch made 34,000 segments for MSMARCO)."""
    commits: list[int] = []
    store = MemoryStore()
    put = store.put_many

    def counted(items):  # noqa: ANN001, ANN202
        items = list(items)
        commits.append(len(items))
        put(items)

    store.put_many = counted  # type: ignore[method-assign]
    CachedEncoder(Encoder(str(tiny), mode="masked", batch_size=4), store).encode(TEXTS, instruction=INSTRUCTION)
    assert len(commits) == -(-len(TEXTS) // (4 * COMMIT_BATCHES)) and sum(commits) == len(TEXTS)


@pytest.mark.slow
def test_two_devices_give_the_embeddings_of_one(tiny: Path) -> None:
    """Whole planned batches per worker (two CPU workers stand in for two GPUs): bit for bit one device's vectors,
    masked pooling included (sentence-transformers' pool would lose the instruction mask in its workers)."""
    from harness.models.devices import MultiDeviceEncoder

    both = MultiDeviceEncoder(str(tiny), devices=["cpu", "cpu"], mode="masked", batch_size=4)
    try:
        assert np.array_equal(both.encode(TEXTS[:80], instruction=INSTRUCTION), _plain(tiny, TEXTS[:80]))
        assert both.telemetry.texts_encoded == 80 and both.telemetry.device == "cpu,cpu"
    finally:
        both.close()


def test_workers_share_a_corpus_then_one_run_scores_from_the_store(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --encode-share 1/2` and `2/2` on one shard store encode disjoint halves of every call's batches; the
    plain run after them encodes nothing and writes the very results of a single process on an empty cache (items
    byte for byte). Fails if workers chose batches by their own progress (overlap or gaps) or if a placeholder
    were stored."""
    from harness.cli import main

    run = ["run", "--model", str(tiny), "--tasks", "SmokeRetrieval,SmokeSTS", "--mode", "masked"]
    run += ["--instructions", "instructor-large", "--batch-size", "2"]
    monkeypatch.setenv("HARNESS_CACHE_STORE", "shards")
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "shared-cache"))
    encoded = []
    for share in ("1/2", "2/2"):
        assert main([*run, "--output-dir", str(tmp_path / "scratch"), "--encode-share", share]) == 0
        out = capsys.readouterr().out
        encoded.append(int(out.split("SmokeSTS: share")[1].split("(")[1].split()[0]))
    assert not (tmp_path / "scratch").exists() or not list((tmp_path / "scratch").rglob("*.run.json"))
    assert main([*run, "--output-dir", str(tmp_path / "shared")]) == 0
    log = capsys.readouterr()
    assert log.out.count(" 0 texts encoded so far") == 2, log.out  # every vector came from the store
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "own-cache"))
    assert main([*run, "--output-dir", str(tmp_path / "single")]) == 0
    single = capsys.readouterr().out
    total = int(single.split("texts encoded so far")[-2].split()[-1])
    assert 0 < encoded[0] < total and encoded[0] + encoded[1] == total  # two disjoint shares, nothing twice
    for task in ("SmokeRetrieval", "SmokeSTS"):
        a = next((tmp_path / "shared").rglob(f"items/{task}.json.gz")).read_bytes()
        b = next((tmp_path / "single").rglob(f"items/{task}.json.gz")).read_bytes()
        assert a == b, task
