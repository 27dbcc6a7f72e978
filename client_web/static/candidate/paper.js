// The paper as the page uses it: items in paper order with their numbers, and the
// pure rules for choosing options and counting answered / unanswered / flagged items.

export const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

export function flattenPaper(paper) {
  const items = [];
  const sections = [];
  for (const section of paper.sections) {
    const start = items.length;
    for (const item of section.items) {
      items.push({ ...item, number: items.length + 1, section: sections.length });
    }
    sections.push({ type: section.type, title: section.title, start, count: items.length - start });
  }
  const indexOf = new Map(items.map((item, index) => [item.item_id, index]));
  return { id: paper.paper_id, items, sections, indexOf };
}

// True/false items may come without options: their choices are "true" and "false".
export function optionsOf(item, t) {
  if (item.type === 'true_false' && item.options.length === 0) {
    return [
      { id: 'true', text: t('tf.true'), image: null },
      { id: 'false', text: t('tf.false'), image: null },
    ];
  }
  return item.options;
}

// The response after choosing `optionId`: multiple choice toggles it, the others take it.
export function nextResponse(item, current, optionId) {
  if (item.type === 'multiple') {
    const chosen = new Set(current);
    if (chosen.has(optionId)) chosen.delete(optionId);
    else chosen.add(optionId);
    return [...chosen].sort();
  }
  return [optionId];
}

export function sameResponse(a, b) {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort();
  const sortedB = [...b].sort();
  return sortedA.every((value, index) => value === sortedB[index]);
}

export function tally(items, responseOf, flaggedOf) {
  const unanswered = [];
  const flagged = [];
  for (const item of items) {
    if (responseOf(item.item_id).length === 0) unanswered.push(item.number);
    if (flaggedOf(item.item_id)) flagged.push(item.number);
  }
  return { total: items.length, answered: items.length - unanswered.length, unanswered, flagged };
}
