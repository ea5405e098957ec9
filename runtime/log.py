"""The runtime's log: runc's `--log FILE --log-format text|json`.

Engines read this: podman parses the whole log file as one JSON document when it is not in
debug mode, so without --debug only errors are written, one line each.
"""

import os
import time

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def _now() -> str:
    t = time.time()
    frac = f"{t % 1:.9f}"[1:]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + frac + "Z"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _json_line(level: str, msg: str, when: str) -> str:
    # The json module costs ~10 ms to import; three string fields need no more than this.
    def esc(s: str) -> str:
        out = s.replace("\\", "\\\\").replace('"', '\\"')
        if any(ord(c) < 0x20 for c in out):
            out = "".join(c if ord(c) >= 0x20 else f"\\u{ord(c):04x}" for c in out)
        return out

    return f'{{"level":"{level}","msg":"{esc(msg)}","time":"{when}"}}'


class Logger:
    def __init__(self, path: str | None = None, fmt: str = "text", debug: bool = False,
                 trace_path: str | None = None):
        self.path = path
        self.fmt = fmt
        # PYRUNC_TRACE=FILE: every kernel step as a JSON line, for engines that pass no flags.
        self.trace_path = trace_path
        self.steps: dict[str, list[int]] = {}  # step name -> [count, total us], for the summary
        # podman reads a JSON log file as one document unless in debug mode: there, only the
        # error line may be written. Elsewhere warnings (a failed poststop hook) are shown.
        quiet = _LEVELS["error"] if fmt == "json" else _LEVELS["warning"]
        self.threshold = _LEVELS["debug"] if debug else quiet
        self._fd: int | None = None

    @property
    def to_stderr(self) -> bool:
        return not self.path

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self.threshold

    @property
    def tracing(self) -> bool:
        return bool(self.trace_path) or self.enabled("debug")

    def trace(self, entry: dict, line: str) -> None:
        """One executed step: to the trace file as JSON, to the log as a debug line."""
        if self.trace_path:
            fd = os.open(self.trace_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, (line.rstrip("}") + f',"time":"{_now()}"}}\n').encode())
            finally:
                os.close(fd)
        name = entry["step"].partition("(")[0]
        count_total = self.steps.setdefault(name, [0, 0])
        count_total[0] += 1
        count_total[1] += entry.get("us", 0)
        if self.enabled("debug"):
            result = f" = {entry['result']}" if "result" in entry else ""
            result = f" -> {entry['error']}" if "error" in entry else result
            field = f"  <- {entry['field']}" if entry.get("field") else ""
            self.debug(f"{entry['proc']}: {entry['step']}{result} ({entry['us']} us){field}")

    def step_summary(self, top: int = 6) -> str:
        """Where the traced time went, costliest step kinds first."""
        ranked = sorted(self.steps.items(), key=lambda kv: kv[1][1], reverse=True)[:top]
        return "step time: " + ", ".join(f"{name} x{n} {us / 1000:.1f} ms" for name, (n, us) in ranked)

    def format(self, level: str, msg: str) -> str:
        when = _now()
        if self.fmt == "json":
            return _json_line(level, msg, when)
        return f'time="{when}" level={level} msg={_quote(msg)}'

    def write_line(self, line: str) -> None:
        if self._fd is None:
            if self.path:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            else:
                self._fd = 2
        try:
            os.write(self._fd, (line + "\n").encode("utf-8", "replace"))
        except OSError:
            pass  # a closed log must not turn a result into a crash

    def log(self, level: str, msg: str) -> None:
        if self.enabled(level):
            self.write_line(self.format(level, msg))

    def debug(self, msg: str) -> None:
        self.log("debug", msg)

    def warning(self, msg: str) -> None:
        self.log("warning", msg)

    def error(self, msg: str) -> None:
        self.log("error", msg)


# The process-wide logger, configured by the CLI from the global flags.
current = Logger()


def configure(path: str | None, fmt: str, debug: bool, trace_path: str | None = None) -> Logger:
    global current
    current = Logger(path, fmt, debug, trace_path)
    return current
