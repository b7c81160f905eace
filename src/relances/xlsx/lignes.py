"""Reading stage, the cells of one row: a field's cell, and the unknown values (errors,
formulas without a value) that stop chasing."""

from __future__ import annotations

from .sheet import column_letter


def cell_of(row: list[object], columns: dict[str, int], name: str) -> object:
    position = columns.get(name)
    if position is None or position >= len(row):
        return None
    return row[position]


def unknown_in(index: int, columns: dict[str, int], inconnues: dict[tuple[int, int], str],
                stopping: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field, label with cell reference, what the cell holds) for this row's unknown cells."""
    found = []
    for name, label in stopping.items():
        position = columns.get(name)
        if position is not None and (index, position + 1) in inconnues:
            found.append((name, f"{label} ({column_letter(position + 1)}{index})",
                          inconnues[(index, position + 1)]))
    return found

