"use strict";
(() => {
  const STATES = {logged_out: "未签入队列", ready: "就绪", paused: "暂停",
                  ringing: "振铃中", on_call: "通话中"};
  const DEVICE = {0: "分机状态未知", 4: "分机无效", 5: "分机不可用（未注册？）"};
  const $ = (id) => document.getElementById(id);
  const panel = $("presence");
  if (!panel) return;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const reason = $("presence-reason");

  const reasonLabel = (value) => {
    const option = Array.from(reason.options).find((o) => o.value === value);
    return option ? option.textContent : value;
  };

  const render = (s) => {
    let text = STATES[s.state] || s.state;
    if (s.paused && s.reason) {
      const why = reasonLabel(s.reason);
      text += s.state === "paused" ? "（" + why + "）" : "（已暂停：" + why + "）";
    }
    $("presence-state").textContent = text;
    $("presence-since").textContent = "自 " + new Date(s.since).toLocaleTimeString();
    $("presence-device").textContent = DEVICE[s.asterisk_status] || "";
    panel.dataset.state = s.state;
  };

  const showError = (message) => {
    $("presence-error").textContent = message;
    $("presence-error").hidden = !message;
  };

  const send = async (method, path, body) => {
    const options = {method, credentials: "same-origin", headers: {"X-CSRF-Token": token}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    try {
      const response = await fetch(path, options);
      if (response.status === 401) return window.location.assign("/login");
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      render(data);
      showError("");
    } catch (error) {
      showError(String(error.message || error));
    }
  };

  $("presence-ready").addEventListener("click", () => send("POST", "/api/agent/ready"));
  $("presence-pause").addEventListener(
    "click", () => send("POST", "/api/agent/pause", {reason: reason.value}));
  $("presence-leave").addEventListener("click", () => send("POST", "/api/agent/logout-queue"));
  const poll = () => send("GET", "/api/agent/state");
  poll();
  window.setInterval(poll, 2000);
})();
