"""One module per scenario; each has NAME, TITLE, DESCRIPTION and measure(bench) -> Result."""

from . import floor, lifecycle, memory, podman, simple, throughput

SCENARIOS = {m.NAME: m for m in (simple.RunScenario, lifecycle, simple.ExecScenario, podman,
                                 throughput, memory.RssScenario, memory.InitMemoryScenario, floor)}
ALIASES = {"memory": ["rss", "init-memory", "memory-floor"]}
