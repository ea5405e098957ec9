"""JSON for the hot commands without the `json` package.

`import json` costs ~8 ms (it pulls in `re` and `enum`); `state`, `start`, `kill` and `delete`
run on every container an engine manages, so they parse and print JSON with the C scanner and
string encoder of the `_json` accelerator module directly (~0.3 ms to import).
Only the error path (invalid JSON) reaches into the `json` package, for its message.
"""

import _json


class _Context:
    # The attributes the C scanner reads from json.JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan = _json.make_scanner(_Context())
_WS = " \t\n\r"


def loads(text: str | bytes):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration as stop:
        _fail(text, stop.value, "Expecting value")
    except SystemError:
        # The C scanner raises json.decoder.JSONDecodeError for errors inside a value only if
        # json.decoder is already imported; otherwise it fails without an exception set. Let
        # the json package parse the text again: it raises the error with its message.
        import json

        json.loads(text)
        raise
    rest = text[end:]
    if rest.strip(_WS):
        _fail(text, end, "Extra data")
    return value


def _fail(text: str, pos: int, msg: str):
    from json import JSONDecodeError

    raise JSONDecodeError(msg, text, pos)


_esc = _json.encode_basestring_ascii


def _unencodable(value):
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


# The C encoder of `_json` (what json.dumps uses without indent); compact, ASCII, no NaN.
_c_encode = _json.make_encoder(None, _unencodable, _esc, None, ":", ",", False, False, False)


def dumps(value, indent: int | None = None) -> str:
    if indent is None:
        return "".join(_c_encode(value, 0))
    parts: list[str] = []
    _encode(value, parts, indent, 0)
    return "".join(parts)


def _encode(value, out: list[str], indent: int | None, level: int) -> None:
    if isinstance(value, str):
        out.append(_esc(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        _container(((_esc(str(k)) + (": " if indent is not None else ":"), v) for k, v in value.items()),
                    "{", "}", bool(value), out, indent, level)
    elif isinstance(value, (list, tuple)):
        _container((("", v) for v in value), "[", "]", bool(value), out, indent, level)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _container(items, open_: str, close: str, nonempty: bool, out, indent, level) -> None:
    if not nonempty:
        out.append(open_ + close)
        return
    out.append(open_)
    inner = "\n" + " " * (indent * (level + 1)) if indent is not None else ""
    first = True
    for prefix, v in items:
        out.append(inner if first else "," + inner)
        first = False
        out.append(prefix)
        _encode(v, out, indent, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(close)
