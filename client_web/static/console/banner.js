// The action banner: what the last action did, clearing itself after a few seconds
// (errors stay longer), so an old message is never taken for news. It floats over the
// page and moves nothing.

const SHOW_MS = 5000;
const SHOW_ERROR_MS = 12000;
let timer = null;

export function showMessage(text, isError = false) {
  const box = document.getElementById("message");
  window.clearTimeout(timer);
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = !text;
  if (text) timer = window.setTimeout(() => showMessage(""), isError ? SHOW_ERROR_MS : SHOW_MS);
}
