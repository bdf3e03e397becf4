"""CSV tables: one example a row, one column of labels, every other column a feature.

An optional header row names the columns (it is detected: a first row that is
not all numbers where the next row is). The label column is ``label_column``
(a header name or a 0-based index, negative from the end), else a column named
``label``, else the last. Labels are whole numbers 0..K-1 or class names
(sorted to give the indices). The features are flat ``(N, F)``;
``input_shape=(C, L)`` or ``(C, H, W)`` reshapes them. A CSV holds one split:
give the test split with ``test_data`` (a second CSV) or ``test_split``.
Commas separate the values; a file whose first line has none but tabs or
semicolons uses those.
"""

from __future__ import annotations

import csv as _csv
from pathlib import Path

import numpy as np

from ..errors import SbnError
from .dataset import Parts, Source


def detect(path: Path) -> bool:
    path = Path(path)
    return path.is_file() and path.suffix.lower() == ".csv"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in (",", "\t", ";"):
        if delimiter in first:
            return delimiter
    return ","


def rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows of ``path`` with their line numbers, all of one width; one line if ragged."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SbnError(f"{path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SbnError(f"cannot read {path} as CSV text ({err}); save it as UTF-8 text") from None
    reader = _csv.reader(text.splitlines(), delimiter=_delimiter(text))
    found = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                found.append((reader.line_num, [cell.strip() for cell in row]))
    except _csv.Error as err:
        raise SbnError(f"{path} line {reader.line_num} is not valid CSV ({err}); fix the quoting") from None
    if not found:
        raise SbnError(f"{path} is empty; it needs one example a row")
    width = len(found[0][1])
    for line, row in found:
        if len(row) != width:
            raise SbnError(f"{path} line {line} has {len(row)} values but line {found[0][0]} has {width}; "
                           "every row needs the same columns (a ragged CSV)")
    return found


def _has_header(found) -> bool:
    first = found[0][1]
    if all(_is_number(c) for c in first):
        return False
    if not any(_is_number(c) for c in first) or len(found) == 1:
        return True
    second = found[1][1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))


def _label_index(path: Path, header: list[str] | None, width: int, label_column) -> int:
    if label_column is None:
        if header is not None:
            lowered = [h.lower() for h in header]
            if "label" in lowered:
                return lowered.index("label")
        return width - 1
    if isinstance(label_column, str):
        if header is not None and label_column in header:
            return header.index(label_column)
        if label_column.lstrip("-").isdigit():
            label_column = int(label_column)
        else:
            have = f"its header has {', '.join(header)}" if header is not None else "it has no header row"
            raise SbnError(f"{path} has no label column {label_column!r} ({have}); name an existing column "
                           "with --label-column or give its index")
    if isinstance(label_column, bool) or not isinstance(label_column, (int, np.integer)):
        raise SbnError(f"label column {label_column!r} must be a column name or an index")
    index = int(label_column)
    if not -width <= index < width:
        raise SbnError(f"{path} has {width} columns; the label column {index} is missing, give an index "
                       f"0..{width - 1} or a header name")
    return index % width


def _numbers(path: Path, cells: np.ndarray, lines: list[int], columns: list[int], header) -> np.ndarray:
    try:
        return cells.astype(np.float64)
    except ValueError:
        pass
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if not _is_number(cell):
                name = f" ({header[columns[j]]})" if header is not None else ""
                shown = repr(str(cell)) if cell else "an empty value"
                raise SbnError(f"{path} line {lines[i]} column {columns[j] + 1}{name} holds {shown}, not a "
                               "number; every feature must be a number")
    raise SbnError(f"{path} holds values that are not numbers; every feature must be a number")


def read(path: Path, options: dict) -> Parts:
    path = Path(path)
    found = rows(path)
    header = None
    if _has_header(found):
        header = found[0][1]
        found = found[1:]
    width = len(header) if header is not None else len(found[0][1])
    if width < 2:
        raise SbnError(f"{path} has one column; it needs the features and a label column")
    label = _label_index(path, header, width, options.get("label_column"))
    columns = [j for j in range(width) if j != label]
    lines = [line for line, _ in found]
    table = np.array([row for _, row in found], dtype=str).reshape(len(found), width)
    x = _numbers(path, table[:, columns], lines, columns, header)
    if x.size and np.isfinite(x).all() and (x == np.round(x)).all() and np.abs(x).max() < 2 ** 53:
        x = x.astype(np.int64)
    y_cells = table[:, label]
    if all(_is_number(c) for c in y_cells):
        y = y_cells.astype(np.float64)
    else:
        empty = np.flatnonzero(y_cells == "")
        if empty.size:
            raise SbnError(f"{path} line {lines[int(empty[0])]} has no label; give every row a label")
        y = y_cells
    return Parts({"train": (x, y)}, {"train": str(path)},
                 missing_test_hint=f"{path} holds one split (a CSV has no test split of its own)")


SOURCE = Source("csv", detect, read, "a .csv file (one example a row, a label column)")
