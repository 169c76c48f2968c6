"use strict";
// The wallboard: polls /api/wallboard every 2 s and shows the figures big, in red when a
// target is missed. A failed poll says so and keeps the last figures, dimmed, until the
// next poll succeeds.
(() => {
  const board = document.getElementById("wallboard");
  if (!board) return;
  const PERIOD_MS = 2000;
  const AGENT_STATES = ["ready", "paused", "ringing", "on_call"];
  const $ = (id) => document.getElementById(id);
  const figure = (key) => board.querySelector('[data-figure="' + key + '"]');
  const note = (key) => board.querySelector('[data-note="' + key + '"]');
  const tile = (key) => board.querySelector('[data-tile="' + key + '"]');

  const count = (n) => (n === null || n === undefined ? "—" : String(n));
  const percent = (p) => (p === null || p === undefined ? "—" : p.toFixed(1) + "%");
  const minSec = (seconds) => {
    if (seconds === null || seconds === undefined) return "—";
    const whole = Math.floor(seconds);
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  };
  const below = (value, target) => value !== null && value !== undefined && value < target;

  const show = (key, text, alert) => {
    figure(key).textContent = text;
    tile(key).classList.toggle("alert", Boolean(alert));
  };

  const renderQueue = (data) => {
    show("waiting", count(data.waiting), false);
    const longest = data.longest_wait_seconds;
    show("longest_wait", minSec(longest), longest > data.targets.longest_wait_seconds);
  };

  const renderAgents = (agents) => {
    $("wb-telephony").hidden = agents !== null;
    for (const state of AGENT_STATES) {
      show(state, agents === null ? "—" : count(agents[state]), false);
      tile(state).hidden = agents === null;
    }
  };

  const renderToday = (data) => {
    const today = data.today;
    const day = data.last_24h;
    const threshold = data.threshold_seconds;
    show("offered", count(today.offered), false);
    show("answered", count(today.answered), false);
    note("answered").textContent = "接通率 " + percent(today.answer_rate);
    show("service_level", percent(today.service_level),
         below(today.service_level, data.targets.service_level));
    note("service_level").textContent = today.answered_within + " 通在" + threshold + "秒内接通";
    show("average_wait", minSec(today.average_wait_seconds), false);
    show("abandoned", count(today.abandoned), false);
    show("answer_rate_24h", percent(day.answer_rate),
         below(day.answer_rate, data.targets.answer_rate_24h));
    note("answer_rate_24h").textContent = "接通 " + day.answered + " / 呼入 " + day.offered;
    $("wb-day").textContent = data.service_day;
  };

  // 热点预警: how many alerts are open (red when any), and the newest titles, as text
  const renderAlerts = (alerts) => {
    if (!alerts) return;
    show("alerts_open", count(alerts.open), alerts.open > 0);
    $("wb-alerts").replaceChildren(...alerts.newest.map((alert) => {
      const item = document.createElement("li");
      item.textContent = alert.kind_label + "：" + alert.title;
      return item;
    }));
  };

  // times in the hotline's zone (the server says which), whatever the screen's setting
  let timeZone;
  const clock = (date) => date.toLocaleTimeString("zh-CN", {hour12: false, timeZone});

  const renderFooter = (data) => {
    timeZone = data.timezone;
    $("wb-updated").textContent = "更新于 " + clock(new Date(data.at));
    $("wb-stale").textContent = data.stale > 0
      ? "另有 " + data.stale + " 通来电长时间无结束记录（可能漏记挂机），未计入排队，请核查"
      : "";
  };

  const showError = (message) => {
    $("wb-error").textContent = message;
    $("wb-error").hidden = !message;
    board.classList.toggle("stale", Boolean(message));
  };

  // the figures (null: the session is over, off to the login page), or an Error whose
  // message tells the office what went wrong
  const fetchFigures = async () => {
    let response;
    try {
      response = await fetch("/api/wallboard", {credentials: "same-origin", cache: "no-store"});
    } catch {
      throw new Error("无法连接服务器");
    }
    if (response.status === 401) {
      window.location.assign("/login");
      return null;
    }
    let data;
    try {
      data = await response.json();
    } catch {
      throw new Error("服务器应答异常（HTTP " + response.status + "）");
    }
    if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
    return data;
  };

  const poll = async () => {
    try {
      const data = await fetchFigures();
      if (data === null) return;
      renderQueue(data);
      renderAgents(data.agents);
      renderToday(data);
      renderAlerts(data.alerts);
      renderFooter(data);
      showError("");
    } catch (error) {
      showError(clock(new Date()) + " 数据更新失败（" + error.message + "），正在重试…");
    }
    // the next poll waits for this one: a slow server never gets requests piled up
    window.setTimeout(poll, PERIOD_MS);
  };
  poll();
})();
