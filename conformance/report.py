"""Presenting results: the side-by-side table, details of failures and skips, summary
lines, the JSON document and the baseline gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .model import Requirement, Result

MISSING = Result("skip", "not run")


def label(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path


def counts(results: dict[str, Result]) -> tuple[int, int, int]:
    statuses = [r.status for r in results.values()]
    return statuses.count("pass"), statuses.count("fail"), statuses.count("skip")


def summary_line(path: str, results: dict[str, Result]) -> str:
    p, f, s = counts(results)
    return f"{label(path)} ({path}): {p} passed, {f} failed, {s} skipped"


def table(reqs: list[Requirement], results: dict[str, dict[str, Result]]) -> str:
    paths = list(results)
    heads = [label(p) for p in paths]
    idw = max([len(r.id) for r in reqs] + [11])
    colw = [max(len(h), 5) for h in heads]
    lines = [
        f"{'requirement':<{idw}}  {'level':<6}  "
        + "  ".join(f"{h:<{w}}" for h, w in zip(heads, colw, strict=False))
    ]
    lines.append("-" * len(lines[0]))
    for r in reqs:
        cells = []
        for p, w in zip(paths, colw, strict=False):
            st = results[p].get(r.id, MISSING).status
            cells.append(f"{st.upper() if st == 'fail' else st:<{w}}")
        lines.append(f"{r.id:<{idw}}  {r.level:<6}  " + "  ".join(cells))
    return "\n".join(lines)


def details(reqs: list[Requirement], results: dict[str, dict[str, Result]], show_skips: bool = True) -> str:
    lines = []
    for r in reqs:
        for p, res in results.items():
            got = res.get(r.id)
            if got is None or got.status == "pass" or (got.status == "skip" and not show_skips):
                continue
            lines.append(
                f"{got.status.upper():<4} {r.id} [{label(p)}] ({r.spec_file} "
                f"§{r.section}, {r.level}): {got.detail}"
            )
    return "\n".join(lines)


def document(
    reqs: list[Requirement], automated: set[str], results: dict[str, dict[str, Result]] | None
) -> dict:
    return {
        "requirements": [
            {
                "id": r.id,
                "spec_file": r.spec_file,
                "section": r.section,
                "level": r.level,
                "text": r.text,
                "automated": r.id in automated,
            }
            for r in reqs
        ],
        "results": {
            path: {rid: {"status": res.status, "detail": res.detail} for rid, res in per.items()}
            for path, per in (results or {}).items()
        },
    }


def write_json(file: str | Path, doc: dict) -> None:
    Path(file).write_text(json.dumps(doc, indent=1) + "\n")


def regressions(results: dict[str, dict[str, Result]], baseline: str) -> list[tuple[str, str]]:
    """(runtime, requirement id) pairs failing where ``baseline`` passes."""
    base = results[baseline]
    out = []
    for path, per in results.items():
        if path == baseline:
            continue
        for rid, res in per.items():
            if res.status == "fail" and base.get(rid, MISSING).status == "pass":
                out.append((path, rid))
    return out
