"""Control characters made visible, so no terminal, log viewer or chat obeys one a user sent.

Replies and log lines carry text from outside (a user's query, a chat title, PubMed's error
messages). A raw ESC (`\\x1b`) reaches an operator's terminal as a colour or cursor command, a
carriage return or newline can forge a line that looks like our own, a bidi override makes a
line read backwards. Each such character is written as its escape instead (`\\x1b`, `\\u202e`).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidirectional
# overrides that some viewers act on.
_UNSAFE = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)]
_UNSAFE += range(0x2066, 0x206A)
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _UNSAFE}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_ESCAPES_KEEP_NEWLINES = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}
# What a test may look for: any character `escape_lines` would have escaped.
CONTROLS = re.compile("[" + "".join(re.escape(chr(c)) for c in _ESCAPES_KEEP_NEWLINES) + "]")


def escape(text: str) -> str:
    """`text` with every control character written as an escape: safe on one line."""
    return text.translate(_ESCAPES)


def escape_lines(text: str) -> str:
    """Like `escape`, but newlines stay: for replies and tracebacks, which read as lines."""
    return text.translate(_ESCAPES_KEEP_NEWLINES)
