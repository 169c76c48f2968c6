"""The monthly report (月报): a month's statistics in words, tables and charts, as a PDF.

The figures are the statistics pages' (ivr.stats.figures defines them; ivr.stats.tables
lays them out), so the report and the console always agree. Charts are reportlab drawings
with the report's CJK font: calls per day, the daily answer rates against the 95 % target,
cases by category, and each department's 办结率 and 满意率. Building it is CPU work of a
second or more: callers run `monthly_report` in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors

from ivr.reports.pdf import Block, Chart, Grid, Heading, Text, cjk_font, render
from ivr.stats.digest import Statistics
from ivr.stats.figures import CallSums, CaseSums
from ivr.stats.tables import (
    FIGURES,
    Labels,
    Table,
    agent_table,
    department_table,
    series_table,
    share_table,
    show,
    summary_table,
)

WIDTH = 460
TOP_AGENTS = 20
BLUE, DARK, RED, GREEN = (colors.HexColor(c) for c in ("#9ec5e8", "#1f5f99", "#c0392b", "#2e8b57"))


def monthly_report(stats: Statistics, labels: Labels, *, made_at: datetime, author: str) -> bytes:
    """The PDF of a month's statistics."""
    font = cjk_font()
    title = f"12345政务服务便民热线{stats.period.label()}月报"
    blocks: list[Block] = [
        Heading("一、总体情况"),
        Text(overview(stats.calls, stats.cases)),
        _grid(summary_table("summary", "总体指标", stats.calls, stats.cases)),
        Heading("二、话务情况"),
        Chart(calls_chart(stats, font), "图1 每日人工队列来电与接通量"),
        Chart(rates_chart(stats, font), "图2 每日接通率与15秒接通率（虚线为95%目标）"),
        _grid(_daily(stats)),
        Heading("三、诉求分类"),
        Chart(category_chart(stats, labels, font), "图3 各类诉求受理量"),
        _grid(share_table("categories", "诉求分类", "分类", stats.by_category, labels.categories)),
        _grid(share_table("priorities", "诉求类别", "类别", stats.by_priority, labels.priorities)),
        Heading("四、承办单位办理情况"),
        Chart(department_chart(stats, font), "图4 各承办单位办结率与满意率"),
        _grid(_league(stats)),
        *_agents(stats),
        Heading("六、领导接听日"),
        Text(overview(stats.leader_calls, stats.leader_cases, leader=True)),
        _grid(summary_table("leader", "领导接听日", stats.leader_calls, stats.leader_cases)),
        Heading("附：指标口径"),
        Text(DEFINITIONS),
    ]
    return render(title, blocks, made_at=made_at, author=author)


DEFINITIONS = (
    "来电按进入人工队列的时间计入统计期；接通率＝接通量÷呼入量，15秒接通率＝等待不超过15秒"
    "即接通的来电÷呼入量（GB/T 33358-2016 要求接通率不低于95%）。"
    "受理量为坐席登记的工单（不含未受理的草稿）。"
    "按时签收率＝按时签收的交办÷本期签收的交办；按时回复率＝在回复时限（含批准的延期）内回复÷本期回复；"
    "办结率＝回复时限在本期、现已回访或归档的工单÷回复时限在本期的工单（截至统计时，已并单的除外）；"
    "满意率＝（满意＋基本满意）÷本期回访；解决率＝已解决÷本期回访；重办件数为本期重新办理的交办。"
    "领导接听日指标为进入领导专线的来电和领导接听的工单，同时计入总体指标。无可计算对象的比率记为“—”。"
)


def overview(calls: CallSums, cases: CaseSums, *, leader: bool = False) -> str:
    """The period's figures in one paragraph."""
    values = {key: show(get(calls, cases)[0], unit) for key, _, unit, get in FIGURES}
    who = "领导接听日共有" if leader else "本月共有"
    return (
        f"{who} {values['offered']} 通来电进入人工队列，接通 {values['answered']} 通，"
        f"接通率 {values['answer_rate']}（目标不低于95%），15秒接通率 {values['service_level']}，"
        f"放弃 {values['abandoned']} 通；平均等待 {values['average_wait']} 秒，"
        f"平均通话 {values['average_talk']} 秒。受理诉求 {values['received']} 件，"
        f"交办 {values['dispatched']} 件；按时签收率 {values['on_time_acceptance']}，"
        f"按时回复率 {values['on_time_reply']}，办结率 {values['closure_rate']}，"
        f"满意率 {values['satisfaction_rate']}，解决率 {values['resolution_rate']}，"
        f"重办 {values['reworked']} 件。"
    )


def _grid(table: Table) -> Grid:
    return Grid(table.header(), table.shown())


def _daily(stats: Statistics) -> Table:
    keep = ("bucket", "offered", "answered", "answer_rate", "service_level", "abandoned")
    return _columns(series_table(stats), (*keep, "received"))


def _league(stats: Statistics) -> Table:
    keep = ("rank", "department", "dispatched", "on_time_acceptance", "on_time_reply")
    return _columns(department_table(stats), (*keep, "closure_rate", "satisfaction_rate"))


def _columns(table: Table, keys: Sequence[str]) -> Table:
    picked = [n for n, c in enumerate(table.columns) if c.key in keys]
    rows = tuple(tuple(row[n] for n in picked) for row in table.rows)
    return Table(table.key, table.title, tuple(table.columns[n] for n in picked), rows)


def _agents(stats: Statistics) -> list[Block]:
    table = agent_table(stats)
    shown = Table(table.key, table.title, table.columns, table.rows[:TOP_AGENTS])
    note = (
        f"接通量前 {TOP_AGENTS} 名；全部坐席见统计页面的导出表格。"
        if len(table.rows) > TOP_AGENTS
        else ""
    )
    return [Heading("五、坐席接听情况"), *([Text(note)] if note else []), _grid(shown)]


def _labelled(drawing: Drawing, chart: Any, font: str) -> None:
    for axis in ("categoryAxis", "valueAxis"):
        labels = getattr(chart, axis).labels
        labels.fontName, labels.fontSize = font, 7
    drawing.add(chart)


def calls_chart(stats: Statistics, font: str) -> Drawing:
    """Calls offered and answered per day, as bars."""
    drawing = Drawing(WIDTH, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, WIDTH - 60, 130
    chart.data = [[p.calls.offered for p in stats.series], [p.calls.answered for p in stats.series]]
    chart.categoryAxis.categoryNames = [p.bucket.label[-2:] for p in stats.series]
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor, chart.bars[1].fillColor = BLUE, DARK
    chart.barSpacing, chart.groupSpacing = 0, 2
    _labelled(drawing, chart, font)
    drawing.add(_legend(font, [(BLUE, "呼入量"), (DARK, "接通量")], WIDTH - 150, 185))
    return drawing


def rates_chart(stats: Statistics, font: str) -> Drawing:
    """The answer rate and the 15 s rate per day, in percent, against 95 %."""
    drawing = Drawing(WIDTH, 190)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, WIDTH - 60, 130
    rates = [[_percent(p.calls.answer_rate) for p in stats.series]]
    rates.append([_percent(p.calls.service_level) for p in stats.series])
    chart.data = rates
    chart.categoryAxis.categoryNames = [p.bucket.label[-2:] for p in stats.series]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.lines[0].strokeColor, chart.lines[1].strokeColor = DARK, GREEN
    chart.lines[0].strokeWidth = chart.lines[1].strokeWidth = 1.5
    _labelled(drawing, chart, font)
    target = chart.y + chart.height * 0.95
    line = Line(chart.x, target, chart.x + chart.width, target, strokeColor=RED, strokeWidth=1.2)
    line.strokeDashArray = [4, 3]
    drawing.add(line)
    drawing.add(_legend(font, [(DARK, "接通率"), (GREEN, "15秒接通率")], WIDTH - 150, 185))
    return drawing


def category_chart(stats: Statistics, labels: Labels, font: str) -> Drawing:
    """Cases received by category, largest first, as horizontal bars."""
    rows = list(stats.by_category)[:14]
    height = max(80, 18 * len(rows) + 30)
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 110, 15, WIDTH - 140, height - 25
    chart.data = [[n for _, n in reversed(rows)] or [0]]
    names = [labels.categories.get(code, code) for code, _ in reversed(rows)]
    chart.categoryAxis.categoryNames = names or ["—"]
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = DARK
    _labelled(drawing, chart, font)
    if not rows:
        drawing.add(String(WIDTH / 2, height / 2, "本月无受理工单", fontName=font, fontSize=10))
    return drawing


def department_chart(stats: Statistics, font: str) -> Drawing:
    """Each department's 办结率 and 满意率, in percent."""
    rows = [(name or "（未交办）", s) for name, s in stats.by_department][:16]
    height = max(80, 26 * len(rows) + 40)
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 120, 15, WIDTH - 150, height - 40
    chart.data = [
        [_percent(s.closure_rate) or 0 for _, s in reversed(rows)] or [0],
        [_percent(s.satisfaction_rate) or 0 for _, s in reversed(rows)] or [0],
    ]
    chart.categoryAxis.categoryNames = [name for name, _ in reversed(rows)] or ["—"]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.bars[0].fillColor, chart.bars[1].fillColor = DARK, GREEN
    _labelled(drawing, chart, font)
    drawing.add(_legend(font, [(DARK, "办结率"), (GREEN, "满意率")], WIDTH - 150, height - 8))
    return drawing


def _legend(font: str, items: list[tuple[colors.Color, str]], x: float, y: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = int(x), int(y)
    legend.fontName, legend.fontSize = font, 8
    legend.alignment, legend.columnMaximum = "right", 1
    legend.colorNamePairs = items
    return legend


def _percent(rate: float | None) -> float | None:
    return None if rate is None else rate * 100
