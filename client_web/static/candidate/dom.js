// Small DOM helpers. Text always goes in through textContent, never as markup.

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

export function el(tag, { cls, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  }
  return node;
}

export function setText(id, text) {
  byId(id).textContent = text;
}

export function setHidden(id, hidden) {
  byId(id).hidden = hidden;
}

export const SCREENS = ['login', 'confirm', 'waiting', 'exam', 'done'];

export function showScreen(name) {
  for (const screen of SCREENS) byId(`screen-${screen}`).hidden = screen !== name;
  document.body.dataset.screen = name;
}
