"""The performance issue's targets, checked against a suite run's summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass

BASE = "pyrunc"


@dataclass
class Target:
    text: str
    measured: str = "n/a"
    status: str = "not measured"   # met | missed | not measured
    detail: str = ""


def _ratio(scenarios: dict, scenario: str, metric: str, other: str) -> float | None:
    summary = scenarios.get(scenario, {}).get("summary", {})
    return summary.get("ratios", {}).get(f"{BASE}/{other}", {}).get(metric)


def _value(scenarios: dict, scenario: str, metric: str, runtime: str = BASE) -> float | None:
    summary = scenarios.get(scenario, {}).get("summary", {})
    return summary.get("per_runtime", {}).get(runtime, {}).get(metric)


def _ratio_target(text: str, ratio: float | None, limit: float, higher_is_better=False) -> Target:
    t = Target(text)
    if ratio is None:
        return t
    t.measured = f"{ratio:.2f}×"
    ok = ratio >= limit if higher_is_better else ratio <= limit
    t.status = "met" if ok else "missed"
    if not ok:
        t.detail = (f"needs {(limit / ratio - 1) * 100:.0f}% more" if higher_is_better
                    else f"needs {(1 - limit / ratio) * 100:.0f}% less time")
    return t


def check(scenarios: dict) -> list[dict]:
    out = [
        _ratio_target("`run /bin/true` ≤ 0.8× runc", _ratio(scenarios, "run", "run", "runc"), 0.8),
        _ratio_target("`run /bin/true` ≤ 1.3× crun", _ratio(scenarios, "run", "run", "crun"), 1.3),
        _ratio_target("create+start+delete ≤ 1.0× runc",
                      _ratio(scenarios, "lifecycle", "create+start+delete", "runc"), 1.0),
        _ratio_target("`exec` ≤ 1.0× runc", _ratio(scenarios, "exec", "exec", "runc"), 1.0),
        _ratio_target("`podman run --rm` ≤ 1.0× with runc",
                      _ratio(scenarios, "podman", "podman run", "runc"), 1.0),
        _floor_target(scenarios),
        _rss_target(scenarios),
        _throughput_target(scenarios),
    ]
    return [asdict(t) for t in out]


def _floor_target(scenarios: dict) -> Target:
    t = Target("`run /bin/true` succeeds with a 1 MiB memory limit")
    if "memory-floor" not in scenarios:
        return t
    floor = _value(scenarios, "memory-floor", "floor")
    if floor is None:
        t.status, t.detail = "missed", "failed at every limit tried"
        return t
    at_low = floor <= scenarios["memory-floor"].get("extra", {}).get("low_kib", 0)
    t.measured = f"floor {'≤ ' if at_low else ''}{floor:.0f} KiB"
    t.status = "met" if floor <= 1024 else "missed"
    if floor > 1024:
        t.detail = f"needs {floor / 1024:.2f} MiB"
    return t


def _rss_target(scenarios: dict) -> Target:
    t = Target("peak RSS of every pyrunc command ≤ runc's")
    ratios = scenarios.get("rss", {}).get("summary", {}).get("ratios", {}).get(f"{BASE}/runc")
    if not ratios or all(v is None for v in ratios.values()):
        return t
    worst_cmd, worst = max(((c, r) for c, r in ratios.items() if r is not None),
                           key=lambda cr: cr[1])
    t.measured = f"worst: {worst_cmd} {worst:.2f}×"
    over = sorted(c for c, r in ratios.items() if r is not None and r > 1.0)
    t.status = "missed" if over else "met"
    if over:
        t.detail = "over: " + ", ".join(f"{c} {ratios[c]:.2f}×" for c in over)
    return t


def _throughput_target(scenarios: dict) -> Target:
    t = Target("all 100 containers succeed, throughput ≥ runc's")
    if "throughput" not in scenarios:
        return t
    failed = _value(scenarios, "throughput", "failed")
    ratio = _ratio(scenarios, "throughput", "containers/s", "runc")
    t = _ratio_target(t.text, ratio, 1.0, higher_is_better=True) if ratio is not None else t
    if failed is not None:
        t.measured = f"{t.measured if ratio is not None else ''} {int(failed)} failed".strip()
        if failed > 0:
            t.status = "missed"
            t.detail = (t.detail + "; " if t.detail else "") + f"{int(failed)} failures"
        elif ratio is None:
            t.status = "not measured"
    return t
