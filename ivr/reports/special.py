"""The 专报 draft for a hot-topic alert: what the office sends the city's leaders.

Modelled on the 《市长热线专报》: the topic and how far above its usual level the calls are,
the calls over time against the usual level, where they come from, what citizens said
(quoted without anything that identifies them; whistleblowers are never quoted), which
departments the cases went to, and a suggested handling: a lead department when one
owns most cases, else a call to name one (noise, the classic case, belongs to no one).

`build` is pure (the alert, its cases and the time are passed in); `render_pdf` is CPU
work for reportlab: run it in a worker thread.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors

from ivr.cases.masking import redact
from ivr.cases.places import places_in
from ivr.db.hot_topic_views import AlertCase
from ivr.db.hot_topics import AlertView
from ivr.db.insight_models import AlertKind
from ivr.reports.pdf import Block, Chart, Grid, Heading, Text, cjk_font, render

AUTHOR = "12345热线办"
QUOTES, QUOTE_LENGTH, SHOWN = 5, 60, 8
BUCKETS = (15, 30, 60, 120, 360, 1440)  # minutes: the first that gives at most MAX_BARS
MAX_BARS = 16
UNASSIGNED = "（未指定承办单位）"
LEAD_SHARE = 0.5  # a department with this share of the cases can lead
KIND_TOPICS = {
    AlertKind.SURGE: "话题",
    AlertKind.PLACE: "地点",
    AlertKind.REPEAT: "同一问题",
    AlertKind.SENSITIVE: "敏感词",
}


@dataclasses.dataclass(frozen=True)
class Bar:
    """One stretch of time: the calls in it, and the usual count for such a stretch."""

    label: str
    count: int
    usual: float | None


@dataclasses.dataclass(frozen=True)
class SpecialReport:
    """A 专报 draft, ready for PDF or HTML."""

    alert_id: int
    title: str
    topic: str
    overview: str
    bars: tuple[Bar, ...]
    bar_minutes: int
    places: tuple[tuple[str, int], ...]
    quotes: tuple[str, ...]
    departments: tuple[tuple[str, int], ...]
    suggestion: str
    made_at: datetime
    author: str = AUTHOR


def build(
    alert: AlertView, cases: Sequence[AlertCase], *, now: datetime, zone: tzinfo
) -> SpecialReport:
    """The 专报 draft of an alert and the cases behind it."""
    topic = _topic(alert)
    departments = Counter(case.department or UNASSIGNED for case in cases).most_common()
    places = Counter(name for case in cases for name in _place_names(case)).most_common(SHOWN)
    bars, minutes = _bars(alert, cases, zone)
    return SpecialReport(
        alert_id=alert.id,
        title=f"12345热线专报：{topic}",
        topic=topic,
        overview=_overview(alert, cases, topic, places, zone),
        bars=bars,
        bar_minutes=minutes,
        places=tuple(places),
        quotes=_quotes(cases),
        departments=tuple(departments),
        suggestion=_suggestion(alert, departments, places),
        made_at=now.astimezone(zone),
    )


def blocks(report: SpecialReport) -> list[Block]:
    """The report as PDF blocks (ivr.reports.pdf)."""
    found: list[Block] = [Heading("一、基本情况"), Text(report.overview), Heading("二、来电走势")]
    found.append(Chart(chart(report), f"图1 每{_span(report.bar_minutes)}来电数与常态水平"))
    found.append(Heading("三、涉及地点"))
    found.append(
        _grid(("地点", "来电数"), report.places) if report.places else Text("来电未提及具体地点。")
    )
    found.append(Heading("四、群众反映（摘录）"))
    found += [Text(f"“{quote}”") for quote in report.quotes] or [Text("（无可公开摘录的原话）")]
    found += [Heading("五、涉及部门"), _grid(("承办单位", "工单数"), report.departments)]
    found += [Heading("六、处理建议"), Text(report.suggestion)]
    return found


def render_pdf(report: SpecialReport) -> bytes:
    """The PDF of a 专报 draft (blocking: seconds of reportlab work)."""
    return render(report.title, blocks(report), made_at=report.made_at, author=report.author)


def chart(report: SpecialReport) -> Drawing:
    """Calls per stretch of time as bars, the usual level beside them."""
    drawing = Drawing(460, 200)
    bar_chart = VerticalBarChart()
    bar_chart.x, bar_chart.y, bar_chart.width, bar_chart.height = 40, 40, 400, 130
    usual = [round(bar.usual or 0.0, 2) for bar in report.bars]
    bar_chart.data = [[bar.count for bar in report.bars], usual]
    bar_chart.categoryAxis.categoryNames = [bar.label for bar in report.bars]
    bar_chart.categoryAxis.labels.fontName = cjk_font()
    bar_chart.categoryAxis.labels.fontSize = 7
    bar_chart.categoryAxis.labels.angle = 30 if len(report.bars) > 8 else 0
    bar_chart.valueAxis.valueMin = 0
    bar_chart.bars[0].fillColor = colors.HexColor("#8b1a1a")
    bar_chart.bars[1].fillColor = colors.HexColor("#9aa5b1")
    drawing.add(bar_chart)
    legend = Legend()
    legend.fontName, legend.fontSize, legend.x, legend.y = cjk_font(), 8, 300, 195
    legend.alignment, legend.columnMaximum = "right", 1
    legend.colorNamePairs = [
        (bar_chart.bars[0].fillColor, "来电数"),
        (bar_chart.bars[1].fillColor, "常态水平"),
    ]
    drawing.add(legend)
    return drawing


def _topic(alert: AlertView) -> str:
    if alert.kind == AlertKind.SENSITIVE:
        return f"涉及“{alert.key}”的来电"
    return alert.key.replace("：", " ")


def _place_names(case: AlertCase) -> list[str]:
    found = places_in(case.address) or places_in(f"{case.summary} {case.transcript}")
    return list(dict.fromkeys(place.name for place in found))


def _bars(
    alert: AlertView, cases: Sequence[AlertCase], zone: tzinfo
) -> tuple[tuple[Bar, ...], int]:
    start, end = alert.window_start.astimezone(zone), alert.window_end.astimezone(zone)
    minutes = next(
        (m for m in BUCKETS if (end - start) / timedelta(minutes=m) < MAX_BARS), BUCKETS[-1]
    )
    step = timedelta(minutes=minutes)
    first = start.replace(second=0, microsecond=0) - timedelta(
        minutes=(start.hour * 60 + start.minute) % minutes
    )
    counts = Counter((case.created_at.astimezone(zone) - first) // step for case in cases)
    window = alert.details.get("window_minutes")
    per_bar = alert.baseline * minutes / window if alert.baseline is not None and window else None
    total = max(1, int((end - first) // step) + 1)
    fmt = "%H:%M" if minutes < 1440 else "%m-%d"
    return (
        tuple(
            Bar((first + step * i).strftime(fmt), counts.get(i, 0), per_bar) for i in range(total)
        ),
        minutes,
    )


def _overview(
    alert: AlertView,
    cases: Sequence[AlertCase],
    topic: str,
    places: Sequence[tuple[str, int]],
    zone: tzinfo,
) -> str:
    start, end = alert.window_start.astimezone(zone), alert.window_end.astimezone(zone)
    callers = len({case.caller_number for case in cases})
    text = (
        f"{start:%m月%d日%H:%M}至{end:%m月%d日%H:%M}，12345热线共接到关于“{topic}”的来电"
        f"{len(cases)}件（{callers}位来电人）"
    )
    usual = alert.details.get("usual")
    if alert.baseline is not None and usual is not None:
        hours = alert.details.get("window_minutes", 120) / 60
        ratio = alert.details.get("ratio")
        text += f"；以往同期{hours:g}小时内约{float(usual):.1f}件，本次为常态的{ratio}倍"
    if places:
        text += "。来电主要涉及" + "、".join(name for name, _ in places[:3])
    return text + "。"


def _quotes(cases: Sequence[AlertCase]) -> tuple[str, ...]:
    # a reporter's words may identify them: never quoted; numbers and names are taken out
    quotes: dict[str, None] = {}
    for case in cases:
        if case.whistleblower:
            continue
        said = (case.transcript or case.summary).strip()
        secrets = [s for s in (case.caller_name, case.caller_number, case.contact_phone) if s]
        quote = redact(said, secrets)[:QUOTE_LENGTH]
        if quote:
            quotes.setdefault(quote, None)
        if len(quotes) == QUOTES:
            break
    return tuple(quotes)


def _suggestion(
    alert: AlertView, departments: Sequence[tuple[str, int]], places: Sequence[tuple[str, int]]
) -> str:
    total = sum(n for _, n in departments) or 1
    owners = [name for name, _ in departments if name != UNASSIGNED]
    lead, share = departments[0] if departments else (UNASSIGNED, 0)
    if lead != UNASSIGNED and share / total >= LEAD_SHARE:
        others = [name for name in owners if name != lead]
        text = f"建议由{lead}牵头" + (f"，{'、'.join(others[:4])}配合" if others else "") + "，"
    else:
        named = "、".join(owners[:5]) or "相关部门"
        text = (
            f"此类诉求分散在{len(owners)}个单位，尚无单位牵头负责。建议由市政府办公厅（12345热线办）"
            f"召集{named}会商，明确牵头单位和办理时限，统一答复口径，"
        )
    return text + _by_kind(alert, places)


def _by_kind(alert: AlertView, places: Sequence[tuple[str, int]]) -> str:
    kind = AlertKind(alert.kind)
    if kind is AlertKind.SURGE:
        return (
            "及时核实情况，发布权威信息回应市民关切，防止事态扩大；"
            "热线办持续监测来电变化，每2小时续报。"
        )
    if kind is AlertKind.PLACE:
        where = places[0][0] if places else alert.key
        return f"组织{where}所在街道会同相关部门现场核查，尽快消除问题根源。"
    if kind is AlertKind.REPEAT:
        return "上门核实，对所有来电人一并答复，必要时办理并单。"
    return "按规定及时报告，做好稳控和跟踪回访。"


def _grid(header: tuple[str, str], rows: Sequence[tuple[str, int]]) -> Grid:
    return Grid(header, [(name, str(count)) for name, count in rows])


def _span(minutes: int) -> str:
    return f"{minutes}分钟" if minutes < 60 else f"{minutes // 60}小时"
