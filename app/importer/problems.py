"""What is wrong with the input, by file and line, gathered so that one refusal names them all.

An import is all or nothing: every file is read and checked before anything is written, and the refusal lists
the first problems (by file and line) and how many there are in all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# Problems listed in a refusal; the rest are counted.
SHOWN = 10


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong: `line` is the 1-based line of `file` (0: the file as a whole)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass(slots=True)
class Problems:
    """Problems found so far: up to `SHOWN` of each kind kept for the message, all counted."""

    shown: list[Problem] = field(default_factory=list)
    count: int = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, file: str, line: int, message: str) -> None:
        """Note one problem (`line` 0: the whole file)."""
        self.count += 1
        self.shown.append(Problem(file, line, message))

    def add_rows(
        self,
        file: str,
        lines: npt.NDArray[np.int64],
        bad: npt.NDArray[np.bool_],
        describe: Callable[[int], str],
    ) -> None:
        """Note a problem on every row where `bad` holds; `describe(i)` says what is wrong with row i (called
        for the first `SHOWN` only, so a million bad rows cost no million messages)."""
        rows = np.flatnonzero(bad)
        self.add_many(len(rows), (Problem(file, int(lines[i]), describe(int(i))) for i in rows[:SHOWN]))

    def add_many(self, count: int, first: Iterable[Problem]) -> None:
        """Note `count` problems, of which `first` (up to `SHOWN` of them) are shown."""
        self.count += count
        self.shown.extend(itertools.islice(first, SHOWN))

    def merge(self, other: Problems) -> None:
        self.count += other.count
        self.shown.extend(other.shown)

    def report(self) -> str:
        """The refusal: the first problems in file and line order, then how many more there are."""
        first = sorted(self.shown)[:SHOWN]
        said = [f"Nothing was imported: {self.count:,} problem{'s' if self.count != 1 else ''} in the input."]
        said += [f"  {problem}" for problem in first]
        if self.count > len(first):
            said.append(f"  … and {self.count - len(first):,} more.")
        return "\n".join(said)


class ImportRefusedError(Exception):
    """The input cannot be imported; the message names every problem (or the first ones and their count)."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        super().__init__(problems.report())


def refuse(file: str, message: str, line: int = 0) -> ImportRefusedError:
    """A refusal for one problem."""
    problems = Problems()
    problems.add(file, line, message)
    return ImportRefusedError(problems)
