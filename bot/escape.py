"""Control characters made visible, so no terminal or chat receives a raw escape sequence.

Users can type anything, and replies and log lines echo what they typed. A raw ESC (`\\x1b`)
would reach an operator's terminal as a colour or cursor command, a vertical tab or record
separator would break a chat message, so each one is written out as its Python escape instead.
Newlines and tabs are layout, not escapes, and are kept.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080 to U+009F).
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with each control character written as its escape (ESC becomes `\\x1b`)."""
    return CONTROLS.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
