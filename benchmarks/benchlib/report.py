"""Text and markdown tables of a suite run (from its JSON data)."""

from __future__ import annotations


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "KiB":
        return f"{value / 1024:.1f} MiB" if value >= 1024 else f"{value:.0f} KiB"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def unit_label(unit: str) -> str:
    return {"ms": "ms", "KiB": "", "1/s": "", "count": ""}.get(unit, unit)


def scenario_rows(name: str, sc: dict, runtimes: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per runtime (aggregates), one per ratio pair."""
    metrics = sc["metrics"]
    header = ["", *(f"{m} ({unit_label(spec['unit'])})" if unit_label(spec["unit"]) else m
                    for m, spec in metrics.items())]
    rows = []
    summary = sc["summary"]
    for rt, values in summary["per_runtime"].items():
        label = rt + (" *" if runtimes.get(rt, {}).get("wrapped") else "")
        failed = sc["failures"].get(rt)
        if failed:
            label += f" ({failed} failed)"
        rows.append([label, *(fmt(values[m], spec["unit"]) for m, spec in metrics.items())])
    for pair, ratios in summary["ratios"].items():
        rows.append([pair, *(f"{ratios[m]:.2f}×" if ratios[m] is not None else "n/a"
                             for m in metrics)])
    return header, rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths, strict=True)))
    return "\n".join([line(header), "-" * len(line(header)), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def targets_rows(targets: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["target", "measured", "status"]
    rows = [[t["text"], t["measured"],
             t["status"] + (f" ({t['detail']})" if t["detail"] else "")] for t in targets]
    return header, rows


def render(data: dict, table=text_table, heading=lambda s: f"\n== {s}") -> str:
    parts = []
    for name, sc in data["scenarios"].items():
        parts.append(heading(f"{sc['title']} [{name}]"))
        header, rows = scenario_rows(name, sc, data["runtimes"])
        parts.append(table(header, rows))
        for note in sc["notes"]:
            parts.append(f"note: {note}")
        for rt, errors in sc["errors"].items():
            parts.append(f"{rt}: {sc['failures'].get(rt, 0)} failure(s); first: "
                         + errors[0].splitlines()[0][:300])
    if "targets" in data:  # a run of the whole suite; not benchmarks/lifecycle.py's
        parts.append(heading("targets (ratios: median of per-round pyrunc/other ratios)"))
        parts.append(table(*targets_rows(data["targets"])))
    parts.append("")
    for rt, info in data["runtimes"].items():
        parts.append(f"{rt}: {info['version']} ({info['binary']})")
    for note in data["notes"]:
        parts.append(f"note: {note}")
    return "\n".join(parts)


def render_markdown(data: dict) -> str:
    return render(data, table=lambda h, r: "\n" + markdown_table(h, r) + "\n",
                  heading=lambda s: f"\n### {s}")
