"""Plain-text tables for terminal summaries (class status, grading runs).

>>> print(format_table([{"student": "alice", "score": "6/6"}], ["student", "score"]))
student  score
-------  -----
alice    6/6
"""

from __future__ import annotations


def format_table(rows: list[dict], columns: list[str]) -> str:
    """Left-aligned columns sized to their widest cell; missing cells print as '-'."""
    cells = [[str(row.get(column, "-")) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[index]) for line in cells]) for index, column in enumerate(columns)]
    lines = [columns, ["-" * width for width in widths], *cells]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def count_by(rows: list[dict], column: str) -> str:
    """'2 up, 1 failed': how many rows have each value of `column`, in first-seen order."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get(column))] = counts.get(str(row.get(column)), 0) + 1
    return ", ".join(f"{count} {value}" for value, count in counts.items())
