"""One PNG with a panel per scenario (matplotlib, imported only here)."""

from __future__ import annotations

import math

from .report import unit_label

COLORS = {"pyrunc": "#3572A5", "runc": "#00ADD8", "crun": "#A8B9CC"}
HEADLINE = {"lifecycle": "create+start+delete"}  # the metric whose ratios go in the title


def write_plot(data: dict, path: str) -> str | None:
    """Write the plot; returns None, or why it was skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no plot"
    panels = [(n, sc) for n, sc in data["scenarios"].items()
              if any(v is not None for r in sc["summary"]["per_runtime"].values() for v in r.values())]
    if not panels:
        return "nothing measured: no plot"
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    wrapped = {rt for rt, info in data["runtimes"].items() if info.get("wrapped")}
    for ax, (name, sc) in zip(axes.flat, panels, strict=False):
        draw_panel(ax, name, sc, wrapped)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    host = data["host"]
    fig.suptitle(f"pyrunc vs runc vs crun — {data['settings']['rounds']} interleaved rounds, "
                 f"{host['cpus']} CPUs, kernel {host['kernel']}"
                 + (" (crun* via nsenter, see notes)" if any(
                     r.get("wrapped") for r in data["runtimes"].values()) else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def draw_panel(ax, name: str, sc: dict, wrapped: set[str]) -> None:
    metrics = [m for m in sc["metrics"] if m not in ("failed", "round")]
    per_rt = sc["summary"]["per_runtime"]
    names = list(per_rt)
    width = 0.8 / max(1, len(names))
    unit = sc["metrics"][metrics[0]]["unit"]
    scale = 1 / 1024 if unit == "KiB" else 1
    for i, rt in enumerate(names):
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metrics))]
        ys = [(per_rt[rt][m] or 0) * scale for m in metrics]
        bars = ax.bar(xs, ys, width, label=rt + ("*" if rt in wrapped else ""),
                      color=COLORS.get(rt))
        ax.bar_label(bars, labels=[_label(v) for v in ys], fontsize=7, padding=1)
    ax.set_xticks(range(len(metrics)), metrics, fontsize=8,
                  rotation=20 if len(metrics) > 3 else 0)
    ylabel = {"KiB": "MiB", "1/s": "containers/s"}.get(unit, unit_label(unit) or unit)
    ax.set_ylabel(ylabel)
    headline = HEADLINE.get(name, metrics[0])
    ratios = [f"{pair} {r[headline]:.2f}×" for pair, r in sc["summary"]["ratios"].items()
              if r.get(headline) is not None]
    title = sc["title"] + (f"\n{headline}: " + ", ".join(ratios) if ratios else "")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.margins(y=0.15)


def _label(v: float) -> str:
    return "" if v == 0 else (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}")
