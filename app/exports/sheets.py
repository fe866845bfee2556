"""Spreadsheets (XLSX) of report rows, written in memory with xlsxwriter: texts as texts (never
formulas), whole numbers as numbers, missing figures as empty cells."""

import io
from collections.abc import Mapping, Sequence
from typing import Any

import xlsxwriter


def xlsx(sheet: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """One sheet named ``sheet``: a bold header of ``columns``, then one line per row."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    page = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    for x, name in enumerate(columns):
        page.write_string(0, x, name, bold)
    for y, row in enumerate(rows, start=1):
        for x, name in enumerate(columns):
            value = row.get(name)
            if value is None:
                page.write_blank(y, x, None)
            elif isinstance(value, bool):
                page.write_boolean(y, x, value)
            elif isinstance(value, int | float):
                page.write_number(y, x, value)
            else:
                page.write_string(y, x, str(value))
    page.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
