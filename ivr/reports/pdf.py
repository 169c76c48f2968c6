"""PDF documents in Chinese: a title, headings, paragraphs, tables and charts, one A4 column.

reportlab draws the text with a CJK TrueType font embedded in the file (WenQuanYi Micro Hei,
Debian's fonts-wqy-microhei, by default), so the PDF reads the same on any machine; without
such a font Chinese would come out as empty boxes, so a missing font is an error, not a
fallback. Building a PDF is CPU work of a second or more: callers run `render` in a worker
thread (asyncio.to_thread), never on the event loop.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ivr.errors import ConfigError

FONT_NAME = "CJK"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@dataclasses.dataclass(frozen=True)
class Heading:
    """A section heading."""

    text: str


@dataclasses.dataclass(frozen=True)
class Text:
    """A paragraph of plain text (no markup: it is escaped)."""

    text: str


@dataclasses.dataclass(frozen=True)
class Grid:
    """A table: a header row and the rows under it, all as text."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclasses.dataclass(frozen=True)
class Chart:
    """A reportlab drawing (reportlab.graphics charts), with a caption under it."""

    drawing: Drawing
    caption: str = ""


Block = Heading | Text | Grid | Chart


@functools.cache
def cjk_font(path: Path | None = None) -> str:
    """Register the CJK font once; its name for styles (ConfigError when none is installed)."""
    found = path or next((p for p in FONT_CANDIDATES if p.exists()), None)
    if found is None or not found.exists():
        raise ConfigError(
            "no CJK font for PDF reports: install fonts-wqy-microhei (Debian) or fonts-noto-cjk"
        )
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(found), subfontIndex=0))
    return FONT_NAME


def render(title: str, blocks: Sequence[Block], *, made_at: datetime, author: str) -> bytes:
    """The PDF of a titled document made of `blocks`."""
    font = cjk_font()
    styles = _styles(font)
    story: list[Flowable] = [Paragraph(escape(title), styles["title"])]
    story.append(Paragraph(escape(f"{author}　{made_at:%Y年%m月%d日 %H:%M}"), styles["meta"]))
    for block in blocks:
        story.extend(_flowables(block, styles, font))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, title=title, author=author, leftMargin=20 * mm, rightMargin=20 * mm
    )
    doc.build(story)
    return out.getvalue()


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1),
        "meta": ParagraphStyle("meta", parent=body, fontSize=9, alignment=1, textColor=colors.grey),
        "heading": ParagraphStyle("heading", parent=body, fontSize=13, leading=20, spaceBefore=8),
        "body": body,
        "caption": ParagraphStyle("caption", parent=body, fontSize=9, alignment=1),
    }


def _flowables(block: Block, styles: dict[str, ParagraphStyle], font: str) -> list[Flowable]:
    if isinstance(block, Heading):
        return [Paragraph(escape(block.text), styles["heading"])]
    if isinstance(block, Text):
        return [Paragraph(escape(block.text), styles["body"]), Spacer(1, 2 * mm)]
    if isinstance(block, Grid):
        return [_table(block, styles["body"], font), Spacer(1, 3 * mm)]
    caption = [Paragraph(escape(block.caption), styles["caption"])] if block.caption else []
    return [block.drawing, *caption, Spacer(1, 3 * mm)]


def _table(grid: Grid, style: ParagraphStyle, font: str) -> Table:
    cells = [[Paragraph(escape(str(cell)), style) for cell in row] for row in grid.rows]
    header = [Paragraph(f"<b>{escape(cell)}</b>", style) for cell in grid.header]
    table = Table([header, *cells], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table
