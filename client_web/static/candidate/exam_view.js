// The exam screen: one item with its options, navigation, and the answer sheet (答题卡).
// Drawing only; what a click means is decided by the handlers app.js passes in.

import { byId, el, setText } from './dom.js';
import { t } from './i18n.js';
import { LETTERS, optionsOf } from './paper.js';

export const TEXT_SIZES = 5;

// Item images are embedded data: URIs ({src, alt}); a path the bank could not resolve
// is not fetched, its text alternative is shown instead.
function imageNode(image) {
  if (!image) return null;
  const src = typeof image === 'string' ? image : image.src;
  const alt = typeof image === 'string' ? '' : image.alt || '';
  if (typeof src === 'string' && src.startsWith('data:image/')) {
    return el('img', { cls: 'item-image', attrs: { src, alt } });
  }
  return alt ? el('span', { cls: 'image-missing', text: `[${alt}]` }) : null;
}

export class ExamView {
  // handlers: choose(optionIndex), move(delta), jump(index), flag(), size(delta), submit()
  constructor(handlers) {
    this.handlers = handlers;
    this.card = byId('item-card');
    this.options = byId('item-options');
    this.grid = byId('sheet-grid');
    this.cells = [];
    this.paperId = null;
    byId('btn-prev').addEventListener('click', () => handlers.move(-1));
    byId('btn-next').addEventListener('click', () => handlers.move(1));
    byId('btn-flag').addEventListener('click', () => handlers.flag());
    byId('btn-smaller').addEventListener('click', () => handlers.size(-1));
    byId('btn-larger').addEventListener('click', () => handlers.size(1));
    byId('btn-submit').addEventListener('click', () => handlers.submit());
    this.options.addEventListener('click', (event) => {
      const button = event.target.closest('button.option');
      if (button) handlers.choose(Number(button.dataset.index));
    });
    this.grid.addEventListener('click', (event) => {
      const cell = event.target.closest('button.cell');
      if (cell) handlers.jump(Number(cell.dataset.index));
    });
  }

  // Build the answer sheet for a paper (once per paper, and again on a language switch).
  buildSheet(paper) {
    this.paperId = paper.id;
    this.grid.replaceChildren();
    this.cells = [];
    for (const section of paper.sections) {
      const label = t('exam.section', { type: t(`type.${section.type}`), count: section.count });
      this.grid.append(el('h3', { cls: 'sheet-section', text: label }));
      const cells = el('div', { cls: 'sheet-cells' });
      for (let index = section.start; index < section.start + section.count; index += 1) {
        const cell = el('button', {
          cls: 'cell',
          text: String(index + 1),
          // Out of the tab order: the keyboard moves between items with the arrow keys,
          // and Tab reaches the options, navigation and 交卷 without 100 stops.
          attrs: { type: 'button', 'data-index': index, tabindex: -1 },
        });
        this.cells.push(cell);
        cells.append(cell);
      }
      this.grid.append(cells);
    }
  }

  updateSheet(paper, current, responseOf, flaggedOf, tally) {
    paper.items.forEach((item, index) => {
      const cell = this.cells[index];
      const answered = responseOf(item.item_id).length > 0;
      const flagged = flaggedOf(item.item_id);
      cell.classList.toggle('answered', answered);
      cell.classList.toggle('flagged', flagged);
      cell.classList.toggle('current', index === current);
      if (index === current) cell.setAttribute('aria-current', 'true');
      else cell.removeAttribute('aria-current');
      const label =
        t(answered ? 'exam.cell_answered' : 'exam.cell_unanswered', { n: item.number }) +
        (flagged ? t('exam.cell_flagged') : '');
      cell.setAttribute('aria-label', label);
    });
    setText('sheet-count', t('exam.sheet_count', { answered: tally.answered, total: tally.total }));
  }

  renderItem(item, total, response, flagged, blocked) {
    this.card.dataset.itemId = item.item_id;
    this.card.dataset.number = String(item.number);
    setText('item-number', t('exam.item_number', { n: item.number, total }));
    const typeLabel = byId('item-type');
    typeLabel.textContent = t(`type.${item.type}`);
    typeLabel.dataset.type = item.type;
    setText('item-hint', t(`hint.${item.type}`));
    byId('item-flag-badge').hidden = !flagged;
    const stem = byId('item-stem');
    stem.replaceChildren(document.createTextNode(item.stem));
    for (const image of item.images || []) {
      const node = imageNode(image);
      if (node) stem.append(node);
    }
    const chosen = new Set(response);
    const role = item.type === 'multiple' ? 'checkbox' : 'radio';
    const focusedIndex = this.focusedOption();
    const buttons = optionsOf(item, t).map((option, index) => {
      const selected = chosen.has(option.id);
      const button = el('button', {
        cls: selected ? 'option selected' : 'option',
        attrs: {
          type: 'button',
          role,
          'aria-checked': selected ? 'true' : 'false',
          'data-index': index,
          'data-option-id': option.id,
        },
      });
      button.disabled = blocked;
      button.append(el('span', { cls: 'letter', text: LETTERS[index] || '·' }));
      const body = el('span', { cls: 'option-text', text: option.text });
      const image = imageNode(option.image);
      if (image) body.append(image);
      button.append(body);
      return button;
    });
    this.options.replaceChildren(...buttons);
    if (focusedIndex !== null && buttons[focusedIndex]) buttons[focusedIndex].focus();
    const flagButton = byId('btn-flag');
    flagButton.textContent = t(flagged ? 'exam.unflag' : 'exam.flag');
    flagButton.classList.toggle('on', flagged);
    flagButton.disabled = blocked;
    byId('btn-prev').disabled = item.number === 1;
    byId('btn-next').disabled = item.number === total;
    byId('btn-submit').disabled = blocked;
  }

  focusedOption() {
    const active = document.activeElement;
    if (active && active.classList.contains('option') && this.options.contains(active)) {
      return Number(active.dataset.index);
    }
    return null;
  }

  // Move keyboard focus between the options of the item on screen.
  focusOption(delta) {
    const buttons = [...this.options.querySelectorAll('button.option')];
    if (buttons.length === 0) return;
    const current = this.focusedOption();
    const next = current === null ? (delta > 0 ? 0 : buttons.length - 1) : current + delta;
    buttons[Math.max(0, Math.min(buttons.length - 1, next))].focus();
  }

  setTextSize(level) {
    for (let size = 0; size < TEXT_SIZES; size += 1) {
      this.card.classList.toggle(`size-${size}`, size === level);
    }
    byId('btn-smaller').disabled = level <= 0;
    byId('btn-larger').disabled = level >= TEXT_SIZES - 1;
  }

  scrollToTop() {
    this.card.scrollTop = 0;
  }
}
