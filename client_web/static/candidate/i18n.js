// Strings per language, loaded as JSON from the server (client_web/i18n/*.json).
// The page is rendered in zh-CN; elements carrying data-i18n keys are re-filled on a
// language switch, everything else is drawn by the scripts through t().

import { local, KEYS } from './storage.js';

export const LANGUAGES = ['zh-CN', 'en'];
const ATTRIBUTE_FOR = { 'zh-CN': 'stringsZh', en: 'stringsEn' };

let strings = {};
let language = 'zh-CN';

export function currentLanguage() {
  return language;
}

export function preferredLanguage() {
  const saved = local.get(KEYS.lang);
  return LANGUAGES.includes(saved) ? saved : 'zh-CN';
}

async function fetchStrings(code) {
  const url = document.body.dataset[ATTRIBUTE_FOR[code]];
  let delay = 500;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch(url, { credentials: 'same-origin' });
      if (response.ok) return await response.json();
      throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}

export async function setLanguage(code) {
  const wanted = LANGUAGES.includes(code) ? code : 'zh-CN';
  strings = await fetchStrings(wanted);
  language = wanted;
  local.set(KEYS.lang, wanted);
  document.documentElement.lang = wanted;
  applyTranslations(document);
}

export function hasString(key) {
  return typeof strings[key] === 'string';
}

export function t(key, vars) {
  let text = strings[key];
  if (typeof text !== 'string') {
    console.warn(`missing string ${key}`);
    return key;
  }
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole,
    );
  }
  return text;
}

export function applyTranslations(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
}
