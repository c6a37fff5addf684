"""Progress bars in a log: when stderr is not a terminal, a line every few percent
instead of carriage-return redraws (:class:`ProgressLines`)."""
from __future__ import annotations

import contextlib
import re
import sys

__all__ = ["ProgressLines", "progress_lines"]


def progress_lines():
    """A context in which, when stderr is not a terminal (a log file, a pipe), progress bars write
    a line every few percent instead of carriage-return redraws (:class:`ProgressLines`)."""
    stream = sys.stderr
    if getattr(stream, "isatty", None) is None or stream.isatty() or isinstance(stream, ProgressLines):
        return contextlib.nullcontext()
    return contextlib.redirect_stderr(ProgressLines(stream))


class ProgressLines:
    """A text stream in front of ``stream`` that turns progress-bar redraws (text after a
    carriage return, up to the next) into whole lines, each bar's at most every ``every``
    percent (and its first and last); a bar of unknown total shows its final line (the one a
    newline ends). Other text passes through unchanged."""

    def __init__(self, stream, every: float = 5.0):
        self.stream, self.every = stream, every
        self._last: dict[str, float] = {}
        self._open = None  # the last redraw, while no newline has ended it

    def write(self, text: str) -> int:
        if self._open is not None and text.startswith("\n"):  # the newline that ends a bar
            self._show(self._open, final=True)
            text = text[1:]
        first, *redraws = text.split("\r")
        if first:
            self.stream.write(first)
            self._open = None
        for part in redraws:
            line, newline, rest = part.partition("\n")
            self._show(line, final=bool(newline))
            self._open = None if newline else line
            if rest:
                self.stream.write(rest)
        return len(text)

    def _show(self, line: str, final: bool) -> None:
        m = re.match(r"\s*(.*?):?\s*(\d+)%\|", line)
        if m is None:  # a bar of unknown total: its final line
            if final and line.strip():
                self.stream.write(line.strip() + "\n")
            return
        desc, pct = m.group(1), float(m.group(2))
        last = self._last.get(desc)
        if last is None or pct >= last + self.every or pct >= 100 > last:
            self._last[desc] = pct
            self.stream.write(line.strip() + "\n")

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self.stream, name)
