// Identity on the seat card: the candidate's photo (staff of the session only; the
// server checks), the 已核验 mark, and the photo in the identity-check dialog.

export function photoUrl(code, seat) {
  return `/console/sessions/${encodeURIComponent(code)}/photos/${seat.candidate_id}.jpg`;
}

/** Whether a proctor can still mark this candidate 已核验. */
export function canVerify(seat) {
  return !seat.identity_checked && seat.state !== "absent";
}

export function renderIdentity(card, seat, { code, showPhotos, canRun }) {
  const img = card.querySelector(".photo");
  const wanted = showPhotos && seat.photo ? photoUrl(code, seat) : "";
  if (img.dataset.src !== wanted) {
    img.dataset.src = wanted;
    if (wanted) img.src = wanted;
    else img.removeAttribute("src");
  }
  img.hidden = !wanted;
  card.querySelector(".verified").hidden = !seat.identity_checked;
  card.classList.toggle("identity-checked", Boolean(seat.identity_checked));
  const who = card.querySelector(".seat-who");
  if (canRun && canVerify(seat)) {
    who.dataset.action = "verify_identity";
    who.title = "核验身份 Check identity";
  } else {
    delete who.dataset.action;
    who.title = seat.identity_checked ? "已核验 Identity checked" : "";
  }
}

/** The dialog's photo: shown for the identity check when there is one. */
export function dialogPhoto(action, seat, { code, showPhotos }) {
  const img = document.getElementById("dialog-photo");
  const show = action === "verify_identity" && seat && seat.photo && showPhotos;
  img.hidden = !show;
  if (show) img.src = photoUrl(code, seat);
  else img.removeAttribute("src");
}
