"use strict";
// The duty schedule page (/duty): the office's forms, each a call to /api/duty/... with the
// session's CSRF token. The server renders the month; after a change the page reloads the
// month that changed and shows what was done (kept in sessionStorage across the reload).
(() => {
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const FLASH = "duty-flash";

  const say = (id, text) => { const el = $(id); el.textContent = text || ""; el.hidden = !text; };

  const showError = (error) => {
    const box = $("duty-error");
    box.textContent = error.message;
    if (error.problems && error.problems.length) {
      const list = document.createElement("ul");
      error.problems.forEach((problem) => {
        const item = document.createElement("li");
        item.textContent = problem;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    box.hidden = false;
    box.scrollIntoView({block: "center"});
  };

  const api = async (method, url, body, contentType) => {
    const headers = {"X-CSRF-Token": token, "Accept": "application/json"};
    let payload = body;
    if (body !== undefined && !contentType) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    } else if (contentType) {
      headers["Content-Type"] = contentType;
    }
    let response;
    try {
      response = await fetch(url, {method, headers, body: payload, credentials: "same-origin"});
    } catch (_) {
      throw Object.assign(new Error("无法连接服务器，请稍后再试"), {problems: []});
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.error || ("请求失败（" + response.status + "）");
      throw Object.assign(new Error(message), {problems: data.problems || []});
    }
    return data;
  };

  // Run a change; on success go to `where` (a month page) with `done` shown there.
  const change = async (work, done, where) => {
    say("duty-error", "");
    try {
      const result = await work();
      sessionStorage.setItem(FLASH, typeof done === "function" ? done(result) : done);
      const target = typeof where === "function" ? where(result) : where;
      if (target) window.location.assign(target); else window.location.reload();
    } catch (error) {
      showError(error);
    }
  };

  const monthPage = (day) => "/duty?month=" + day.slice(0, 7);
  const endOf = (value) => (value === "00:00" ? "24:00" : value);
  const on = (id, event, handler) => { const el = $(id); if (el) el.addEventListener(event, handler); };

  // --- shifts -------------------------------------------------------------------------
  on("shift-form", "submit", (event) => {
    event.preventDefault();
    const id = $("shift-id").value;
    const body = {leader_id: Number($("shift-leader").value), date: $("shift-date").value,
                  start: $("shift-start").value, end: endOf($("shift-end").value),
                  note: $("shift-note").value};
    change(() => api(id ? "PATCH" : "POST", "/api/duty/shifts" + (id ? "/" + id : ""), body),
           id ? "值班已修改" : "值班已添加", monthPage(body.date));
  });
  on("shift-cancel", "click", () => {
    $("shift-id").value = "";
    $("shift-cancel").hidden = true;
    $("shift-save").textContent = "保存值班";
  });

  const editShift = (item) => {
    $("shift-id").value = item.dataset.shiftId;
    $("shift-date").value = item.dataset.date;
    $("shift-start").value = item.dataset.start;
    $("shift-end").value = item.dataset.end === "24:00" ? "00:00" : item.dataset.end;
    $("shift-leader").value = item.dataset.leaderId;
    $("shift-note").value = item.dataset.note;
    $("shift-cancel").hidden = false;
    $("shift-save").textContent = "保存修改";
    $("shift-form").scrollIntoView({block: "center"});
  };

  // --- rotation -----------------------------------------------------------------------
  let proposedMonth = null;
  const cell = (row, element) => {
    const td = document.createElement("td");
    td.appendChild(element);
    row.appendChild(td);
    return element;
  };
  const input = (type, value, name) => {
    const el = document.createElement("input");
    el.type = type;
    el.value = value;
    el.name = name;
    return el;
  };
  const proposalRow = (shift) => {
    const row = document.createElement("tr");
    row.className = "proposal";
    cell(row, input("date", shift.date, "date"));
    cell(row, input("time", shift.start, "start"));
    cell(row, input("time", shift.end === "24:00" ? "00:00" : shift.end, "end"));
    const leader = cell(row, $("shift-leader").cloneNode(true));
    leader.removeAttribute("id");
    leader.name = "leader";
    leader.value = String(shift.leader_id);
    const drop = cell(row, document.createElement("button"));
    drop.type = "button";
    drop.textContent = "移除";
    drop.addEventListener("click", () => row.remove());
    return row;
  };

  on("rotation-form", "submit", async (event) => {
    event.preventDefault();
    say("duty-error", "");
    const body = {month: $("rotation-month").value, months: Number($("rotation-months").value),
                  days_per_month: Number($("rotation-days").value),
                  start: $("rotation-start").value, end: endOf($("rotation-end").value)};
    try {
      const proposal = await api("POST", "/api/duty/rotation", body);
      proposedMonth = proposal.month;
      const rows = $("proposal-rows");
      rows.replaceChildren(...proposal.shifts.map(proposalRow));
      $("rotation-proposal").hidden = proposal.shifts.length === 0;
      say("duty-status", proposal.shifts.length
        ? "已生成 " + proposal.shifts.length + " 个值班日（共需 " + proposal.asked + " 个），可修改后发布"
        : "所选月份没有可排的工作日");
    } catch (error) {
      showError(error);
    }
  });
  on("rotation-discard", "click", () => {
    $("proposal-rows").replaceChildren();
    $("rotation-proposal").hidden = true;
  });
  on("rotation-publish", "click", () => {
    const shifts = [...$("proposal-rows").querySelectorAll("tr.proposal")].map((row) => {
      const value = (name) => row.querySelector('[name="' + name + '"]').value;
      return {leader_id: Number(value("leader")), date: value("date"), start: value("start"),
              end: endOf(value("end"))};
    });
    change(() => api("POST", "/api/duty/publish", {shifts}),
           (result) => "轮值方案已发布：" + result.shifts.length + " 个值班日",
           "/duty?month=" + proposedMonth);
  });

  // --- leaders ------------------------------------------------------------------------
  on("leader-form", "submit", (event) => {
    event.preventDefault();
    const id = $("leader-id").value;
    const body = {name: $("leader-name").value, title: $("leader-title").value,
                  endpoints: $("leader-endpoints").value};
    change(() => api(id ? "PATCH" : "POST", "/api/duty/leaders" + (id ? "/" + id : ""), body),
           id ? "领导信息已修改" : "已添加领导 " + body.name.trim());
  });
  on("leader-cancel", "click", () => {
    $("leader-id").value = "";
    $("leader-cancel").hidden = true;
    $("leader-save").textContent = "添加领导";
  });
  const editLeader = (row) => {
    $("leader-id").value = row.dataset.leaderId;
    $("leader-name").value = row.dataset.name;
    $("leader-title").value = row.dataset.title;
    $("leader-endpoints").value = row.dataset.endpoints;
    $("leader-cancel").hidden = false;
    $("leader-save").textContent = "保存修改";
    $("leader-form").scrollIntoView({block: "center"});
  };

  // --- holidays and import ------------------------------------------------------------
  on("holiday-form", "submit", (event) => {
    event.preventDefault();
    const body = {day: $("holiday-day").value, name: $("holiday-name").value,
                  kind: $("holiday-kind").value};
    change(() => api("POST", "/api/duty/holidays", body), "已登记 " + body.day);
  });
  on("import-form", "submit", async (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    const calendar = /\.ics$/i.test(file.name);
    const data = await file.arrayBuffer();
    change(() => api("POST", "/api/duty/import", data, calendar ? "text/calendar" : "text/csv"),
           (r) => "已导入：新增 " + r.added + " 个值班，替换 " + r.removed + " 个，未变 " + r.unchanged + " 个");
  });

  // --- buttons in the calendar and the tables -----------------------------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const shift = button.closest("[data-shift-id]");
    const leader = button.closest("tr[data-leader-id]");
    const holiday = button.closest("tr[data-day]");
    switch (button.dataset.action) {
      case "edit-shift": editShift(shift); break;
      case "delete-shift":
        if (window.confirm("删除 " + shift.dataset.date + " 的这个值班？")) {
          change(() => api("DELETE", "/api/duty/shifts/" + shift.dataset.shiftId), "值班已删除");
        }
        break;
      case "edit-leader": editLeader(leader); break;
      case "deactivate-leader":
        change(() => api("POST", "/api/duty/leaders/" + leader.dataset.leaderId + "/deactivate"),
               "已停用 " + leader.dataset.name);
        break;
      case "activate-leader":
        change(() => api("PATCH", "/api/duty/leaders/" + leader.dataset.leaderId, {active: true}),
               "已启用 " + leader.dataset.name);
        break;
      case "delete-holiday":
        change(() => api("DELETE", "/api/duty/holidays/" + holiday.dataset.day),
               "已删除 " + holiday.dataset.day);
        break;
      default: break;
    }
  });

  const flash = sessionStorage.getItem(FLASH);
  if (flash) {
    sessionStorage.removeItem(FLASH);
    say("duty-status", flash);
  }
})();
