"""The statistics' tables as files for Excel: CSV and XLSX.

CSV is the duty schedule's (ivr.duty.exchange): UTF-8 with a byte-order mark so Excel shows
the Chinese, CRLF line ends, and a cell that starts with = + - @ (or a tab or CR) gets a
leading apostrophe so Excel never runs it as a formula; the values are as the page shows
them. XLSX (openpyxl) keeps numbers as numbers (rates as percentages, durations in seconds
or hours) with one sheet per table; a text cell is always stored as text, never as a formula.
Building a workbook is CPU work: callers run `xlsx_bytes` in a thread.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

# no stubs for openpyxl in the environment (types-openpyxl is not a test dependency)
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import Cell as SheetCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from ivr.duty import exchange
from ivr.stats.tables import NOTHING, Cell, Table, Unit

FORMATS = {Unit.PERCENT: "0.0%", Unit.SECONDS: "0.0", Unit.HOURS: "0.0", Unit.COUNT: "0"}
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def csv_bytes(table: Table) -> bytes:
    """One table as CSV for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in (table.header(), *table.shown()):
        writer.writerow(exchange._safe(cell) for cell in row)
    return (exchange.BOM + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Sequence[Table], heading: str) -> bytes:
    """Some tables as a workbook, one sheet each, `heading` above each table."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(_SHEET_UNSAFE.sub("_", table.title)[:31])
        _text(sheet.cell(row=1, column=1), f"{heading} {table.title}").font = Font(bold=True)
        for column, label in enumerate(table.header(), start=1):
            _text(sheet.cell(row=2, column=column), label).font = Font(bold=True)
        for number, row in enumerate(table.rows, start=3):
            for column, (value, spec) in enumerate(zip(row, table.columns, strict=True), start=1):
                _put(sheet.cell(row=number, column=column), value, spec.unit)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(cell: SheetCell, value: Cell, unit: Unit) -> None:
    if value is None or isinstance(value, str):
        _text(cell, NOTHING if value is None else value)
        return
    cell.value = value / 3600 if unit is Unit.HOURS else value
    cell.number_format = FORMATS.get(unit, "General")


def _text(cell: SheetCell, text: str) -> SheetCell:
    cell.value = text
    cell.data_type = "s"  # openpyxl takes a leading "=" for a formula otherwise
    return cell
