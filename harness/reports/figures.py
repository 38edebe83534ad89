"""PNG figures for reports: category bars of runs, and robustness ranges per task."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from harness.reports.aggregate import COLUMNS, SHORT, Cell


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    return buf.getvalue()


def category_bars(rows: Sequence[tuple[str, Mapping[str, Cell]]]) -> bytes:
    """Grouped bars, one group per category / average; partial averages hatched, published ones dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / max(len(rows), 1)
    for i, (label, cells) in enumerate(rows):
        for j, column in enumerate(COLUMNS):
            cell = cells[column]
            if cell.score is None:
                continue
            hatch = "" if cell.complete and not cell.published else ("..." if cell.published else "//")
            ax.bar(
                j + i * width,
                cell.score,
                width,
                color=f"C{i}",
                hatch=hatch,
                edgecolor="white",
                label=label if j == 0 or column == next(c for c in COLUMNS if cells[c].score is not None) else None,
            )
    ax.set_xticks(
        [j + width * (len(rows) - 1) / 2 for j in range(len(COLUMNS))], [SHORT[c] for c in COLUMNS], rotation=30
    )
    ax.set_ylabel("score")
    ax.set_title("Category scores (hatched: partial average; dotted: published figure)")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        dict(zip(labels, handles, strict=True)).values(),
        dict(zip(labels, handles, strict=True)).keys(),
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    data = _png(fig)
    plt.close(fig)
    return data


def robustness_ranges(stats: Mapping[str, Mapping[str, Mapping[str, float]]]) -> bytes:
    """Per task: the min-max range over instruction variants (bar) and the mean (dot), per study; a range
    within the test set's noise (`beyond_noise` False) is drawn hatched and faint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({t for per_task in stats.values() for t in per_task})
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(tasks) * len(stats)), 4))
    width = 0.8 / max(len(stats), 1)
    for i, (model, per_task) in enumerate(stats.items()):
        for j, task in enumerate(tasks):
            if task not in per_task:
                continue
            s, x = per_task[task], j + i * width
            ax.bar(
                x,
                s["max"] - s["min"],
                width * 0.8,
                bottom=s["min"],
                color=f"C{i}",
                alpha=0.2 if s.get("beyond_noise") is False else 0.6,
                hatch="//" if s.get("beyond_noise") is False else None,
                label=model if j == 0 else None,
            )
            ax.plot([x], [s["mean"]], "o", color=f"C{i}")
    ax.set_xticks([j + width * (len(stats) - 1) / 2 for j in range(len(tasks))], tasks, rotation=30)
    ax.set_ylabel("score")
    ax.margins(y=0.15)
    ax.set_title("Instruction robustness: range (best-worst) and mean over variants; hatched: within noise")
    ax.legend(fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data
