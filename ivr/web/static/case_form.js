"use strict";
// The case form: shows a case (from a pop, a claim or a blank manual case), keeps what the
// agent typed when the IVR's analysis lands later, and registers (受理) it.
window.ivrCaseForm = (() => {
  const $ = (id) => document.getElementById(id);
  const form = $("case-form");
  if (!form) return null;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const FIELDS = ["transcript", "caller_name", "contact_phone", "address", "category",
                  "department", "priority", "summary", "whistleblower", "needs_callback"];
  const input = (name) => $("f-" + name);
  let shown = null;  // {caseId, version, mode, popId, editable}
  const dirty = new Set();
  const listeners = {registered: [], closed: []};

  const readField = (name) => {
    const el = input(name);
    if (el.type === "checkbox") return el.checked;
    const value = el.value.trim();
    return value === "" && ["caller_name", "contact_phone", "address"].includes(name)
      ? null : value;
  };
  const writeField = (name, value) => {
    const el = input(name);
    if (el.type === "checkbox") el.checked = Boolean(value);
    else el.value = value === null || value === undefined ? "" : value;
  };
  const message = (id, text) => { $(id).textContent = text || ""; $(id).hidden = !text; };

  FIELDS.forEach((name) => input(name).addEventListener("input", () => dirty.add(name)));
  input("category").addEventListener("change", () => {
    // a new category suggests its department, unless the agent chose one themselves
    const option = input("category").selectedOptions[0];
    if (option && !dirty.has("department")) input("department").value = option.dataset.department;
  });

  const fill = (c, keepEdits) => {
    FIELDS.forEach((name) => { if (!(keepEdits && dirty.has(name))) writeField(name, c[name]); });
  };

  const show = (bundle, options) => {
    const c = bundle.case;
    const same = shown && shown.caseId === c.id;
    if (!same) dirty.clear();
    shown = {caseId: c.id, version: c.version, mode: options.mode, popId: options.popId,
             editable: options.editable};
    fill(c, same);
    form.hidden = false;
    form.dataset.caseId = String(c.id);
    $("case-title").textContent = c.number ? "工单 " + c.number : "工单草稿 #" + c.id;
    $("manual-fields").hidden = true;
    $("case-fields").disabled = !options.editable;
    $("case-register").disabled = !options.editable;
    $("case-dismiss").hidden = options.mode !== "pop";
    $("case-release").hidden = options.mode !== "claim";
    if (!same) { message("case-error", ""); message("case-done", ""); }
  };

  const showManual = () => {
    dirty.clear();
    shown = {caseId: null, version: null, mode: "manual", popId: null, editable: true};
    FIELDS.forEach((name) => writeField(name, name === "priority" ? "normal" : ""));
    input("category").selectedIndex = 0;
    input("department").value = input("category").selectedOptions[0].dataset.department;
    input("caller_number").value = "";
    form.hidden = false;
    form.dataset.caseId = "";
    $("case-title").textContent = "手工登记工单";
    $("manual-fields").hidden = false;
    $("case-fields").disabled = false;
    $("case-register").disabled = false;
    $("case-dismiss").hidden = true;
    $("case-release").hidden = true;
    message("case-error", "");
    message("case-done", "");
  };

  const clear = () => {
    shown = null;
    dirty.clear();
    form.hidden = true;
    form.dataset.caseId = "";
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

  const reloadAfterConflict = async (caseId) => {
    const response = await fetch("/api/cases/" + caseId, {credentials: "same-origin"});
    if (!response.ok) return;
    const bundle = await response.json();
    shown.version = bundle.case.version;
    fill(bundle.case, true);  // what this agent typed stays; the rest is the newer data
  };

  const register = async () => {
    if (!shown || !shown.editable) return;
    const fields = {};
    FIELDS.forEach((name) => { fields[name] = readField(name); });
    message("case-error", "");
    try {
      let data;
      if (shown.mode === "manual") {
        data = await post("/api/cases", {channel: $("f-channel").value,
                                         caller_number: $("f-caller_number").value, fields});
      } else {
        data = await post("/api/cases/" + shown.caseId + "/register",
                          {version: shown.version, fields});
      }
      if (!data) return;
      const done = shown;
      clear();
      message("case-done", "已受理，工单号 " + data.case.number);
      listeners.registered.forEach((f) => f(data.case, done));
    } catch (error) {
      if (error.status === 409) {
        message("case-error", "提交未保存：" + error.message +
                "。已载入最新内容（您的修改已保留），请核对后再次受理。");
        await reloadAfterConflict(shown.caseId);
      } else {
        message("case-error", "提交未保存：" + error.message);
      }
    }
  };

  form.addEventListener("submit", (event) => { event.preventDefault(); register(); });
  $("case-dismiss").addEventListener("click", async () => {
    if (!shown || shown.popId === null) return;
    const closing = shown;
    try {
      await post("/api/pops/" + closing.popId + "/dismiss");
      clear();
      listeners.closed.forEach((f) => f(closing));
    } catch (error) { message("case-error", error.message); }
  });
  $("case-release").addEventListener("click", async () => {
    if (!shown || shown.mode !== "claim") return;
    const releasing = shown;
    try {
      await post("/api/cases/" + releasing.caseId + "/release");
      clear();
      listeners.closed.forEach((f) => f(releasing));
    } catch (error) { message("case-error", error.message); }
  });

  return {
    show, showManual, clear, post,
    current: () => shown,
    on: (name, f) => listeners[name].push(f),
    setEditable: (editable) => {
      if (!shown) return;
      shown.editable = editable;
      $("case-fields").disabled = !editable;
      $("case-register").disabled = !editable;
    },
  };
})();
