"use strict";
// The work queue: drafts waiting for an agent (abandoned calls, calls that reached the queue
// without the IVR). One claim at a time; a claimed draft opens in the case form.
(() => {
  const $ = (id) => document.getElementById(id);
  const form = window.ivrCaseForm;
  if (!$("work-queue") || !form) return;
  const PRIORITIES = {urgent: "急阅件", important: "重要件", normal: "一般件"};
  const error = (text) => { $("wq-error").textContent = text || ""; $("wq-error").hidden = !text; };

  // `force`: the agent clicked for it; otherwise only into a free form (a pop may have
  // taken it while the case was being fetched)
  const openCase = async (caseId, force) => {
    const response = await fetch("/api/cases/" + caseId, {credentials: "same-origin"});
    if (!response.ok) throw new Error((await response.json()).error || response.statusText);
    const bundle = await response.json();
    const current = form.current();
    if (force || !current || (current.mode === "claim" && current.caseId === caseId)) {
      form.show(bundle, {mode: "claim", popId: null, editable: true});
    }
  };

  const item = (entry) => {
    const li = document.createElement("li");
    li.dataset.caseId = String(entry.id);
    const what = entry.summary || entry.excerpt || "（无转写）";
    const when = new Date(entry.created_at).toLocaleString();
    li.textContent = (PRIORITIES[entry.priority] || entry.priority) + " · " + when + " · " +
                     (entry.caller_number || "未显示号码") + " · " + what + " ";
    const claim = document.createElement("button");
    claim.type = "button";
    claim.textContent = "领取";
    claim.addEventListener("click", () => act(() => form.post("/api/cases/" + entry.id +
                                                               "/claim"), entry.id));
    li.append(claim);
    return li;
  };

  const refresh = async () => {
    try {
      const response = await fetch("/api/work-queue", {credentials: "same-origin"});
      if (response.status === 401) return window.location.assign("/login");
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      $("wq-count").textContent = "（" + data.waiting + " 件）";
      $("wq-items").replaceChildren(...data.items.map(item));
      const current = form.current();
      if (data.mine && !current) await openCase(data.mine, false);
      error("");
    } catch (e) { error(String(e.message || e)); }
  };

  const act = async (claim, caseId) => {
    if (form.isDirty()) { error("请先受理或关闭正在填写的工单"); return; }
    try {
      const claimed = await claim();
      const id = caseId || (claimed && claimed.id);  // claim-next: 204 when empty
      if (id) await openCase(id, true);
      else error("没有待处理的工单");
    } catch (e) { error(String(e.message || e)); }
    refresh();
  };

  $("wq-next").addEventListener("click", () => act(() => form.post("/api/work-queue/claim-next")));
  $("wq-manual").addEventListener("click", () => {
    if (form.isDirty()) error("请先受理或关闭正在填写的工单"); else form.showManual();
  });
  form.on("registered", refresh);
  form.on("closed", refresh);
  refresh();
  window.setInterval(refresh, 5000);
})();
