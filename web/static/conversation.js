// Conversations in the page: Edit puts a message back in the chat box, and a refused conversation
// request (a retry while the reply still streams, a conflict) says why in a toast.

function editing(msgId, text) {
  const form = document.getElementById("chat-form");
  if (!form) return;
  form.querySelector("#edit-of").value = msgId;
  const box = form.querySelector("#msg");
  box.value = text;
  document.getElementById("editing").hidden = !msgId;
  box.focus();
}

document.addEventListener("click", (e) => {
  const edit = e.target.closest("button.edit[data-edit]");
  if (edit) {
    const bubble = document.querySelector(`#msg-${CSS.escape(edit.dataset.edit)} .text`);
    editing(edit.dataset.edit, bubble ? bubble.textContent : "");
  }
  if (e.target.id === "cancel-edit") editing("", "");
});

document.addEventListener("htmx:afterRequest", (e) => {
  if (e.detail.elt.id === "chat-form" && e.detail.successful) {
    document.getElementById("edit-of").value = "";
    document.getElementById("editing").hidden = true;
  }
});

document.addEventListener("htmx:responseError", (e) => {
  const path = (e.detail.requestConfig && e.detail.requestConfig.path) || "";
  if (!path.startsWith("/conversations")) return;
  const xhr = e.detail.xhr;
  let text = xhr.responseText || "That didn't work.";
  try { text = JSON.parse(text).error || text; } catch (_) { /* plain text */ }
  const toasts = document.getElementById("toasts");
  const toast = document.createElement("div");
  toast.className = "toast";
  toast.setAttribute("role", "alert");
  toast.textContent = text;
  toasts.appendChild(toast);
  setTimeout(() => toast.remove(), 8000);
});

// Retry answers into #toasts (its target): a refusal is a toast made above, never its JSON swapped in.
document.addEventListener("htmx:beforeSwap", (e) => {
  const path = (e.detail.requestConfig && e.detail.requestConfig.path) || "";
  if (path.startsWith("/conversations") && e.detail.xhr.status >= 400) e.detail.shouldSwap = false;
});
