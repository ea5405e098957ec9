"""Per-runtime aggregates and pairwise ratios of a scenario's samples."""

from __future__ import annotations

import statistics

from .bench import Result


def aggregate(values: list[float | None], how: str) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if how == "median":
        return statistics.median(present)
    if how == "max":
        return max(present)
    if how == "sum":
        return sum(present)
    return present[0]  # "single": one value per runtime


def paired_ratio(a: list[float | None], b: list[float | None]) -> float | None:
    """Median over rounds of a[i] / b[i]: rounds i of A and B ran next to each other, so
    machine load that changes during the run mostly cancels out."""
    pairs = [x / y for x, y in zip(a, b, strict=False) if x is not None and y]
    return statistics.median(pairs) if pairs else None


def summarize(result: Result, names: list[str], base: str | None) -> dict:
    per_runtime = {
        name: {m: aggregate(result.samples.get(name, {}).get(m, []), spec["aggregate"])
               for m, spec in result.metrics.items()}
        for name in names}
    ratios: dict[str, dict[str, float | None]] = {}
    if base in names:
        for other in names:
            if other == base:
                continue
            pair = {}
            for metric, spec in result.metrics.items():
                if spec["aggregate"] == "median":
                    pair[metric] = paired_ratio(result.samples.get(base, {}).get(metric, []),
                                                result.samples.get(other, {}).get(metric, []))
                else:
                    a, b = per_runtime[base][metric], per_runtime[other][metric]
                    pair[metric] = a / b if a is not None and b else None
            ratios[f"{base}/{other}"] = pair
    return {"per_runtime": per_runtime, "ratios": ratios}
