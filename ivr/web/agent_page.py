"""The agent's console page: queue state, the screen-pop with the case form, the work queue,
the knowledge base.

Server-rendered skeleton; the scripts (agent.js, case_form.js, screen_pop.js, work_queue.js,
kb_common.js, kb_console.js) fill it. The category and department choices come from the
taxonomy the office edits, so the form offers what the classifier suggests.
"""

from __future__ import annotations

from html import escape

from ivr.cases.taxonomy import Taxonomy, load_taxonomy
from ivr.db.models import CaseChannel, Priority, Role
from ivr.db.users import UserView
from ivr.handlers.agent_presence import PAUSE_REASONS

SCRIPTS = (
    "agent.js",
    "case_form.js",
    "screen_pop.js",
    "work_queue.js",
    "kb_common.js",
    "kb_console.js",
)
STYLES = ("agent.css", "kb.css")
PRIORITY_LABELS = {
    Priority.NORMAL: "一般件",
    Priority.URGENT: "急阅件",
    Priority.IMPORTANT: "重要件",
}
MANUAL_CHANNEL_LABELS = {CaseChannel.WALK_IN: "来访", CaseChannel.MAILBOX: "来信（市长信箱）"}


def agent_console(user: UserView, *, telephony: bool, taxonomy: Taxonomy | None = None) -> str:
    """The whole console below the page title: an agent's, or the duty leader's (whose desk
    the duty schedule staffs, so no queue buttons and no work queue)."""
    taxonomy = taxonomy or load_taxonomy()
    if user.role is Role.LEADER:
        side = '<p class="muted">领导接听日来电将在此弹屏。</p>'
    else:
        queue = presence_panel(user) if telephony else "<p>本控制台未连接电话系统。</p>"
        side = queue + _work_queue_panel()
    return f"""<div class="console">
<div class="side">
{side}
{_kb_panel()}
</div>
<div class="work">
{_pop_panel()}
{_case_form(taxonomy)}
</div>
</div>"""


def _pop_panel() -> str:
    return """<section id="pop" aria-live="assertive">
<h2>来电弹屏 <span id="feed-state" class="muted">连接中…</span></h2>
<p id="pop-empty" class="muted">暂无来电。</p>
<p id="pop-waiting" class="notice" hidden><span id="pop-waiting-text"></span>
<button type="button" id="pop-switch">切换到新来电</button></p>
<div id="pop-call" hidden>
<dl>
<dt>来电号码</dt><dd id="pop-caller"></dd>
<dt>通话状态</dt><dd id="pop-state"></dd>
<dt>排队等待</dt><dd id="pop-wait"></dd>
<dt>通话时长</dt><dd id="pop-talk"></dd>
</dl>
<p id="pop-masked" class="notice" hidden>举报人身份信息已保密。</p>
<audio id="pop-audio" controls preload="none" hidden></audio>
<h3>该来电人的历史工单</h3>
<ul id="pop-history"></ul>
</div>
</section>"""


def _kb_panel() -> str:
    # the articles the caller's words suggest, a search box, and 以此答复 (kb_console.js)
    return """<section id="kb-panel">
<h2>知识库 <a href="/kb" target="_blank" rel="noopener" class="muted">打开知识库</a></h2>
<h3>推荐文章</h3>
<p id="kb-suggest-empty" class="muted">来电弹屏后，按来电诉求推荐相关文章。</p>
<ol id="kb-suggestions" class="kb-hits"></ol>
<form id="kb-search" role="search">
<label for="kb-q">搜索知识库</label>
<input type="search" id="kb-q" maxlength="200"> <button type="submit">搜索</button>
</form>
<p id="kb-error" class="error" role="alert" hidden></p>
<ol id="kb-results" class="kb-hits"></ol>
<article id="kb-article" hidden>
<h3 id="kb-article-title"></h3>
<p id="kb-article-meta" class="muted"></p>
<div id="kb-article-body" class="kb-body"></div>
<button type="button" id="kb-answer" disabled>以此答复</button>
<span class="muted">登记为咨询并当场办结（首次来电解决），不再交办</span>
</article>
</section>"""


def _work_queue_panel() -> str:
    return """<section id="work-queue">
<h2>待处理工单 <span id="wq-count" class="muted"></span></h2>
<p id="wq-error" class="error" role="alert" hidden></p>
<button type="button" id="wq-next">领取下一件</button>
<button type="button" id="wq-manual">手工登记</button>
<ol id="wq-items"></ol>
</section>"""


def _case_form(taxonomy: Taxonomy) -> str:
    categories = "".join(
        f'<option value="{escape(c.code)}" data-department="{escape(c.department)}">'
        f"{escape(c.name)}</option>"
        for c in taxonomy.categories
    )
    departments = sorted(
        {c.department for c in taxonomy.categories}
        | {route.department for c in taxonomy.categories for route in c.routes}
    )
    department_options = "".join(f'<option value="{escape(d)}">' for d in departments)
    priorities = options({p.value: label for p, label in PRIORITY_LABELS.items()})
    channels = options({c.value: label for c, label in MANUAL_CHANNEL_LABELS.items()})
    # the registration's answer stays visible after the form closes
    return f"""<p id="case-done" class="done" role="status" hidden></p>
<form id="case-form" hidden novalidate>
<h2 id="case-title">工单</h2>
<p id="case-error" class="error" role="alert" hidden></p>
<p id="case-updated" class="notice" role="status" hidden></p>
<fieldset id="case-fields">
<div id="manual-fields" hidden>
<label for="f-channel">来源</label><select id="f-channel">{channels}</select>
<label for="f-caller_number">来电/来信人号码</label>
<input type="text" id="f-caller_number" maxlength="64">
</div>
<label for="f-transcript">诉求原话（语音转写）</label>
<textarea id="f-transcript" name="transcript" rows="3"></textarea>
<label for="f-caller_name">联系人姓名</label>
<input type="text" id="f-caller_name" name="caller_name" maxlength="64">
<label for="f-contact_phone">联系电话</label>
<input type="text" id="f-contact_phone" name="contact_phone" maxlength="32">
<label for="f-address">事发地址</label>
<input type="text" id="f-address" name="address" maxlength="256">
<label for="f-category">诉求分类</label>
<select id="f-category" name="category">{categories}</select>
<label for="f-department">承办单位</label>
<input type="text" id="f-department" name="department" list="departments" maxlength="128">
<datalist id="departments">{department_options}</datalist>
<label for="f-priority">紧急程度</label>
<select id="f-priority" name="priority">{priorities}</select>
<label for="f-summary">诉求摘要</label>
<textarea id="f-summary" name="summary" rows="3"></textarea>
<label class="check"><input type="checkbox" id="f-whistleblower" name="whistleblower">
检举/举报（对承办单位隐藏举报人身份）</label>
<label class="check"><input type="checkbox" id="f-needs_callback" name="needs_callback">
需要回拨</label>
</fieldset>
<button type="submit" id="case-register">受理</button>
<button type="button" id="case-dismiss">关闭弹屏</button>
<button type="button" id="case-release" hidden>退回待处理</button>
</form>"""


def options(choices: dict[str, str]) -> str:
    """<option>s of a select: value → label, escaped."""
    return "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>'
        for value, label in choices.items()
    )


def presence_panel(user: UserView) -> str:
    """The agent's queue state and its buttons (driven by agent.js)."""
    if not user.interface:
        return '<p class="error">未配置坐席分机，无法签入队列，请联系热线办。</p>'
    reasons = options(PAUSE_REASONS)
    return f"""<section id="presence" aria-live="polite">
<h2>坐席状态</h2>
<p><strong id="presence-state">正在读取…</strong> <span id="presence-since"></span>
<span id="presence-device"></span></p>
<p id="presence-error" class="error" role="alert" hidden></p>
<button type="button" id="presence-ready">就绪</button>
<label for="presence-reason">暂停原因</label>
<select id="presence-reason">{reasons}</select>
<button type="button" id="presence-pause">暂停</button>
<button type="button" id="presence-leave">退出队列</button>
</section>
"""
