// Jam's live layer: a small ES module, no framework. Pages work without it
// (forms post); with it, posts, reactions, phase changes and alerts appear
// as they happen, and nothing is lost across a dropped connection: the
// client remembers the last event seq it saw and asks the server to replay
// what came after ("resume") whenever it reconnects or a heartbeat shows it
// is behind. Events are applied idempotently by id and seq.

const body = document.body;

// --- Countdown -------------------------------------------------------------

function formatRemaining(ms, daysLabel = "d") {
  if (ms <= 0) return "0:00";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  const clock = h || d ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
  return d ? `${d} ${daysLabel} ${clock}` : clock;
}

function startCountdowns() {
  const tick = () => {
    for (const el of document.querySelectorAll("[data-countdown]")) {
      const deadline = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(deadline)) continue;
      const left = deadline - Date.now();
      el.textContent = formatRemaining(left, el.dataset.daysLabel);
      if (left <= 0 && !el.dataset.expired) {
        el.dataset.expired = "1";
        // The phase changed by the clock: reload after a jitter so thousands
        // of pages do not reload in the same second.
        setTimeout(() => window.location.reload(), 1000 + Math.random() * 4000);
      }
    }
  };
  tick();
  setInterval(tick, 1000);
}

// --- Live socket -------------------------------------------------------------

class JamSocket {
  constructor(slug) {
    this.slug = slug;
    this.lastSeq = Number(body.dataset.seq || 0);
    // A signed pass that opens the socket without loading the session
    // (jams/tickets.py); every hello brings a fresh one for the next connect.
    this.ticket = body.dataset.ticket || null;
    this.greeted = false;
    this.attempt = 0;
    this.pending = new Map(); // client_id -> message, resent after reconnect
    this.handlers = new Map();
    this.ws = null;
  }

  get open() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    // batch=1: live events that arrive together come in one frame, a line each.
    const query = this.ticket ? `?batch=1&ticket=${encodeURIComponent(this.ticket)}` : "?batch=1";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/jams/${this.slug}/${query}`);
    this.ws = ws;
    this.greeted = false;
    ws.addEventListener("message", (e) => this.receive(e.data));
    ws.addEventListener("close", (e) => this.closed(e));
  }

  closed(event) {
    setStatus("offline");
    // Refused before its hello: the next attempt goes on the session.
    if (!this.greeted) this.ticket = null;
    if (event.code === 4403 || event.code === 4401) return; // not allowed: stop
    // Full jitter exponential backoff, capped at 30 s.
    const cap = Math.min(30000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), Math.random() * cap);
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  request(message) {
    message.client_id = message.client_id || crypto.randomUUID();
    this.pending.set(message.client_id, message);
    this.send(message);
    return message.client_id;
  }

  receive(frame) {
    for (const line of frame.split("\n")) this.receiveOne(line);
  }

  receiveOne(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === "hello") {
      this.attempt = 0;
      this.greeted = true;
      if (msg.ticket) this.ticket = msg.ticket;
      setStatus("online");
      if (body.dataset.topic) this.send({ type: "subscribe", topic: Number(body.dataset.topic) });
      if (body.dataset.idea) this.send({ type: "subscribe", idea: Number(body.dataset.idea) });
      // Catch up on everything after what this page last saw.
      this.send({ type: "resume", after: this.lastSeq });
      for (const message of this.pending.values()) this.send(message);
    } else if (msg.type === "event" && msg.seq === null) {
      // Not stored, no seq (presence): apply as it comes.
      const handler = this.handlers.get(msg.event);
      if (handler) handler(msg.data, msg);
    } else if (msg.type === "event") {
      if (msg.seq <= this.lastSeq) return;
      this.lastSeq = msg.seq;
      const handler = this.handlers.get(msg.event);
      if (handler) handler(msg.data, msg);
    } else if (msg.type === "tick") {
      if (msg.seq > this.lastSeq) this.send({ type: "resume", after: this.lastSeq });
    } else if (msg.type === "resumed") {
      this.lastSeq = Math.max(this.lastSeq, msg.seq);
    } else if (msg.type === "ack") {
      this.pending.delete(msg.client_id);
      document.dispatchEvent(new CustomEvent("jam:ack", { detail: msg }));
    } else if (msg.type === "error") {
      if (msg.client_id && msg.code !== "rate_limited" && msg.code !== "server_error") {
        this.pending.delete(msg.client_id);
      }
      document.dispatchEvent(new CustomEvent("jam:error", { detail: msg }));
    } else if (msg.type === "role") {
      window.location.reload();
    }
  }

  on(name, handler) {
    this.handlers.set(name, handler);
  }
}

function setStatus(status) {
  body.dataset.connection = status;
  // The notice's text is in the page (translated), not in the script.
  const notice = document.querySelector("[data-offline-notice]");
  if (notice) notice.hidden = status !== "offline";
}

// --- Rendering events ----------------------------------------------------------

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function postArticle(data) {
  const article = el("article", { class: "post", id: `post-${data.id}`, "data-post-id": data.id });
  const header = el("header", { class: "meta" });
  header.append(el("span", { class: "author" }, data.author ? data.author.name : ""));
  header.append(" · ");
  const lang = document.documentElement.lang || undefined;
  header.append(el("time", { datetime: data.created_at }, new Date(data.created_at).toLocaleString(lang)));
  const content = el("div", { class: "body", "data-body": "" });
  content.innerHTML = data.body_html; // sanitized on the server (nh3) when written
  const counts = el("p", { class: "post-actions" });
  for (const value of ["agree", "disagree", "pass"]) {
    counts.append(el("span", { "data-count": value }, String(data.counts[value])), " ");
  }
  article.append(header, content, counts, el("div", { class: "replies", "data-replies": "" }));
  return article;
}

function onPostCreated(data) {
  if (document.getElementById(`post-${data.id}`)) return;
  const ideaId = Number(body.dataset.idea || 0);
  if (ideaId && data.idea === ideaId && data.parent) {
    const parent = document.querySelector(`#post-${data.parent} > [data-replies]`);
    const target = parent || document.querySelector("[data-thread]");
    if (target) target.append(postArticle(data));
    return;
  }
  const list = document.querySelector("[data-ideas]");
  if (!list) return;
  if (data.parent === null) {
    if (document.getElementById(`idea-${data.idea}`)) return;
    list.querySelector("[data-empty]")?.remove();
    const item = el("li", { class: "idea-item new", id: `idea-${data.idea}`, "data-idea-id": data.idea });
    const link = el("a", { class: "idea-title", href: `/jams/${body.dataset.jam}/ideas/${data.idea}/` }, data.title);
    item.append(link, " ", el("span", { class: "meta" }, data.author ? data.author.name : ""));
    list.prepend(item);
  } else {
    const item = document.getElementById(`idea-${data.idea}`);
    if (item) {
      item.classList.add("new");
      list.prepend(item);
    }
  }
}

function onPostUpdated(data) {
  const target = document.querySelector(`#post-${data.id} > [data-body]`);
  if (target) target.innerHTML = data.body_html;
  if (data.title) {
    const title = document.querySelector("[data-idea-title]");
    if (title && Number(body.dataset.idea) === data.idea) title.textContent = data.title;
  }
}

function onPostHidden(data) {
  const post = document.getElementById(`post-${data.id}`);
  if (!post) return;
  post.classList.add("hidden-post");
  const target = post.querySelector(":scope > [data-body]");
  if (target) target.replaceChildren(el("p", { class: "hidden-note" }, body.dataset.hiddenText || "—"));
}

function onReaction(data) {
  for (const [value, n] of Object.entries(data.counts)) {
    const counter = document.querySelector(`#post-${data.post} [data-count="${value}"]`);
    if (counter) counter.textContent = String(n);
  }
}

function onPhase(data) {
  const phase = document.querySelector("[data-phase]");
  if (phase && phase.dataset.stage !== data.stage) {
    setTimeout(() => window.location.reload(), Math.random() * 3000);
  }
  const countdown = document.querySelector("[data-countdown]");
  if (countdown && data.deadline) countdown.setAttribute("datetime", data.deadline);
}

function onAlert(data) {
  const box = document.querySelector("[data-alerts]");
  if (!box) return;
  const item = el("p", { class: "alert" });
  item.append(el("strong", {}, data.author), ": ", data.text);
  box.prepend(item);
}

function onPresence(data) {
  const online = document.querySelector("[data-online]");
  if (!online) return;
  online.hidden = false;
  online.textContent = `● ${data.jam} ${online.dataset.onlineLabel || ""}`.trim();
}

// Analysis pages: move the progress bar; reload (jittered) when results are ready.
function onAnalysis(data, msg) {
  if (!document.querySelector("[data-analysis-page]")) return;
  const bar = document.querySelector("[data-analysis-progress]");
  if (bar && typeof data.progress === "number") bar.value = data.progress;
  const status = document.querySelector("[data-analysis-status]");
  if (status && data.status) {
    // The page's own translation of the status (data-label-done, ...), not the raw value.
    const key = `label${data.status.charAt(0).toUpperCase()}${data.status.slice(1)}`;
    status.textContent = status.dataset[key] || data.status;
  }
  if (msg.event === "analysis.ready") setTimeout(() => window.location.reload(), 500 + Math.random() * 2000);
}

function onTurnout(data) {
  const turnout = document.querySelector(`[data-turnout][data-round="${data.round}"]`);
  if (turnout) turnout.textContent = String(data.voters);
}

// --- Composing over the socket -------------------------------------------------

function interceptForms(socket) {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const kind = form.dataset.compose;
    if (!kind || !socket.open) return; // without a socket the form posts normally
    event.preventDefault();
    const data = new FormData(form);
    const message = { type: "post", body: String(data.get("body") || "") };
    if (kind === "idea") {
      message.topic = Number(body.dataset.topic);
      message.title = String(data.get("title") || "");
    } else {
      message.idea = Number(body.dataset.idea);
      const parent = data.get("parent");
      message.parent = parent ? Number(parent) : null;
    }
    const clientId = socket.request(message);
    form.dataset.pending = clientId;
    form.querySelector("button[type=submit]")?.setAttribute("aria-busy", "true");
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("form[data-react] button[name=value]");
    if (!button || !socket.open) return;
    event.preventDefault();
    const post = Number(button.closest("[data-post-id]").dataset.postId);
    socket.request({ type: "react", post, value: button.value });
    for (const b of button.form.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
  });
  document.addEventListener("jam:ack", (event) => {
    const form = document.querySelector(`form[data-pending="${event.detail.client_id}"]`);
    if (!form) return;
    form.reset();
    delete form.dataset.pending;
    form.querySelector("button[type=submit]")?.removeAttribute("aria-busy");
    form.closest("details")?.removeAttribute("open");
  });
  document.addEventListener("jam:error", (event) => {
    const { client_id: clientId, message } = event.detail;
    const form = clientId && document.querySelector(`form[data-pending="${clientId}"]`);
    const box = document.querySelector("[data-alerts]");
    if (form) {
      delete form.dataset.pending;
      form.querySelector("button[type=submit]")?.removeAttribute("aria-busy");
    }
    if (box) box.prepend(el("p", { class: "alert error", role: "alert" }, message));
  });
}

// --- Voting over the socket ------------------------------------------------------

// The round page's ballot form (data-ballot): the whole ballot in one vote
// message; without a socket the form posts as usual. The inputs keep what
// was sent; the "Your vote" column follows the stored ballot.
function ballotChoices(form) {
  const choices = {};
  for (const input of form.querySelectorAll("input[name^='idea_']")) {
    const idea = input.name.slice("idea_".length);
    if (input.type === "checkbox") {
      if (input.checked) choices[idea] = 1;
    } else if (input.type === "radio") {
      if (input.checked && input.value !== "") choices[idea] = Number(input.value);
    } else if (input.value.trim() !== "") {
      choices[idea] = Number(input.value); // not a whole number: refused with a reason
    }
  }
  return choices;
}

function interceptBallots(socket) {
  const sent = new Map(); // client_id -> [form, choices]
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.ballot === undefined || !socket.open) return;
    event.preventDefault();
    const choices = ballotChoices(form);
    const clientId = socket.request({ type: "vote", round: Number(form.dataset.round), choices });
    sent.set(clientId, [form, choices]);
    form.querySelector("button[type=submit]")?.setAttribute("aria-busy", "true");
  });
  document.addEventListener("jam:ack", (event) => {
    const entry = sent.get(event.detail.client_id);
    if (!entry) return;
    sent.delete(event.detail.client_id);
    const [form, choices] = entry;
    form.querySelector("button[type=submit]")?.removeAttribute("aria-busy");
    for (const cell of document.querySelectorAll("[data-mine]")) {
      const value = choices[cell.dataset.mine];
      cell.textContent = value ? String(value) : "—";
    }
    const box = document.querySelector("[data-alerts]");
    if (box) box.prepend(el("p", { class: "alert" }, form.dataset.savedText || ""));
  });
  document.addEventListener("jam:error", (event) => {
    const entry = sent.get(event.detail.client_id);
    if (!entry) return;
    sent.delete(event.detail.client_id);
    entry[0].querySelector("button[type=submit]")?.removeAttribute("aria-busy");
  });
}

// --- Community: notifications badge, help radar, session questions -----------

function showNotificationCount(n) {
  const badge = document.querySelector("[data-notification-count]");
  if (!badge) return;
  badge.textContent = String(n);
  badge.hidden = n <= 0;
}

function bumpNotifications() {
  const badge = document.querySelector("[data-notification-count]");
  if (badge) showNotificationCount(Number(badge.textContent || 0) + 1);
}

// The header badge: counted once per page load, then kept by events.
async function loadNotificationCount() {
  const badge = document.querySelector("[data-notification-count]");
  if (!badge || !badge.dataset.notificationCount) return;
  try {
    const response = await fetch(badge.dataset.notificationCount, { credentials: "same-origin" });
    if (response.ok) showNotificationCount((await response.json()).unread);
  } catch {
    // offline: no badge
  }
}

function onSessionStarted(data) {
  const box = document.querySelector("[data-alerts]");
  if (box) {
    const item = el("p", { class: "alert" });
    item.append(`${body.dataset.sessionText || ""} `, el("a", { href: data.url }, data.title));
    box.prepend(item);
  }
  bumpNotifications();
}

// Replace a server-rendered fragment (the radar queue, the session
// questions) with a fresh copy; coalesces bursts of events.
const refreshTimers = new Map();
function refreshFragment(selector, url) {
  const target = document.querySelector(selector);
  if (!target || !url || refreshTimers.has(selector)) return;
  refreshTimers.set(selector, setTimeout(async () => {
    refreshTimers.delete(selector);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) target.innerHTML = await response.text(); // our own template
    } catch {
      // offline: the next event or a reload brings it
    }
  }, 300));
}

function onHelpChanged() {
  refreshFragment("[data-help-queue]", body.dataset.helpRadar);
}

function onSessionActivity(data) {
  if (Number(body.dataset.idea || 0) !== data.idea && data.session === undefined) return;
  refreshFragment("[data-questions]", body.dataset.sessionQuestions);
}

document.addEventListener("jam:error", (event) => {
  // Posting before accepting the jam's guidelines: go and read them.
  if (event.detail.code === "guidelines_required" && body.dataset.guidelinesUrl) {
    const next = encodeURIComponent(window.location.pathname);
    window.location.assign(`${body.dataset.guidelinesUrl}?next=${next}`);
  }
});

// --- Wide tables -----------------------------------------------------------
// A table wider than the window scrolls inside its own region
// (.table-scroll) rather than the page scrolling sideways. The region is in
// the tab order in the HTML, so that without this script a keyboard can
// still scroll it; with it, only a region that does scroll stays there.

function fitTableRegions() {
  if (!("ResizeObserver" in window)) return;
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const region = entry.target.closest(".table-scroll");
      if (region.scrollWidth > region.clientWidth) region.setAttribute("tabindex", "0");
      else region.removeAttribute("tabindex");
    }
  });
  for (const region of document.querySelectorAll(".table-scroll")) {
    observer.observe(region);
    if (region.firstElementChild) observer.observe(region.firstElementChild);
  }
}

// --- Start ---------------------------------------------------------------------

fitTableRegions();

startCountdowns();
loadNotificationCount();
if (body.dataset.live !== undefined && body.dataset.jam && "WebSocket" in window) {
  const socket = new JamSocket(body.dataset.jam);
  socket.on("post.created", (data) => {
    onPostCreated(data);
    onSessionActivity(data);
  });
  socket.on("post.updated", onPostUpdated);
  socket.on("post.hidden", onPostHidden);
  socket.on("reaction.changed", (data) => {
    onReaction(data);
    onSessionActivity(data);
  });
  socket.on("session.answered", onSessionActivity);
  socket.on("session.started", onSessionStarted);
  socket.on("help.changed", onHelpChanged);
  socket.on("notification", bumpNotifications);
  socket.on("phase.changed", onPhase);
  socket.on("alert", (data) => {
    onAlert(data);
    bumpNotifications();
  });
  socket.on("presence", onPresence);
  socket.on("turnout.changed", onTurnout);
  socket.on("analysis.progress", onAnalysis);
  socket.on("analysis.ready", onAnalysis);
  interceptForms(socket);
  interceptBallots(socket);
  socket.connect();
  window.jamSocket = socket; // for debugging and browser tests
}
