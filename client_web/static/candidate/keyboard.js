// What a key press means on the exam screen (pure: event in, action out).

export function keyAction(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  const { key } = event;
  if (/^[a-fA-F]$/.test(key)) return { type: 'choose', index: key.toUpperCase().charCodeAt(0) - 65 };
  if (/^[1-6]$/.test(key)) return { type: 'choose', index: Number(key) - 1 };
  switch (key) {
    case 'ArrowLeft':
    case 'PageUp':
      return { type: 'move', delta: -1 };
    case 'ArrowRight':
    case 'PageDown':
      return { type: 'move', delta: 1 };
    case 'Home':
      return { type: 'jump', to: 'first' };
    case 'End':
      return { type: 'jump', to: 'last' };
    case 'ArrowUp':
      return { type: 'focus-option', delta: -1 };
    case 'ArrowDown':
      return { type: 'focus-option', delta: 1 };
    case 'm':
    case 'M':
      return { type: 'flag' };
    case '+':
    case '=':
      return { type: 'size', delta: 1 };
    case '-':
    case '_':
      return { type: 'size', delta: -1 };
    default:
      return null;
  }
}

export function isTyping(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}
