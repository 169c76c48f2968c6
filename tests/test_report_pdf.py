"""The PDF building block: Chinese text embedded with a CJK font, tables and charts, checked by
reading the text back and rendering the page to an image."""

from __future__ import annotations

from datetime import datetime

import pypdfium2 as pdfium
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing

from ivr.reports.pdf import Chart, Grid, Heading, Text, render


def bar_chart() -> Drawing:
    """A small bar chart."""
    drawing = Drawing(300, 150)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 20, 250, 110
    chart.data = [(12, 30, 7)]
    drawing.add(chart)
    return drawing


def test_a_chinese_report_renders_with_its_font_and_reads_back() -> None:
    blocks = [
        Heading("一、总体情况"),
        Text("本月共受理市民诉求 1234 件，办结率 96.5%。"),
        Grid(["类别", "件数"], [["城市管理", "300"], ["供水", "120"]]),
        Chart(bar_chart(), "图1 各类诉求件数"),
    ]
    pdf = render("12345热线月报", blocks, made_at=datetime(2031, 3, 31, 9), author="热线办")
    assert pdf.startswith(b"%PDF")
    assert b"WenQuanYiMicroHei" in pdf, "the CJK font is embedded (a subset)"
    document = pdfium.PdfDocument(pdf)
    text = document[0].get_textpage().get_text_range()
    for expected in ("12345热线月报", "一、总体情况", "办结率", "城市管理", "图1 各类诉求件数"):
        assert expected in text
    image = document[0].render(scale=1).to_pil().convert("L")
    # drawn glyphs, not blank boxes: the title line has dark pixels in many columns
    title_band = image.crop((0, 40, image.width, 110))
    dark_columns = sum(
        1
        for x in range(title_band.width)
        if min(title_band.getpixel((x, y)) for y in range(70)) < 100  # type: ignore[type-var]
    )
    assert dark_columns > 80
