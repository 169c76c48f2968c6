"use strict";
// 漏接回拨 (/callbacks): the callers to call back and the last day's call backs, read from
// /api/callbacks every few seconds so an outcome Asterisk reports appears by itself. 回拨
// rings the agent's own phone first; the note editor sits outside the refreshed tables, so a
// refresh never loses what the agent is typing.
(() => {
  const $ = (id) => document.getElementById(id);
  if (!$("cb-list")) return;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const OUTCOMES = {placed: "回拨中", reached: "已接通", no_answer: "无人接听",
                    busy: "对方忙", failed: "未能接通"};
  const KINDS = {queue: "排队中挂机", hung_up: "留言时挂机", requested: "要求回拨"};
  const PRIORITIES = {urgent: "急阅件", important: "重要件", normal: "一般件"};
  let editing = null;  // the call back whose note is open
  let watching = null;  // the call back this page placed, until its result is in
  let canCall = false;

  const say = (id, text) => { $(id).textContent = text || ""; $(id).hidden = !text; };
  const when = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", {hour12: false}) : "";
  const seconds = (s) => s === null || s === undefined ? "" : Math.round(s) + " 秒";
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text || ""; return td; };
  const button = (label, onClick, disabled) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.disabled = !!disabled;
    b.addEventListener("click", onClick);
    return b;
  };

  const send = async (url, body) => {
    let response;
    try {
      response = await fetch(url, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: {"X-CSRF-Token": token, "Content-Type": "application/json",
                  "Accept": "application/json"},
      });
    } catch (_) { throw new Error("无法连接服务器，请稍后再试"); }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) window.location.assign("/login");
    if (!response.ok) throw new Error(data.error || ("请求失败（" + response.status + "）"));
    return data;
  };

  const outcome = (attempt) => {
    if (!attempt) return "未回拨";
    if (attempt.in_progress) return "回拨中（" + attempt.agent + "）";
    const label = attempt.outcome === "placed" ? "结果未知" : OUTCOMES[attempt.outcome];
    return label + " · " + attempt.agent + " · " + when(attempt.started_at);
  };

  const missed = (row) => {
    const kinds = {};
    row.misses.forEach((m) => { kinds[m.kind] = (kinds[m.kind] || 0) + 1; });
    return Object.entries(kinds).map(([k, n]) => KINDS[k] + " " + n + " 次").join("，");
  };

  const caseText = (row) => {
    if (!row.case) return "";
    const head = row.case.number || ("草稿 #" + row.case.id);
    return head + " · " + (PRIORITIES[row.case.priority] || "") + " · " + (row.summary || "（无摘要）");
  };

  const rowOf = (row) => {
    const tr = document.createElement("tr");
    tr.className = "wf-row";
    tr.dataset.number = row.identity_masked ? "" : row.caller_number;
    const calling = row.calling_agent !== null;
    const attempts = row.attempts ? "（已回拨 " + row.attempts + " 次）" : "";
    tr.append(cell(row.caller_number), cell(missed(row)), cell(when(row.last_at)),
              cell(seconds(row.longest_wait_seconds)), cell(caseText(row)),
              cell(outcome(row.last_attempt) + attempts));
    const td = document.createElement("td");
    const which = row.call_id !== null ? {call_id: row.call_id} : {case_id: row.case_id};
    td.append(button(calling ? "回拨中" : "回拨", (e) => callBack(e.target, which),
                     calling || !canCall));
    tr.append(td);
    return tr;
  };

  const attemptOf = (attempt) => {
    const tr = document.createElement("tr");
    tr.className = "wf-row";
    tr.dataset.attempt = String(attempt.id);
    tr.dataset.outcome = attempt.outcome;
    const result = attempt.in_progress ? "回拨中" :
      (attempt.outcome === "placed" ? "结果未知" : OUTCOMES[attempt.outcome]);
    tr.append(cell(when(attempt.started_at)), cell(attempt.caller_number), cell(attempt.agent),
              cell(result), cell(attempt.note));
    const td = document.createElement("td");
    if (attempt.editable && !attempt.note_redacted) {
      td.append(button(attempt.on_list ? "备注 / 办结" : "备注", () => openEditor(attempt)));
    }
    tr.append(td);
    return tr;
  };

  const refresh = async () => {
    try {
      const response = await fetch("/api/callbacks", {credentials: "same-origin"});
      if (response.status === 401) return window.location.assign("/login");
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      canCall = !!data.interface;
      $("cb-count").textContent = "（" + data.items.length + " 位来电人）";
      $("cb-rows").replaceChildren(...data.items.map(rowOf));
      $("cb-empty").hidden = data.items.length > 0;
      $("cb-list").hidden = data.items.length === 0;
      $("cb-attempts").replaceChildren(...data.recent.map(attemptOf));
      const mine = data.recent.find((a) => a.id === watching);
      if (mine && !mine.in_progress) {
        watching = null;
        say("cb-status", "回拨结束：" + (OUTCOMES[mine.outcome] || "结果未知") +
                         "。可点“备注”记录与市民约定的事项。");
      }
      say("cb-error", "");
    } catch (e) { say("cb-error", String(e.message || e)); }
  };

  const callBack = async (clicked, body) => {
    clicked.disabled = true;
    say("cb-error", "");
    say("cb-status", "正在呼叫您的话机，请接听…");
    try {
      const attempt = await send("/api/callbacks/attempts", body);
      if (attempt.outcome === "failed") {
        say("cb-status", "");
        say("cb-error", attempt.message || "未能回拨");
      } else {
        // pending: Asterisk did not confirm the call; its result still comes by itself
        watching = attempt.id;
        say("cb-status", attempt.result_pending ? attempt.message :
                         "您已接听，正在拨打市民，请稍候…");
      }
    } catch (e) {
      say("cb-status", "");
      say("cb-error", e.message);
    }
    refresh();
  };

  const openEditor = (attempt) => {
    editing = attempt;
    $("cb-editor-title").textContent = attempt.caller_number + " · " + when(attempt.started_at);
    $("cb-note").value = attempt.note || "";
    $("cb-done").checked = false;
    $("cb-done").disabled = !attempt.on_list || attempt.in_progress;
    $("cb-editor").hidden = false;
    $("cb-note").focus();
  };

  const closeEditor = () => { editing = null; $("cb-editor").hidden = true; };

  $("cb-note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    say("cb-error", "");
    try {
      await send("/api/callbacks/attempts/" + editing.id + "/note",
                 {note: $("cb-note").value, done: $("cb-done").checked});
      say("cb-status", $("cb-done").checked ? "已办结" : "备注已保存");
      closeEditor();
    } catch (e) { say("cb-error", e.message); }
    refresh();
  });
  $("cb-cancel").addEventListener("click", closeEditor);

  refresh();
  // a hidden tab stops asking; it catches up as soon as it is shown again
  window.setInterval(() => { if (!document.hidden) refresh(); }, 4000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
