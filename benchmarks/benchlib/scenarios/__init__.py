"""The scenarios: each (a module, or a class or object in one) has NAME, TITLE, DESCRIPTION
and measure(bench) -> Result."""

from . import floor, lifecycle, memory, podman, simple, throughput

SCENARIOS = {m.NAME: m for m in (simple.RUN, lifecycle, simple.EXEC, podman,
                                 throughput, memory.RssScenario, memory.InitMemoryScenario, floor)}
ALIASES = {"memory": ["rss", "init-memory", "memory-floor"]}
