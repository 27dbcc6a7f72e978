// The candidate's own photo on the confirm screen, for comparing face and record. It is
// fetched with this login's resume token (GET /candidate/photo: nobody else's login can
// get it) and shown as a data: URL (the page's CSP allows data: images, not blob:).
// No photo stored, or any failure: the screen simply shows none.

import { byId } from './dom.js';

let shownFor = null;

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

export function clearPhoto() {
  shownFor = null;
  const img = byId('id-photo');
  img.hidden = true;
  img.removeAttribute('src');
}

export async function showPhoto(ticket, token) {
  const key = `${ticket} ${token}`;
  if (shownFor === key) return;
  clearPhoto();
  if (typeof token !== 'string' || !token) return;
  shownFor = key;
  try {
    const response = await fetch('/candidate/photo', {
      headers: { 'X-CBT-Ticket': ticket, 'X-CBT-Resume-Token': token },
      cache: 'no-store',
    });
    if (response.status !== 200) return; // 204: no photo stored
    const url = await dataUrl(await response.blob());
    if (shownFor !== key) return; // another login meanwhile
    const img = byId('id-photo');
    img.src = url;
    img.hidden = false;
  } catch {
    // Offline at that moment: no photo this time (no retry loop of failing requests;
    // the next login tries again).
  }
}
