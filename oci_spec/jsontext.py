"""Strict JSON parsing without importing the `json` package on the happy path.

`import json` costs ~8 ms (it pulls in `re` and `enum`), paid on every `create`. The C
scanner of the `_json` accelerator does the parsing; only a document that fails to parse
goes through `json` again, for its error message with line and column.
"""

import _json


class _Strict:
    # The attributes the C scanner reads from a json.JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str):
        # Python's json accepts NaN and Infinity; JSON (and Go) do not.
        raise ValueError(f"{name} is not a JSON value")


_scan = _json.make_scanner(_Strict())
_WS = " \t\n\r"


class Invalid(ValueError):
    """Not a JSON document; `lineno`, `colno` and `msg` say where and why (as json's error)."""

    def __init__(self, msg: str, lineno: int = 0, colno: int = 0):
        super().__init__(msg)
        self.msg, self.lineno, self.colno = msg, lineno, colno


def loads(text: str):
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
        if not text[end:].strip(_WS):
            return value
    except ValueError as e:  # a NaN/Infinity (ours), or json's own error once json is loaded
        if not hasattr(e, "lineno"):
            raise Invalid(str(e)) from None
    except (StopIteration, SystemError):
        # StopIteration: no value where one must be. SystemError: the C scanner reports an
        # error inside a value through json.decoder, which it finds only if it was imported.
        pass
    _explain(text)


def _explain(text: str):
    import json

    try:
        json.loads(text, parse_constant=_Strict.parse_constant)
    except json.JSONDecodeError as e:
        raise Invalid(e.msg, e.lineno, e.colno) from None
    except ValueError as e:
        raise Invalid(str(e)) from None
    raise Invalid("not a JSON document")  # json took what the scanner refused: never expected
