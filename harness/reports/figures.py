"""PNG figures for reports: category bars of runs, and robustness ranges per task."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from harness.reports.aggregate import COLUMNS, SHORT, Cell


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    return buf.getvalue()


def category_bars(rows: Sequence[tuple[str, Mapping[str, Cell], Mapping[str, Any]]]) -> bytes:
    """Grouped bars, one group per category / average, each with its 95% interval (`significance.intervals`:
    a `Band` per column; none drawn where the table shows none); partial averages hatched, published ones dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in COLUMNS if any(cells[c].score is not None for _, cells, _ in rows)]  # empty ones dropped
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(columns) + 3), 4))
    width = 0.8 / max(len(rows), 1)
    for i, (label, cells, bands) in enumerate(rows):
        for j, column in enumerate(columns):
            cell = cells[column]
            if cell.score is None:
                continue
            band = bands.get(column)
            if band is not None:
                low, high = cell.score - band.low, band.high - cell.score
                ax.errorbar(j + i * width, cell.score, yerr=[[low], [high]], fmt="none", ecolor="black", capsize=2)
            hatch = "" if cell.complete and not cell.published else ("..." if cell.published else "//")
            ax.bar(
                j + i * width,
                cell.score,
                width,
                color=f"C{i}",
                hatch=hatch,
                edgecolor="white",
                label=label if j == 0 or column == next(c for c in columns if cells[c].score is not None) else None,
            )
    ax.set_xticks(
        [j + width * (len(rows) - 1) / 2 for j in range(len(columns))], [SHORT[c] for c in columns], rotation=30
    )
    ax.set_ylabel("score")
    ax.set_title("Category scores, 95% intervals (hatched: partial average; dotted: published figure)")
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


def forest(rows: Sequence[tuple[str, str, float, float | None, float | None, bool]], title: str) -> bytes:
    """Paired differences as a forest plot: one line per (comparison, task or mean), the difference as a point
    and its 95% interval as a whisker, a line at 0; filled where the paired test finds a difference (p < 0.05),
    open where not, a bare point where there are no per-item outputs to test. `rows`: (group, label,
    difference, low, high, significant), drawn top to bottom in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.4))
    groups = list(dict.fromkeys(g for g, *_ in rows))
    for y, (group, _, diff, low, high, significant) in enumerate(rows):
        color = f"C{groups.index(group)}"
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color=color, linewidth=1.5)
        ax.plot(diff, y, "o", color=color, markerfacecolor=color if significant else "white")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [f"{label}" for _, label, *_ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("difference (points), 95% interval of the paired bootstrap")
    ax.set_title(title, fontsize=9)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{i}", marker="o", label=g) for i, g in enumerate(groups)]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: never over a point
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def robustness_ranges(stats: Mapping[str, Mapping[str, Mapping[str, Any]]], note: str = "") -> bytes:
    """Per task (then per category mean) and study: best minus worst over the instruction variants (bar) with
    the corrected 95% interval of the paired difference (whisker: `reports.robustness.METHOD`); a spread whose
    interval includes 0 (`beyond_noise` False) is hatched. `note`: what the figure covers (a --limit run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(t for per_task in stats.values() for t in per_task))
    fig, ax = plt.subplots(figsize=(min(16, max(6, 0.45 * len(tasks) * len(stats) + 2)), 4))
    width = 0.8 / max(len(stats), 1)
    for i, per_task in enumerate(stats.values()):
        for j, task in enumerate(tasks):
            if task not in per_task:
                continue
            s, x = per_task[task], j + i * width
            noise = s.get("beyond_noise") is False
            ax.bar(
                x,
                s["best_minus_worst"],
                width * 0.9,
                color=f"C{i}",
                alpha=0.35 if noise else 0.8,
                hatch="//" if noise else None,
            )
            if s.get("low") is not None:
                ax.plot([x, x], [s["low"], s["high"]], color="black", linewidth=1)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xticks([j + width * (len(stats) - 1) / 2 for j in range(len(tasks))], tasks, rotation=30, ha="right")
    ax.set_ylabel("best - worst (points)")
    ax.set_title(
        "Instruction robustness: best minus worst variant, Bonferroni-corrected 95% CI of the paired difference;"
        " hatched: the interval includes 0 (within noise)" + (f"\n{note}" if note else ""),
        fontsize=9,
    )
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=f"C{i}", alpha=0.8, label=study) for i, study in enumerate(stats)], fontsize=8)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data
