"use strict";
// The case form: shows a case (from a pop, a claim or a blank manual case), keeps what the
// agent typed when newer data arrives (and marks what changed), and registers (受理) it, or
// answers it with a knowledge-base article (当场答复, kb_console.js asks).
window.ivrCaseForm = (() => {
  const $ = (id) => document.getElementById(id);
  const form = $("case-form");
  if (!form) return null;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const FIELDS = ["transcript", "caller_name", "contact_phone", "address", "category",
                  "department", "priority", "summary", "whistleblower", "needs_callback"];
  const LABELS = {transcript: "语音转写", category: "诉求分类", department: "承办单位",
                  priority: "紧急程度", summary: "诉求摘要", address: "事发地址",
                  contact_phone: "联系电话", caller_name: "联系人姓名"};
  const input = (name) => $("f-" + name);
  let shown = null;  // {caseId, version, mode, popId, editable}
  let busy = false;  // a request about the shown case is in flight
  const dirty = new Set();
  const listeners = {registered: [], closed: [], shown: [], cleared: []};

  const readField = (name) => {
    const el = input(name);
    if (el.type === "checkbox") return el.checked;
    const value = el.value.trim();
    return value === "" && ["caller_name", "contact_phone", "address"].includes(name)
      ? null : value;
  };
  const valueOf = (name, value) => (input(name).type === "checkbox" ? Boolean(value)
    : (value === null || value === undefined ? "" : String(value)));
  const writeField = (name, value) => {
    const el = input(name);
    if (el.type === "checkbox") el.checked = valueOf(name, value);
    else el.value = valueOf(name, value);
  };
  const message = (id, text) => { $(id).textContent = text || ""; $(id).hidden = !text; };
  const setButtons = () => {
    const editable = Boolean(shown && shown.editable) && !busy;
    $("case-fields").disabled = !(shown && shown.editable);
    $("case-register").disabled = !editable;
    $("case-dismiss").disabled = busy;
    $("case-release").disabled = busy;
  };

  FIELDS.forEach((name) => input(name).addEventListener("input", () => {
    dirty.add(name);
    input(name).classList.remove("changed");
  }));
  input("category").addEventListener("change", () => {
    // a new category suggests its department, unless the agent chose one themselves
    const option = input("category").selectedOptions[0];
    if (option && !dirty.has("department")) input("department").value = option.dataset.department;
  });

  // Fill the fields; for the case already on screen keep the agent's edits and mark what
  // the newer data changed, so nothing reaches the registration unseen.
  const fill = (c, sameCase) => {
    const changed = [];
    FIELDS.forEach((name) => {
      if (sameCase && dirty.has(name)) return;
      const before = input(name).type === "checkbox" ? input(name).checked : input(name).value;
      writeField(name, c[name]);
      const after = input(name).type === "checkbox" ? input(name).checked : input(name).value;
      if (sameCase && before !== after) {
        input(name).classList.add("changed");
        changed.push(LABELS[name] || name);
      }
    });
    if (changed.length) message("case-updated", "系统已更新：" + changed.join("、") + "（已标出，请核对）");
  };

  const show = (bundle, options) => {
    const c = bundle.case;
    const same = shown !== null && shown.caseId === c.id;
    if (!same) {
      dirty.clear();
      FIELDS.forEach((name) => input(name).classList.remove("changed"));
      message("case-updated", "");
      message("case-error", "");
      message("case-done", "");
    }
    shown = {caseId: c.id, version: c.version, mode: options.mode, popId: options.popId,
             editable: options.editable};
    fill(c, same);
    form.hidden = false;
    form.dataset.caseId = String(c.id);
    $("case-title").textContent = c.number ? "工单 " + c.number : "工单草稿 #" + c.id;
    $("manual-fields").hidden = true;
    $("case-dismiss").hidden = options.mode !== "pop";
    $("case-release").hidden = options.mode !== "claim";
    setButtons();
    listeners.shown.forEach((f) => f(bundle, options));
  };

  const showManual = () => {
    dirty.clear();
    shown = {caseId: null, version: null, mode: "manual", popId: null, editable: true};
    FIELDS.forEach((name) => {
      writeField(name, name === "priority" ? "normal" : "");
      input(name).classList.remove("changed");
    });
    input("category").selectedIndex = 0;
    input("department").value = input("category").selectedOptions[0].dataset.department;
    input("caller_number").value = "";
    form.hidden = false;
    form.dataset.caseId = "";
    $("case-title").textContent = "手工登记工单";
    $("manual-fields").hidden = false;
    $("case-dismiss").hidden = true;
    $("case-release").hidden = true;
    ["case-error", "case-done", "case-updated"].forEach((id) => message(id, ""));
    setButtons();
    listeners.cleared.forEach((f) => f());
  };

  const clear = () => {
    shown = null;
    dirty.clear();
    form.hidden = true;
    form.dataset.caseId = "";
    message("case-updated", "");
    listeners.cleared.forEach((f) => f());
  };

  const post = async (path, body) => {
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": token, "Content-Type": "application/json"},
      body: JSON.stringify(body === undefined ? {} : body)});
    if (response.status === 401) { window.location.assign("/login"); return null; }
    const data = response.status === 204 ? {} : await response.json();
    if (!response.ok) throw Object.assign(new Error(data.error || response.statusText),
                                          {status: response.status});
    return data;
  };

  const reloadAfterConflict = async (target) => {
    const response = await fetch("/api/cases/" + target.caseId, {credentials: "same-origin"});
    if (!response.ok || shown !== target) return;
    const bundle = await response.json();
    target.version = bundle.case.version;
    fill(bundle.case, true);  // what this agent typed stays; the rest is the newer data
  };

  // Run an action about the case on screen; `target` is that case even if another pop
  // takes the screen while the request is in flight.
  const act = async (request, after) => {
    if (!shown || busy) return;
    const target = shown;
    busy = true;
    setButtons();
    message("case-error", "");
    try {
      const data = await request(target);
      if (data === null) return;
      if (shown === target) clear();
      after(data, target);
    } catch (error) {
      if (shown !== target) return;
      if (error.status === 409 && target.mode !== "manual" && target.caseId !== null) {
        message("case-error", "提交未保存：" + error.message +
                "。已载入最新内容（您的修改已保留），请核对后再次受理。");
        await reloadAfterConflict(target);
      } else {
        message("case-error", "提交未保存：" + error.message);
      }
    } finally {
      busy = false;
      setButtons();
    }
  };

  const typed = () => {
    const fields = {};
    FIELDS.forEach((name) => { fields[name] = readField(name); });
    return fields;
  };

  const register = () => act((target) => {
    const fields = typed();
    if (target.mode === "manual") {
      return post("/api/cases", {channel: $("f-channel").value,
                                 caller_number: $("f-caller_number").value, fields});
    }
    return post("/api/cases/" + target.caseId + "/register", {version: target.version, fields});
  }, (data, target) => {
    message("case-done", "已受理，工单号 " + data.case.number);
    listeners.registered.forEach((f) => f(data.case, target));
  });

  // 以此答复: registered as a consultation answered with `article`, closed at once
  const answer = (article) => act((target) => post("/api/cases/" + target.caseId + "/answer", {
    version: target.version, fields: typed(), article_id: article.id,
  }), (data, target) => {
    message("case-done", "已当场答复（咨询，首次来电解决），工单号 " + data.case.number +
            "，依据《" + data.article.title + "》");
    listeners.registered.forEach((f) => f(data.case, target));
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (shown && shown.editable) register();
  });
  $("case-dismiss").addEventListener("click", () => {
    if (!shown || shown.popId === null) return;
    act((target) => post("/api/pops/" + target.popId + "/dismiss"),
        (data, target) => listeners.closed.forEach((f) => f(target)));
  });
  $("case-release").addEventListener("click", () => {
    if (!shown || shown.mode !== "claim") return;
    act((target) => post("/api/cases/" + target.caseId + "/release"),
        (data, target) => listeners.closed.forEach((f) => f(target)));
  });

  return {
    show, showManual, clear, post, answer,
    current: () => shown,
    isDirty: () => dirty.size > 0 || busy,
    on: (name, f) => listeners[name].push(f),
  };
})();
