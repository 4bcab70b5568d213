"""Text from files and payloads (labels, paths) made inert for pictures and pages.

Control characters (NUL, ESC, newlines...) and the Unicode bidi controls
(U+202E RIGHT-TO-LEFT OVERRIDE and its kin), which reorder the text around
them, are shown as visible escapes ('\\x00', '\\u202e') instead.
"""

from __future__ import annotations

BIDI_CONTROLS = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_INERT = {c: f"\\x{c:02x}" for c in [*range(32), *range(127, 160)]} | {c: f"\\u{c:04x}" for c in BIDI_CONTROLS}


def inert(text: object) -> str:
    """`text` with every control and bidi control character replaced by its escape."""
    return str(text).translate(_INERT)


def plot_text(text: str) -> str:
    """Text as matplotlib should draw it: '$' would start mathtext."""
    return text.replace("$", r"\$")
