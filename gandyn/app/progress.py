"""Progress bars in a log: when stderr is not a terminal, a line every few percent
instead of carriage-return redraws (:class:`ProgressLines`)."""
from __future__ import annotations

import contextlib
import re
import sys

__all__ = ["ProgressLines", "progress_lines"]


@contextlib.contextmanager
def progress_lines():
    """When stderr is not a terminal (a log file, a pipe), progress bars write a line every
    few percent instead of carriage-return redraws (:class:`ProgressLines`)."""
    stream = sys.stderr
    if getattr(stream, "isatty", None) is None or stream.isatty() or isinstance(stream, ProgressLines):
        yield
        return
    sys.stderr = ProgressLines(stream)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = stream


class ProgressLines:
    """A text stream in front of ``stream`` that turns progress-bar redraws (text after a
    carriage return) into whole lines, each bar's at most every ``every`` percent (and its
    first and last); other text passes through unchanged."""

    def __init__(self, stream, every: float = 5.0):
        self.stream, self.every = stream, every
        self._last: dict[str, float] = {}
        self._pending = ""

    def write(self, text: str) -> int:
        if "\r" not in text and not self._pending:
            return self.stream.write(text)
        parts = (self._pending + text).split("\r")
        self._pending = ""
        for i, part in enumerate(parts):
            if not part.strip():
                continue
            head, newline, tail = part.partition("\n")
            if i == len(parts) - 1 and not newline and not text.endswith("\r"):
                # a redraw may come in pieces: keep it until the next carriage return
                self._pending = "\r" + part
                continue
            if i == 0 and newline:  # ordinary text before the first redraw
                self.stream.write(part)
                continue
            m = re.match(r"\s*(.*?):?\s*(\d+)%\|", head)
            if m is not None:
                desc, pct = m.group(1), float(m.group(2))
                last = self._last.get(desc)
                if last is None or pct >= last + self.every or (pct >= 100 > last):
                    self._last[desc] = pct
                    self.stream.write(head.strip() + "\n")
            elif newline and head.strip():  # a bar's final line of unknown total
                self.stream.write(head.strip() + "\n")
            if tail.strip():  # ordinary text after a redraw
                self.stream.write(tail)
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self.stream, name)
