// The jam wall: a read-only page for a projector or a second monitor. It
// runs for hours without a reload: one socket subscribed to every topic of
// the jam (from the hello snapshot), resume by seq after any reconnect, a
// watchdog that replaces a silent (half-open) socket, and a trending list
// refreshed from the server every minute. No framework.

const body = document.body;
const MAX_POSTS = 30;
const MAX_ALERTS = 5;
const TRENDING_MS = 60_000;
const SILENCE_MS = 65_000; // the server ticks every 20 s

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// --- Countdown: updated by phase events, never reloads --------------------------

function formatRemaining(ms) {
  if (ms <= 0) return "0:00";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  const clock = h || d ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  return d ? `${d} d ${clock}` : clock;
}

function tickCountdown() {
  const time = document.querySelector("[data-wall-countdown]");
  if (!time) return;
  const deadline = Date.parse(time.getAttribute("datetime"));
  if (!Number.isNaN(deadline)) time.textContent = formatRemaining(deadline - Date.now());
}

// --- Panels ------------------------------------------------------------------------

const seenIdeas = new Map(); // idea id -> title, from the posts we have shown

function addPost(data) {
  const list = document.querySelector("[data-wall-posts]");
  if (!list || document.getElementById(`wall-post-${data.id}`)) return;
  if (data.title) seenIdeas.set(data.idea, data.title);
  const item = el("li", { class: "wall-post new", id: `wall-post-${data.id}`, "data-idea-id": data.idea });
  const meta = el("p", { class: "meta" });
  meta.append(el("span", {}, data.author ? data.author.name : ""));
  const title = data.title || seenIdeas.get(data.idea) || "";
  if (title) meta.append(" · ", el("span", {}, title));
  const content = el("div", { class: "body" });
  content.innerHTML = data.body_html; // sanitized on the server (nh3) when written
  item.append(meta, content);
  list.prepend(item);
  while (list.children.length > MAX_POSTS) list.lastElementChild.remove();
}

function bumpTrending(ideaId, title) {
  const list = document.querySelector("[data-wall-trending]");
  if (!list) return;
  let item = list.querySelector(`[data-idea-id="${ideaId}"]`);
  if (!item) {
    if (!title) return; // unknown idea: the next refresh brings it
    item = el("li", { "data-idea-id": ideaId, "data-score": "0" });
    item.append(el("span", { class: "wall-idea-title" }, title), " ", el("span", { class: "badge", "data-wall-score": "" }, "0"));
    list.append(item);
  }
  const score = Number(item.dataset.score || 0) + 1;
  item.dataset.score = String(score);
  item.querySelector("[data-wall-score]").textContent = String(score);
  const sorted = [...list.children].sort((a, b) => Number(b.dataset.score) - Number(a.dataset.score));
  list.replaceChildren(...sorted.slice(0, 10));
}

function renderTrending(ideas) {
  const list = document.querySelector("[data-wall-trending]");
  if (!list) return;
  list.replaceChildren(
    ...ideas.map((idea) => {
      const item = el("li", { "data-idea-id": idea.id, "data-score": idea.score });
      item.append(el("span", { class: "wall-idea-title" }, idea.title), " ", el("span", { class: "badge", "data-wall-score": "" }, String(idea.score)));
      return item;
    }),
  );
}

async function refreshTrending() {
  try {
    const response = await fetch(body.dataset.trendingUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) renderTrending((await response.json()).ideas);
  } catch {
    // offline: the next refresh tries again
  }
}

function addAlert(author, text) {
  const list = document.querySelector("[data-wall-alerts]");
  if (!list) return;
  const item = el("li", { class: "new" });
  if (author) item.append(el("strong", {}, author), ": ");
  item.append(text);
  list.prepend(item);
  while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
}

function setConnection(status) {
  body.dataset.connection = status;
  const label = document.querySelector("[data-wall-connection]");
  if (label) label.textContent = status === "online" ? "●" : "○";
}

// --- The socket ------------------------------------------------------------------------

class WallSocket {
  constructor(slug) {
    this.slug = slug;
    this.lastSeq = Number(body.dataset.seq || 0);
    this.attempt = 0;
    this.topics = new Set();
    this.ws = null;
    this.heard = Date.now();
    this.reconnecting = false;
  }

  connect() {
    this.reconnecting = false;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/jams/${this.slug}/`);
    this.ws = ws;
    this.heard = Date.now();
    ws.addEventListener("message", (e) => {
      if (ws === this.ws) this.receive(e.data);
    });
    ws.addEventListener("close", (e) => {
      if (ws === this.ws) this.closed(e);
    });
  }

  closed(event) {
    setConnection("offline");
    if (event.code === 4403 || event.code === 4401) return; // not allowed: stop
    if (this.reconnecting) return;
    this.reconnecting = true;
    const cap = Math.min(30000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), Math.random() * cap);
  }

  // A socket that went silent (no tick for a minute) is half-open: replace it.
  watchdog() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.heard > SILENCE_MS) {
      const stale = this.ws;
      this.closed({ code: 1006 });
      this.ws = null;
      stale.close();
    }
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  subscribe(topicId) {
    if (this.topics.has(topicId)) return;
    this.topics.add(topicId);
    this.send({ type: "subscribe", topic: topicId });
  }

  receive(text) {
    this.heard = Date.now();
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === "hello") {
      this.attempt = 0;
      setConnection("online");
      this.topics = new Set();
      for (const topic of msg.topics || []) this.subscribe(topic.id);
      this.send({ type: "resume", after: this.lastSeq });
      applyPhase(msg.phase);
    } else if (msg.type === "event" && msg.seq === null) {
      if (msg.event === "presence") {
        const online = document.querySelector("[data-wall-online]");
        if (online) online.textContent = String(msg.data.jam);
      }
    } else if (msg.type === "event") {
      if (msg.seq <= this.lastSeq) return;
      this.lastSeq = msg.seq;
      this.apply(msg.event, msg.data);
    } else if (msg.type === "tick") {
      if (msg.seq > this.lastSeq) this.send({ type: "resume", after: this.lastSeq });
    } else if (msg.type === "resumed") {
      this.lastSeq = Math.max(this.lastSeq, msg.seq);
    }
  }

  apply(name, data) {
    if (name === "post.created") {
      addPost(data);
      bumpTrending(data.idea, data.title || seenIdeas.get(data.idea));
    } else if (name === "reaction.changed") {
      bumpTrending(data.idea, seenIdeas.get(data.idea));
    } else if (name === "post.hidden") {
      document.getElementById(`wall-post-${data.id}`)?.remove();
    } else if (name === "alert") {
      addAlert(data.author, data.text);
    } else if (name === "session.started") {
      addAlert("", `${body.dataset.sessionText || ""} ${data.title}`);
    } else if (name === "topic.created") {
      this.subscribe(data.id);
    } else if (name === "phase.changed") {
      applyPhase(data);
    }
  }
}

function applyPhase(phase) {
  if (!phase) return;
  const time = document.querySelector("[data-wall-countdown]");
  if (time && phase.deadline) time.setAttribute("datetime", phase.deadline);
  const stage = document.querySelector("[data-wall-stage]");
  if (stage && phase.stage && !stage.classList.contains(`stage-${phase.stage}`)) {
    stage.className = `stage stage-${phase.stage}`;
  }
}

// --- Start -------------------------------------------------------------------------------

for (const item of document.querySelectorAll("[data-wall-posts] [data-idea-id]")) {
  const title = item.querySelector(".meta span:last-child");
  if (title) seenIdeas.set(Number(item.dataset.ideaId), title.textContent);
}
tickCountdown();
setInterval(tickCountdown, 1000);
setInterval(refreshTrending, TRENDING_MS);
if (body.dataset.jam && "WebSocket" in window) {
  const socket = new WallSocket(body.dataset.jam);
  socket.connect();
  setInterval(() => socket.watchdog(), 5000);
  window.wallSocket = socket; // for debugging and browser tests
}
