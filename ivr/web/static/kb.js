"use strict";
// The knowledge-base page. Searching and reading come from kb_common.js; the office (every
// article) and a department (its own) also get the list and the editor. An edit is saved
// with the version it was loaded at, so someone else's newer edit is refused, never lost.
(() => {
  const $ = (id) => document.getElementById(id);
  const kb = window.ivrKb;
  const root = $("kb");
  if (!root || !kb) return;
  const role = root.dataset.role;
  const department = root.dataset.department;
  const editor = $("kb-editor");
  const FIELDS = ["title", "body", "kind", "category", "owner", "valid-from", "valid-until"];
  let articles = [];

  const categoryName = (code) => {
    const option = Array.from($("kb-category").options).find((o) => o.value === code);
    return option ? option.textContent : code;
  };
  const mayEdit = (a) => role === "office" || (role === "department" && a.owner === department);
  const state = (a) => (!a.active ? "已停用" : (a.in_force ? "有效" : "未生效或已过期"));
  const say = (id, text) => { $(id).textContent = text || ""; $(id).hidden = !text; };
  const kept = {
    all: () => true,
    in_force: (a) => a.in_force,
    not_in_force: (a) => a.active && !a.in_force,
    retired: (a) => !a.active,
  };

  const row = (a) => {
    const tr = document.createElement("tr");
    tr.dataset.articleId = String(a.id);
    const link = Object.assign(document.createElement("a"), {href: "#kb-" + a.id, textContent: a.title});
    link.addEventListener("click", (event) => { event.preventDefault(); kb.show(a, []); });
    const cells = [link, a.kind_label, categoryName(a.category), a.owner, kb.validity(a), state(a)];
    tr.append(...cells.map((cell) => {
      const td = document.createElement("td");
      td.append(cell);
      return td;
    }));
    return tr;
  };

  const renderList = () => {
    $("kb-list-rows").replaceChildren(...articles.filter(kept[$("kb-filter").value]).map(row));
  };

  const loadList = async () => {
    if (!$("kb-list-rows")) return;
    articles = (await kb.api("GET", "/api/kb/articles")).articles;
    renderList();
  };

  const edit = (a) => {
    editor.hidden = false;
    $("kb-editor-title").textContent = a ? "修改文章" : "新建文章";
    $("kb-id").value = a ? String(a.id) : "";
    $("kb-version").value = a ? String(a.version) : "";
    const values = a ? {...a, "valid-from": a.valid_from, "valid-until": a.valid_until}
      : {kind: "policy", owner: department};
    FIELDS.forEach((name) => {
      const input = $("kb-" + name);
      if (name in values) input.value = values[name] || "";
      else if (input.tagName !== "SELECT") input.value = "";
    });
    say("kb-editor-error", "");
    $("kb-title").focus();
  };

  const save = async () => {
    const id = $("kb-id").value;
    const body = {};
    FIELDS.forEach((name) => { body[name.replace("-", "_")] = $("kb-" + name).value.trim() || null; });
    try {
      const data = id
        ? await kb.api("PATCH", "/api/kb/articles/" + id, {...body, version: Number($("kb-version").value)})
        : await kb.api("POST", "/api/kb/articles", body);
      editor.hidden = true;
      kb.show(data.article, []);
      say("kb-status", "已保存：" + data.article.title);
      await loadList();
    } catch (error) {
      say("kb-editor-error", "未保存：" + error.message);
    }
  };

  const setActive = async (active) => {
    const a = kb.current();
    if (!a) return;
    try {
      const path = "/api/kb/articles/" + a.id + (active ? "/restore" : "/retire");
      const data = await kb.api("POST", path, {version: a.version});
      kb.show(data.article, []);
      say("kb-status", (active ? "已恢复使用：" : "已停用：") + a.title);
      await loadList();
    } catch (error) {
      kb.showError(error.message);
    }
  };

  kb.onShow((a) => {
    $("kb-edit").hidden = !editor || !mayEdit(a);
    $("kb-retire").hidden = role !== "office" || !a.active;
    $("kb-restore").hidden = role !== "office" || a.active;
  });
  $("kb-edit").addEventListener("click", () => edit(kb.current()));
  $("kb-retire").addEventListener("click", () => setActive(false));
  $("kb-restore").addEventListener("click", () => setActive(true));
  if (editor) {
    editor.addEventListener("submit", (event) => { event.preventDefault(); save(); });
    $("kb-cancel").addEventListener("click", () => { editor.hidden = true; });
    $("kb-filter").addEventListener("change", renderList);
    if ($("kb-new")) $("kb-new").addEventListener("click", () => edit(null));
    loadList().catch((error) => kb.showError(error.message));
  }
})();
