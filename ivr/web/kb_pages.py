"""The knowledge base's page (/kb): search and read; the office also writes, edits and retires.

Everyone logged in searches and reads the articles in force. The office sees every article
and keeps them; a department sees and edits its own. The page is a skeleton that kb.js fills
from /api/kb/... (with the CSRF header); this module only renders.
"""

from __future__ import annotations

import asyncio
from html import escape

from aiohttp import web

from ivr.cases.taxonomy import Taxonomy, load_taxonomy
from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.kb.articles import BODY_LIMIT, KIND_LABELS, OWNER_LIMIT, TITLE_LIMIT
from ivr.web.agent_page import options
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import DEPARTMENT_NAV, OFFICE_NAV, ROLE_HOME, user_bar

SCRIPTS = ("kb_common.js", "kb.js")
STYLES = ("kb.css",)
EDITORS = (Role.OFFICE, Role.DEPARTMENT)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the knowledge base's page."""
    router.add_get("/kb", kb_page)


@require_role(*Role)
async def kb_page(request: web.Request) -> web.StreamResponse:
    """Search and read articles; the office's and departments' list and editor too."""
    session = logged_in(request)
    user = session.user
    parts = [_nav(user.role), _search_panel(), _viewer()]
    if user.role in EDITORS:
        taxonomy = await asyncio.to_thread(load_taxonomy)  # the first load builds a tokenizer
        parts += [_article_list(user), _editor(user, taxonomy)]
    body = (
        f'<div id="kb" data-role="{user.role.value}" '
        f'data-department="{escape(user.department or "")}">\n' + "\n".join(parts) + "\n</div>"
    )
    return page(
        "知识库",
        body,
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
    )


def _nav(role: Role) -> str:
    if role is Role.OFFICE:
        return OFFICE_NAV
    if role is Role.DEPARTMENT:
        return DEPARTMENT_NAV
    return f'<nav><a href="{ROLE_HOME[role]}">返回工作台</a></nav>'


def _search_panel() -> str:
    return """<section id="kb-search-panel">
<form id="kb-search" role="search">
<label for="kb-q">搜索知识库</label>
<input type="search" id="kb-q" maxlength="200" placeholder="如：公积金怎么提取、人社局电话">
<button type="submit">搜索</button>
</form>
<p id="kb-error" class="error" role="alert" hidden></p>
<p id="kb-status" class="notice" role="status" hidden></p>
<ol id="kb-results" class="kb-hits"></ol>
</section>"""


def _viewer() -> str:
    return """<article id="kb-article" hidden>
<h2 id="kb-article-title"></h2>
<p id="kb-article-meta" class="muted"></p>
<div id="kb-article-body" class="kb-body"></div>
<p class="kb-actions">
<button type="button" id="kb-edit" hidden>修改</button>
<button type="button" id="kb-retire" hidden>停用</button>
<button type="button" id="kb-restore" hidden>恢复使用</button>
</p>
</article>"""


def _article_list(user: UserView) -> str:
    title = "全部文章" if user.role is Role.OFFICE else f"{escape(user.department or '')}负责的文章"
    new = '<button type="button" id="kb-new">新建文章</button>' if user.role is Role.OFFICE else ""
    return f"""<section id="kb-list">
<h2>{title} {new}</h2>
<label for="kb-filter">显示</label>
<select id="kb-filter"><option value="all">全部</option><option value="in_force">有效</option>
<option value="not_in_force">未生效或已过期</option><option value="retired">已停用</option></select>
<table class="kb-table"><thead><tr><th>标题</th><th>类型</th><th>分类</th><th>责任单位</th>
<th>有效期</th><th>状态</th></tr></thead><tbody id="kb-list-rows"></tbody></table>
</section>"""


def _editor(user: UserView, taxonomy: Taxonomy) -> str:
    kinds = options({kind.value: label for kind, label in KIND_LABELS.items()})
    categories = options({category.code: category.name for category in taxonomy.categories})
    departments = sorted({c.department for c in taxonomy.categories} | {"12345热线"})
    owners = "".join(f'<option value="{escape(name)}">' for name in departments)
    fixed = "readonly" if user.role is Role.DEPARTMENT else ""
    return f"""<form id="kb-editor" hidden novalidate>
<h2 id="kb-editor-title">新建文章</h2>
<p id="kb-editor-error" class="error" role="alert" hidden></p>
<input type="hidden" id="kb-id" value=""><input type="hidden" id="kb-version" value="">
<label for="kb-title">标题</label>
<input type="text" id="kb-title" required maxlength="{TITLE_LIMIT}">
<label for="kb-kind">类型</label><select id="kb-kind">{kinds}</select>
<label for="kb-category">分类</label><select id="kb-category">{categories}</select>
<label for="kb-owner">责任单位</label>
<input type="text" id="kb-owner" list="kb-owners" required maxlength="{OWNER_LIMIT}" {fixed}
 value="{escape(user.department or "")}">
<datalist id="kb-owners">{owners}</datalist>
<label for="kb-valid-from">有效期起（可空）</label><input type="date" id="kb-valid-from">
<label for="kb-valid-until">有效期止（可空）</label><input type="date" id="kb-valid-until">
<label for="kb-body">正文</label>
<textarea id="kb-body" rows="12" required maxlength="{BODY_LIMIT}"></textarea>
<button type="submit" id="kb-save">保存</button>
<button type="button" id="kb-cancel">取消</button>
</form>"""
