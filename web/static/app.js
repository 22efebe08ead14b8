// Ghostwire's glue around htmx: everything else arrives as server-rendered fragments.

// 422 means "your input was refused": swap the message into the error slot, keep the form's text.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true, error: true },
  { code: "[45]..", swap: false, error: true },
];

// A swap settles at once: by default htmx wires a swapped-in button (Allow, Undo) and gives an element
// its new classes 20 ms later, for CSS transitions we don't use, and a click in between was lost.
htmx.config.defaultSettleDelay = 0;

// The browser's own reconnects send Last-Event-ID; the htmx extension's (a new EventSource
// after a failed connection) don't, so carry the last id we saw in the URL as well.
let lastEventId = "";
document.addEventListener("htmx:sseBeforeMessage", (e) => {
  if (e.detail && e.detail.lastEventId) lastEventId = e.detail.lastEventId;
});
htmx.createEventSource = (url) => {
  if (lastEventId) url = url.replace(/after=[^&]*/, "after=" + encodeURIComponent(lastEventId));
  return new EventSource(url, { withCredentials: true });
};

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
}

// The log keeps its end in view while the person is there: where they were is read before every swap (an
// event's or a response's: Retry and Edit redraw the whole log, a new element at the top), and the end is
// shown again after it.
let stickToBottom = true;
function noteWhere() {
  const log = document.getElementById("chat-log");
  if (log) stickToBottom = nearBottom(log);
}
function keepEnd() {
  const log = document.getElementById("chat-log");
  if (log && stickToBottom) log.scrollTop = log.scrollHeight;
}
document.addEventListener("htmx:sseBeforeMessage", noteWhere);
document.addEventListener("htmx:beforeSwap", noteWhere);
document.addEventListener("htmx:sseMessage", keepEnd);
document.addEventListener("htmx:afterSettle", keepEnd);
document.addEventListener("htmx:afterSwap", (e) => {
  if (e.detail.target?.id === "chat-log") document.getElementById("chat-log").scrollTop = 1e9;  // a message sent
});

// Enter sends, Shift+Enter is a new line; the input keeps focus after sending.
// In a task's name, Enter commits the rename (blur fires "change") instead of submitting the order form.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Enter" || e.isComposing) return;
  if (e.target.id === "msg" && !e.shiftKey) {
    e.preventDefault();
    e.target.form.requestSubmit();
  } else if (e.target.matches("#task-list input.name")) {
    e.preventDefault();
    e.target.blur();
  }
});
document.addEventListener("htmx:afterRequest", (e) => {
  const form = e.detail.elt;
  if (form.id === "chat-form" && e.detail.successful) {
    form.reset();
    form.querySelector("#msg").focus();
  }
});

// Toasts (the !test self-test, alerts) fade away on their own.
function timeToasts() {
  document.querySelectorAll(".toast:not([data-timed])").forEach((t) => {
    t.dataset.timed = "1";
    setTimeout(() => t.remove(), 8000);
  });
}
document.addEventListener("htmx:oobAfterSwap", timeToasts);
document.addEventListener("htmx:afterSwap", timeToasts);

// Drag to reorder: Sortable's onEnd posts the moved task and where it went.
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
htmx.onLoad((content) => {
  const lists = content.matches && content.matches(".tasks") ? [content] : content.querySelectorAll(".tasks");
  lists.forEach((list) => {
    // forceFallback: pointer events rather than native HTML5 drag, the same on mouse, touch and pen. A finger
    // on the handle drags at once (app.css gives the handle touch-action: none, so the page doesn't scroll
    // instead); a few pixels of tolerance keep a tap a tap.
    if (!list.sortable) list.sortable = new Sortable(list, {
      handle: ".handle", forceFallback: true, fallbackTolerance: 3, touchStartThreshold: 3,
      animation: reducedMotion.matches ? 0 : 150,
      // Only the moved task and the one it now sits above: two fields, however long the list.
      onEnd: (e) => {
        if (e.oldIndex === e.newIndex) return;
        const next = e.item.nextElementSibling;
        const values = { id: e.item.dataset.id };
        if (next && next.dataset.id) values.before = next.dataset.id;
        htmx.ajax("POST", "/tasks/order", { source: e.item, values, target: "#task-error", swap: "innerHTML" });
      },
    });
  });
});

// Copy: a reply's text as the page shows it (rendered, not its markdown source), without its chips and
// its thinking; the clipboard API where the page is a secure context, else the older copy command.
document.addEventListener("click", async (e) => {
  const button = e.target.closest("button.copy[data-copy]");
  if (!button) return;
  const body = document.getElementById(button.dataset.copy);
  if (!body) return;
  body.classList.add("copying");  // hides the chips (app.css) for the moment innerText is read
  const text = body.innerText.trim();
  body.classList.remove("copying");
  let ok = false;
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); ok = true; } catch (_) { ok = false; }
  }
  if (!ok) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    ok = document.execCommand("copy");
    area.remove();
  }
  button.textContent = ok ? "Copied" : "Couldn't copy";
  button.dataset.copied = "1";
  setTimeout(() => { button.textContent = "Copy"; delete button.dataset.copied; }, 1500);
});

// At phone widths the status is one line; the toggle shows all of it.
document.addEventListener("click", (e) => {
  const toggle = e.target.closest("#status-toggle");
  if (!toggle) return;
  const header = toggle.closest("header");
  const open = !header.hasAttribute("data-open");
  header.toggleAttribute("data-open", open);
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
window.addEventListener("load", () => {
  const log = document.getElementById("chat-log");
  if (log) log.scrollTop = log.scrollHeight;
});

// Whether the live stream is connected: the page dims a little when it isn't (and tests wait on it).
document.addEventListener("htmx:sseOpen", () => (document.documentElement.dataset.sse = "open"));
document.addEventListener("htmx:sseError", () => (document.documentElement.dataset.sse = "closed"));

// The original's green "terminal" glow for the model's text, remembered per browser.
function setGlow(on) {
  document.documentElement.dataset.glow = on ? "on" : "off";
  const b = document.getElementById("glow-toggle");
  if (b) b.setAttribute("aria-pressed", on ? "true" : "false");
  localStorage.setItem("ghostwire-glow", on ? "on" : "off");
}
document.addEventListener("DOMContentLoaded", () => {
  setGlow(localStorage.getItem("ghostwire-glow") === "on");
  document.getElementById("glow-toggle")?.addEventListener("click", () =>
    setGlow(document.documentElement.dataset.glow !== "on"));
});

// Undo / redo: Ctrl+Z (Cmd+Z) undoes the person's own last change and Ctrl+Shift+Z (or Ctrl+Y)
// redoes it, outside a text field (there the browser's own text undo applies).
document.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || e.isComposing) return;
  const key = e.key.toLowerCase();
  if (key !== "z" && key !== "y") return;
  if (e.target.closest("input, textarea, select, [contenteditable]")) return;
  e.preventDefault();
  const redo = key === "y" || e.shiftKey;
  htmx.ajax("POST", redo ? "/redo/last" : "/undo/last", { values: { by: "person" }, swap: "none" });
});
// An undo or a decision refused (409: "'buy milk' was renamed after this reply; undo that first"),
// or an unknown id (404): say why where the list's errors go. The JSON's text is set as text, never HTML.
document.addEventListener("htmx:responseError", (e) => {
  const xhr = e.detail.xhr;
  if (![404, 409, 503].includes(xhr.status) || !/^\/(undo|redo|approve)\//.test(e.detail.pathInfo.requestPath)) return;
  let text = "";
  try { text = JSON.parse(xhr.responseText).error || ""; } catch (_) { return; }
  const slot = document.getElementById("task-error");
  if (!slot || !text) return;
  const p = document.createElement("p");
  p.className = "error-text";
  const verb = { undo: "undo", redo: "redo", approve: "answer" }[e.detail.pathInfo.requestPath.split("/")[1]];
  p.textContent = "Couldn't " + verb + ": " + text + ".";
  slot.replaceChildren(p);
});
document.addEventListener("htmx:afterRequest", (e) => {
  const path = e.detail.pathInfo && e.detail.pathInfo.requestPath;
  if (e.detail.successful && path && /^\/(undo|redo|approve)\//.test(path)) {
    document.getElementById("task-error")?.replaceChildren();
  }
});

// An import file over the body limit is refused at the edge (413, plain text, before any route): say so
// where the list's errors go, as text.
document.addEventListener("htmx:responseError", (e) => {
  const xhr = e.detail.xhr;
  if (xhr.status !== 413 || e.detail.pathInfo.requestPath !== "/tasks/import") return;
  const p = document.createElement("p");
  p.className = "error-text";
  p.textContent = "Nothing was imported: the file is too large (" + xhr.responseText.trim() + ").";
  document.getElementById("task-error")?.replaceChildren(p);
  document.getElementById("import-result")?.replaceChildren();
});

// Anything else refused before it reached a route (400 too many fields, 413 too large at the edge, a 5xx), or
// a request that never reached the web at all: said in the page where the person acted, as text. The chat's
// input keeps its text (it is only cleared on success).
function errorSlot(elt) {
  return document.getElementById(elt && elt.closest && elt.closest("#chat-form, .panel.chat") ? "chat-error" : "task-error");
}
function sayError(elt, text) {
  const slot = errorSlot(elt);
  if (!slot) return;
  const p = document.createElement("p");
  p.className = "error-text";
  p.textContent = text;
  slot.replaceChildren(p);
}
document.addEventListener("htmx:responseError", (e) => {
  const xhr = e.detail.xhr, path = e.detail.pathInfo.requestPath;
  if (xhr.status === 422) return;  // swapped into its slot by htmx itself
  if ([404, 409, 503].includes(xhr.status) && /^\/(undo|redo|approve)\//.test(path)) return;  // said above
  if (xhr.status === 413 && path === "/tasks/import") return;  // said above
  if (path.startsWith("/conversations")) return;  // a toast says it (conversation.js)
  const why = (xhr.responseText || "").trim().slice(0, 200) || xhr.statusText || "no reason given";
  sayError(e.detail.elt, "Couldn't do that: the server refused it (" + xhr.status + ": " + why + ").");
});
document.addEventListener("htmx:sendError", (e) => {
  const chat = e.detail.elt && e.detail.elt.id === "chat-form";
  sayError(e.detail.elt, "Couldn't reach Ghostwire — is it still running? " +
    (chat ? "Nothing was sent; your message is still in the box." : "Nothing was changed."));
});

// Phone: the chat and the list each get the whole screen (app.css hides the other below 600 px); a tab shows a
// dot when its view changed while the other was shown. What an event changes is read from its fragment's ids.
function showView(view) {
  document.body.dataset.view = view;
  document.querySelectorAll("#views [data-view]").forEach((b) => {
    const on = b.dataset.view === view;
    b.setAttribute("aria-selected", on ? "true" : "false");
    if (on) delete b.dataset.changed;
  });
  if (view === "chat") {
    const log = document.getElementById("chat-log");
    if (log) log.scrollTop = log.scrollHeight;
  }
}
document.addEventListener("click", (e) => {
  const tab = e.target.closest("#views [data-view]");
  if (tab) showView(tab.dataset.view);
});
document.addEventListener("htmx:sseBeforeMessage", (e) => {
  const data = (e.detail && e.detail.data) || "";
  const view = document.body.dataset.view || "chat";
  const changed = view === "chat" ? /id="task-(list|\d)/.test(data) && "list"
    : /#chat-log|id="(msg|body)-/.test(data) && "chat";
  if (changed) document.getElementById("view-" + changed)?.setAttribute("data-changed", "");
});

// A task the person adds is scrolled into view when it arrives (a long list's end is below the fold).
let revealNewTask = false;
document.addEventListener("htmx:afterRequest", (e) => {
  if (e.detail.elt && e.detail.elt.id === "add-task" && e.detail.successful) revealNewTask = true;
});
document.addEventListener("htmx:sseMessage", () => {
  if (!revealNewTask) return;
  revealNewTask = false;
  document.querySelector("#task-list li:last-child")?.scrollIntoView({ block: "nearest" });
});

// Escape closes the Chats drawer (a <details>), and gives the focus back to its summary.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  const open = document.querySelector("details.drawer[open]");
  if (!open) return;
  open.removeAttribute("open");
  open.querySelector("summary")?.focus();
});

// Times the server sends in UTC ([data-local]) shown in the reader's own time zone, on load and after a swap.
function localTimes(root) {
  (root.querySelectorAll ? root : document).querySelectorAll("time[data-local]").forEach((t) => {
    const at = new Date(t.getAttribute("datetime"));
    if (isNaN(at)) return;
    t.textContent = t.dataset.local === "time" ? at.toLocaleTimeString() : at.toLocaleString();
    t.title = at.toString();
  });
}
htmx.onLoad(localTimes);
