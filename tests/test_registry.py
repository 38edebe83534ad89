"""The registry of 70 tasks and the instruction library: counts, verbatim strings, variants, bad files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.core.errors import HarnessError
from harness.core.instructions import FAMILIES, Library, library
from harness.core.spec import EXPECTED_COUNTS, Registry, registry
from tests.conftest import HubCache

ROOT = Path(__file__).resolve().parents[1]

# (task, family, side, verbatim string) - one per category and family at least; strings from
# instructor-paper-facts.md sections 2.3-2.4 (xlang-ai/instructor-embedding @ 9a9742c).
VERBATIM = [
    ("SciFact", "instructor-large", "query", "Represent a Scientific query for retrieving a supporting passage; "),
    ("SciFact", "instructor-xl", "document", "represent the scientific paragraph for retrieval: "),
    ("ArguAna", "instructor-base", "document", "Represent the Counter debate argument: "),
    ("AskUbuntuDupQuestions", "instructor-base", "document", "Represent a Ubuntu question for reranking: "),
    ("SciDocsRR", "instructor-xl", "query", "Represent the Science question: "),
    ("StackOverflowDupQuestions", "instructor-large", "document", "Represent the StackOverflow question: "),
    ("RedditClustering", "instructor-large", "query", "represent a reddit community title: "),
    ("BiorxivClusteringS2S", "instructor-xl", "query", "Represent the biological statement for retrieval; "),
    ("TwentyNewsgroupsClustering", "instructor-base", "query", "Represent the news comment for retrieval: "),
    (
        "SprintDuplicateQuestions",
        "instructor-xl",
        "query",
        "represent the Sprint questions for retrieving relevant posts, ",
    ),
    ("TwitterURLCorpus", "instructor-large", "query", "represent a tweet post for retrieval: "),
    ("TwitterSemEval2015", "instructor-base", "query", "Represent the tweet post for retrieving duplicate comments: "),
    (
        "MassiveScenarioClassification",
        "instructor-base",
        "query",
        "Represent a scene for determining the scene asplay, alarm, music, iot, audio, takeaway, datetime, "
        "recommendation, email, cooking, news or question answering: ",
    ),
    (
        "AmazonReviewsClassification",
        "instructor-xl",
        "query",
        "Represent an amazon review sentence to find the emoation; ",
    ),
    ("Banking77Classification", "instructor-large", "query", "Represent the bank purpose for classification: "),
    ("STS15", "instructor-xl", "query", "Represent a posts,,, "),
    ("STS13", "instructor-base", "query", "represent the statement, "),
    ("STSBenchmark", "instructor-large", "document", "represent the statement: "),
    ("SummEval", "instructor-xl", "query", "Represent the news statement for retrieval: "),
    ("SummEval", "instructor-large", "query", "Represent the news sentence for retrieval: "),
    ("SummEval", "instructor-base", "document", "Represent the news sentence for retrieval: "),
    ("BillboardMSCOCO", "instructor-large", "query", "Represent the caption: "),
    ("BillboardWMT20ZhEn", "instructor-xl", "document", "Represent the translation statement; "),
    ("BillboardCNNDM", "instructor-base", "query", "Represent a comment: "),
    ("PromptRetrievalGeoQuery", "instructor-large", "query", "Represent a Geography example; Input: "),
    ("PromptRetrievalRTE", "instructor-xl", "query", "Represent a Wikipedia sentence; Input: "),
    ("PromptRetrievalSST5", "instructor-base", "document", "Represent an emotion sentence; Input: "),
]


def test_seventy_tasks_with_the_papers_category_counts() -> None:
    counts = Counter(s.category for s in registry().tasks.values())
    assert counts == EXPECTED_COUNTS
    assert sum(counts.values()) == 70
    assert Counter(s.benchmark for s in registry().tasks.values()) == {
        "mteb": 56,
        "billboard": 3,
        "prompt-retrieval": 11,
    }


def test_protocol_facts_in_the_registry() -> None:
    reg = registry()
    assert reg.get("MSMARCO").split == "dev"
    assert len(reg.get("CQADupstackRetrieval").subtasks or []) == 12
    assert reg.get("STS17").subsets == ["en-en"]
    assert reg.get("EmotionClassification").protocol.samples_per_label == 16  # type: ignore[attr-defined]
    assert reg.get("TweetSentimentExtractionClassification").protocol.samples_per_label == 32  # type: ignore[attr-defined]
    assert reg.get("SprintDuplicateQuestions").main_metric == "cosine_ap"


def test_every_mteb_pin_is_the_one_mteb_loads() -> None:
    """The task files' dataset pins are passed to mteb; they equal mteb's own registry (a drifted pin, or one
    that stops being passed, would change which data a hub run scores)."""
    import mteb

    from harness.benchmarks.mteb.data import mteb_parts

    checked = 0
    for spec in registry().tasks.values():
        if spec.benchmark != "mteb":
            continue
        for name, part in mteb_parts(spec):  # type: ignore[arg-type]
            pin = spec.source.today(part.name if spec.subtasks else None)  # type: ignore[attr-defined]
            dataset = mteb.get_task(name).metadata.dataset
            assert (pin.hf_dataset, pin.revision) == (dataset["path"], dataset["revision"]), name
            checked += 1
    assert checked == 56 - 1 + 12


@pytest.mark.parametrize(("task", "family", "side", "expected"), VERBATIM)
def test_verbatim_instruction(task: str, family: str, side: str, expected: str, facts_text: str) -> None:
    assert library().get(task, family).side(side) == expected  # type: ignore[arg-type]
    assert f'`"{expected}"`' in facts_text, "the expected string must be the facts file's, quoted verbatim"


def test_cqadupstack_forums_have_their_own_instructions() -> None:
    lib = library()
    unix = lib.get("CQADupstackRetrieval", "instructor-xl", "CQADupstackUnixRetrieval")
    assert unix.query == "Represent the Unix questions to retrieve a supporting answer: "
    assert (
        lib.get("CQADupstackRetrieval", "instructor-large", "CQADupstackWebmastersRetrieval").document
        == "Represent the Webmaster answer: "
    )
    with pytest.raises(HarnessError, match="one instruction per subtask"):
        lib.get("CQADupstackRetrieval", "instructor-large")


def test_unknown_names_suggest_the_closest() -> None:
    with pytest.raises(HarnessError, match="Did you mean: SciFact"):
        registry().get("Scifact")
    with pytest.raises(HarnessError, match="Did you mean: paraphrase:2"):
        library().get("STS12", "paraphrase:22")
    with pytest.raises(HarnessError, match="Did you mean: STS"):
        registry().select(category="sts")


def test_cli_json_lists_every_task_with_instructions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 70
    for r in records:
        assert {
            "name",
            "benchmark",
            "category",
            "main_metric",
            "split",
            "source",
            "instructions",
            "paraphrases",
            "frames",
            "levels",
        } <= set(r)
        assert set(r["instructions"]) == set(FAMILIES) and len(r["paraphrases"]) == len(r["frames"]) == 5
        assert set(r["levels"]) == {"none", "tag", "simple", "detailed"}
    arguana = next(r for r in records if r["name"] == "ArguAna")
    assert arguana["instructions"]["instructor-large"] == {
        "query": "Represent a Debate argument for retrieving a counter-argument: ",
        "document": "Represent a Counter-argument: ",
    }
    sts = next(r for r in records if r["name"] == "STS12")
    assert sts["instructions"]["instructor-base"] == {
        "query": "Represent the statement, ",
        "document": "Represent the statement, ",
    }


def test_cli_unknown_task_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instructions", "Banking77"]) == 2
    assert "Did you mean: Banking77Classification" in capsys.readouterr().err
    assert main(["validate"]) == 0


# --------------------------------------------------------------------------- malformed files
def _copy_tasks(tmp_path: Path) -> Path:
    dst = tmp_path / "tasks"
    shutil.copytree(ROOT / "tasks", dst)
    return dst


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("category: STS", "category: Semantic"),
            r"STS12.yaml: invalid task entry\n  field category",
        ),
        (lambda t: t.replace("split: test\n", ""), r"field split: Field required"),
        (
            lambda t: t.replace("main_metric: cosine_spearman", "main_metric: [1, 2]"),
            r"field main_metric: Input should be a valid string",
        ),
        (lambda t: t + "colour: blue\n", r"field colour: Extra inputs are not permitted"),
        (lambda t: t.replace("kind: mteb", "kind: files"), r"field source.kind: Input should be 'mteb'"),
        (lambda t: t.replace("name: STS12", "name: STS99"), r"must equal the file name 'STS12'"),
        (lambda t: t + "  - : [\n", r"STS12.yaml: not valid YAML"),
        (lambda t: t.replace("benchmark: mteb", "benchmark: billboard"), r"field source.kind: Input should be 'files'"),
        (
            lambda t: t.replace("benchmark: mteb", "benchmark: mtb"),
            r"field benchmark: unknown benchmark 'mtb'. Did you mean: mteb",
        ),
        (lambda t: t + "protocol:\n  samples_per_label: 8\n", r"field protocol: STS tasks take no protocol settings"),
    ],
)
def test_malformed_task_file_names_file_and_field(tmp_path: Path, edit, message: str) -> None:
    """Each malformed file fails with its path and the field (a check dropped from a spec model fails this)."""
    root = _copy_tasks(tmp_path)
    path = root / "mteb" / "STS12.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(HarnessError, match=message):
        Registry(root)


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        (
            "instructor-xl.yaml",
            lambda t: t.replace("  STS12: 'represent texts, '", "  STS12: [1]"),
            r"instructor-xl.yaml.STS12: expected a string, \{query, document\}",
        ),
        (
            "frames.yaml",
            lambda t: t.replace("  - 'Represent each statement: '\n", "", 1),
            r"expected a list of 5 paraphrases",
        ),
        (
            "paraphrases.yaml",
            lambda t: t.replace("  - 'Represent the assertion: '\n", "", 1),
            r"paraphrases\[\d+\]: expected a list of 5 paraphrases",
        ),
        (
            "paraphrases.yaml",
            lambda t: t.replace("- original: 'Represent the caption: '", "- original: 'Represent the photo: '"),
            r"paraphrases of 'Represent the photo: ': no task evaluates that instructor-large string",
        ),
        (
            "levels.yaml",
            lambda t: t.replace("tag: 'STS 2012; Input: '", "label: 'STS12'"),
            r"levels.yaml.STS12: expected \{tag, simple",
        ),
        (
            "instructor-base.yaml",
            lambda t: t.replace("  STS12: 'Represent the statement, '\n", ""),
            r"no instructor-base instruction for task 'STS12'",
        ),
    ],
)
def test_malformed_instruction_file_is_reported(tmp_path: Path, file: str, edit, message: str) -> None:
    root = tmp_path / "instructions"
    shutil.copytree(ROOT / "instructions", root)
    path = root / file
    text = path.read_text()
    assert edit(text) != text, "the edit must apply to the shipped file"
    path.write_text(edit(text))
    with pytest.raises(HarnessError, match=message):
        lib = Library(root, registry())
        problems = lib.problems()
        if problems:
            raise HarnessError("; ".join(problems))


@pytest.mark.parametrize(
    ("task", "old", "new", "message"),
    [
        (
            "mteb/Banking77Classification",
            "samples_per_label",
            "samples_per_lable",
            r"unknown Classification protocol key 'samples_per_lable' \(valid keys: samples_per_label, n_experiments",
        ),
        (
            "mteb/TwentyNewsgroupsClustering",
            "instructor_max_tokens_with_instruction: 256",
            "instructor_max_tokens_with_instruction: 256\n  max_iter: 100",
            r"unknown Clustering protocol key 'max_iter'",
        ),
        (
            "prompt_retrieval/PromptRetrievalRTE",
            "token_budget",
            "token_budgett",
            r"unknown prompt-retrieval protocol key 'token_budgett' \(valid keys: .*token_budget",
        ),
        (
            "prompt_retrieval/PromptRetrievalRTE",
            "{{ sentence2 }}",
            "{{ sentence3 }}",
            r"input_template uses \['sentence3'\], not among text_fields",
        ),
        ("prompt_retrieval/PromptRetrievalRTE", "answer: label", "answer: labels", r"protocol answer: Input should be"),
        (
            "prompt_retrieval/PromptRetrievalGeoQuery",
            "max_new_tokens: 50",
            "",
            r"generation tasks \(and only they\) set max_new_tokens and stop",
        ),
    ],
)
def test_misspelt_protocol_keys_fail_validation(tmp_path: Path, task: str, old: str, new: str, message: str) -> None:
    """`harness validate` catches what used to pass and fail later as a bare KeyError (or be silently ignored)."""
    root = _copy_tasks(tmp_path)
    path = root / f"{task}.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(HarnessError, match=rf"{path.name}: invalid task entry\n  field .*{message}"):
        Registry(root)


def test_a_hub_load_hands_mteb_the_task_files_revision(monkeypatch: pytest.MonkeyPatch, hub_cache: HubCache) -> None:
    """The revision in the task file is the one mteb loads (it used to be recorded but never passed): mteb reads
    that revision's files, not the repository's head."""
    from harness.benchmarks.mteb import stats
    from harness.benchmarks.mteb.data import load_part

    seen: dict[str, str] = {}

    def fake_load(task: Any) -> None:
        seen.update(task.metadata.dataset)
        task.dataset = {"test": []}

    import mteb

    monkeypatch.setattr(type(mteb.get_task("STS12")), "load_data", fake_load)
    monkeypatch.setattr(stats, "against_record", lambda *args: [])
    spec = registry().get("STS12").model_copy(deep=True)
    revision = "0123456789abcdef0123456789abcdef01234567"
    snap = hub_cache.dataset("mteb/sts12-sts", revision, {"test.jsonl.gz": b"pinned"})
    hub_cache.dataset("mteb/sts12-sts", "f" * 40, {"test.jsonl.gz": b"another revision"})
    pin = spec.source.pin.model_copy(update={"revision": revision})  # type: ignore[attr-defined]
    spec = spec.model_copy(update={"source": spec.source.model_copy(update={"pin": pin})})
    _, provenance = load_part(spec, spec, None, "mteb")  # type: ignore[arg-type]
    assert provenance["revision"] == revision
    assert (Path(seen["path"]) / "test.jsonl.gz").resolve() == (snap / "test.jsonl.gz").resolve()


def test_dated_sets_change_only_the_strings_that_changed_that_day(tmp_path: Path) -> None:
    """instructor-xl@2023-02-23: SummEval as before 4487f9c (the XL card's 32.32), every other task as instructor-xl;
    a set that does not say which numbers it belongs to is refused."""
    from harness.core.instructions import Library, library
    from harness.core.paths import data_dir

    lib = library()
    dated, family = "instructor-xl@2023-02-23", "instructor-xl"
    assert lib.get("SummEval", dated).query == "represent a biological statement to retrieve duplicate statements: "
    assert lib.get("SummEval", family).query == "Represent the news statement for retrieval: "
    for task in ("STS12", "SciFact", "Banking77Classification", "BillboardMSCOCO"):
        assert lib.get(task, dated) == lib.get(task, family)
    assert lib.get("SummEval", "instructor-large@2023-02-23").query.startswith("Represent a Bio-medicine sentence")
    root = tmp_path / "instructions"
    shutil.copytree(data_dir("instructions"), root)
    path = root / "dated.yaml"
    path.write_text(path.read_text().replace("    published: >-", "    noted: >-", 1))
    with pytest.raises(HarnessError, match=r"dated.yaml: set instructor-xl@2023-02-23: every set says what changed"):
        Library(root, registry())


def test_your_own_tasks_and_instructions_from_an_include_path(tmp_path: Path) -> None:
    """`--include-path DIR`: DIR/tasks and DIR/instructions beside the shipped ones, validated alike (a misspelt
    key in a user file is refused naming it, exit 3), and runnable like any task."""
    from harness.cli import main
    from harness.core.instructions import _library
    from harness.core.paths import smoke_dir
    from harness.core.spec import _registry

    include, data = tmp_path / "mine", tmp_path / "data"
    (include / "tasks" / "mteb").mkdir(parents=True)
    (include / "instructions").mkdir()
    spec = (smoke_dir() / "tasks" / "SmokeSTS.yaml").read_text().replace("name: SmokeSTS", "name: MySTS")
    (include / "tasks" / "mteb" / "MySTS.yaml").write_text(spec.replace("instructions_from: STSBenchmark\n", ""))
    (include / "instructions" / "instructor-large.yaml").write_text(
        "family: instructor-large\nversion: 1\ninstructions:\n  MySTS: 'Represent my sentence: '\n"
    )
    shutil.copytree(smoke_dir() / "data" / "mteb" / "SmokeSTS", data / "mteb" / "MySTS")
    args = ["--include-path", str(include)]
    assert main([*args, "validate"]) == 0
    out = tmp_path / "out"
    run = ["run", "--tasks", "MySTS", "--data-dir", str(data), "--output-dir", str(out), "--no-cache"]
    assert main([*args, *run, "--instructions", "instructor-large", "--mode", "prefix"]) == 0
    [record] = list(out.rglob("MySTS.run.json"))
    assert json.loads(record.read_text())["instructions"]["MySTS"]["query"]["text"] == "Represent my sentence: "
    bad = include / "tasks" / "mteb" / "MyOtherSTS.yaml"
    bad.write_text(spec.replace("name: MySTS", "name: MyOtherSTS").replace("split: test", "splitt: test"))
    _registry.cache_clear()  # a process reads the task files once: a new command would start afresh
    _library.cache_clear()
    assert main([*args, "validate"]) == 3  # the problem listed; 3, a malformed file, as the docs say
    assert main([*args, *run]) == 3  # a task file family error, naming the file


def test_every_pinned_revision_names_its_files_and_evidence_or_is_refused() -> None:
    """Each pin of each MTEB task (today's, the paper era's, each CQADupstack forum) either lists the files the
    public record shows with the evidence (a page or commit of the record), or says why it is refused: a pin
    with neither would be read by a guess."""
    import re

    pins = 0
    for spec in registry().select(benchmark="mteb"):
        source = spec.source  # type: ignore[attr-defined]
        for pin in [*(source.parts or {}).values(), source.pin, source.paper]:
            if pin is None:
                continue
            pins += 1
            assert pin.refused or (pin.files and pin.evidence), (spec.name, pin.revision)
            text = pin.evidence or pin.refused
            assert re.search(r"https://|[0-9a-f]{7,}", text), (spec.name, pin.revision, "no page or commit named")
    assert pins == 56 - 1 + 12 + 15


def test_the_hub_layout_page_is_the_task_files() -> None:
    """docs/reference/hub-layouts.md is generated from the task files (`scripts/layout_table.py`): an edit of one
    without the other fails here."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "layout_table.py"
    module_spec = importlib.util.spec_from_file_location("layout_table", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    page = path.parents[1] / "docs" / "reference" / "hub-layouts.md"
    assert page.read_text(encoding="utf-8") == module.table(), "run: python scripts/layout_table.py > " + str(page)


def test_the_benchmarks_own_settings_never_collide() -> None:
    """Each benchmark declares its settings (`Benchmark.flags`); a name two benchmarks share, or one of `run`'s own
    (`RunRequest`), would hand one value to two readers: refused here."""
    from harness.app.api import RunRequest
    from harness.core.benchmark import all_benchmarks

    names = [(b.name, f.name) for b in all_benchmarks() for f in b.flags]
    assert len({n for _, n in names}) == len(names), names
    assert not {n for _, n in names} & set(RunRequest.__dataclass_fields__)
    assert {n for _, n in names} >= {"protocol", "lm", "test_size"}


def test_validate_checks_your_tasks_instructions_and_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`validate` said `ok: 70 tasks` while an own task had no instruction at all (the run then failed), and never
    read its data. Now an own task without an instruction in any family is a problem naming
    `<include>/instructions/`, and `--data-dir` reads your tasks' data as a run would; `instructions MyTask` shows
    the families it has instead of failing on the first it lacks."""
    from harness.cli import main
    from harness.core.instructions import _library
    from harness.core.paths import smoke_dir
    from harness.core.spec import _registry

    include, data = tmp_path / "mine", tmp_path / "data"
    (include / "tasks" / "mteb").mkdir(parents=True)
    spec = (smoke_dir() / "tasks" / "SmokeSTS.yaml").read_text().replace("name: SmokeSTS", "name: MySTS")
    (include / "tasks" / "mteb" / "MySTS.yaml").write_text(spec.replace("instructions_from: STSBenchmark\n", ""))
    args = ["--include-path", str(include)]

    def validate(*extra: str) -> tuple[int, str]:
        _registry.cache_clear()
        _library.cache_clear()
        code = main([*args, "validate", *extra])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, said = validate()
    assert code == 3 and f"add `MySTS: 'Represent the ...: '` to {include / 'instructions'}/<family>.yaml" in said
    (include / "instructions").mkdir()
    (include / "instructions" / "instructor-large.yaml").write_text(
        "family: instructor-large\nversion: 1\ninstructions:\n  MySTS: 'Represent my sentence: '\n"
    )
    code, said = validate()
    assert code == 0 and "and 1 of yours (MySTS)" in said and "add --data-dir DIR" in said
    code, said = validate("--data-dir", str(data))
    assert code == 3 and "MySTS" in said and str(data / "mteb" / "MySTS") in said  # no data there yet
    shutil.copytree(smoke_dir() / "data" / "mteb" / "SmokeSTS", data / "mteb" / "MySTS")
    assert validate("--data-dir", str(data))[0] == 0
    assert main([*args, "instructions", "MySTS"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "MySTS [instructor-large]: 'Represent my sentence: '"
    assert not any("instructor-xl]" in line or "paraphrase" in line for line in shown)  # what it lacks: not shown
