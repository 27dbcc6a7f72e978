// The room's lab PCs on the console, from before anyone logs in: online or not, which
// seat, which readiness checks failed, the last heartbeat (GET /api/staff/sessions/
// {code}/pcs, every few seconds); the spare PCs offered when unlocking a candidate; and
// a seat card's focus-loss figures. Text goes in through textContent only.

const REFRESH_MS = 5000;
const bySeat = new Map(); // seat number -> the PC mapped to it, from the last refresh

/** A seat card's line about its PC: which one, online or not, what failed. */
export function pcLine(pc) {
  if (!pc) return "";
  let text = `${pc.hostname} ${pc.online ? "在线" : "离线"}`;
  if (pc.measured && pc.failing.length) text += ` · ${pc.failing.join(", ")} 未通过`;
  return text;
}

export function renderPc(card, seatNo) {
  const el = card.querySelector(".pc");
  if (!el) return;
  const pc = bySeat.get(seatNo);
  el.hidden = !pc;
  el.textContent = pcLine(pc);
  card.dataset.pcOnline = pc ? String(pc.online) : "";
  card.classList.toggle("pc-problem", Boolean(pc && (!pc.online || (pc.measured && pc.failing.length))));
}

/** The line a seat card shows about its exam window, or "" when nothing happened. */
export function focusLine(seat) {
  const parts = [];
  if (seat.focus_lost) parts.push(`切屏 ${seat.focus_lost} 次`);
  if (seat.fullscreen_exits) parts.push(`退出全屏 ${seat.fullscreen_exits} 次`);
  return parts.join(" · ");
}

export function renderFocus(card, seat) {
  const el = card.querySelector(".focus");
  if (!el) return;
  const line = focusLine(seat);
  el.hidden = !line;
  el.textContent = line ? `⚠ ${line}` : "";
  card.dataset.focusLost = String(seat.focus_lost || 0);
  card.dataset.fullscreenExits = String(seat.fullscreen_exits || 0);
}

/** "3 分钟前"-style age of a heartbeat. */
export function age(iso, nowMs) {
  if (!iso) return "从未 never";
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} 秒前`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} 分钟前`;
  return `${Math.floor(seconds / 3600)} 小时前`;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function renderPcs(view) {
  const body = document.getElementById("pcs-body");
  if (!body) return;
  const now = Date.now();
  const rows = view.pcs.map((pc) => {
    const tr = document.createElement("tr");
    tr.dataset.pc = pc.hostname;
    tr.dataset.online = String(pc.online);
    tr.dataset.seat = pc.seat === null ? "" : String(pc.seat);
    const failing = !pc.measured ? "未检查 not checked" : pc.failing.join(", ") || "通过 passed";
    tr.append(
      cell(pc.seat !== null ? `${pc.seat} 号` : pc.spare ? "备用 spare" : "—"),
      cell(pc.hostname),
      cell(pc.address || "—"),
      cell(pc.online ? "在线 online" : "离线 offline"),
      cell(failing),
      cell(age(pc.last_heartbeat, now)),
    );
    if (!pc.online || (pc.measured && pc.failing.length)) tr.classList.add("pc-problem");
    return tr;
  });
  body.replaceChildren(...rows);
  bySeat.clear();
  for (const pc of view.pcs) if (pc.seat !== null) bySeat.set(pc.seat, pc);
  for (const card of document.querySelectorAll("#seats .seat[data-seat]")) {
    renderPc(card, Number(card.dataset.seat));
  }
  const summary = document.getElementById("pcs-summary");
  const online = view.pcs.filter((pc) => pc.online).length;
  let text = `${view.pcs.length} 台机位，${online} 台在线`;
  if (view.unmapped_seats.length) text += `；无机位的座位：${view.unmapped_seats.join(", ")}`;
  summary.textContent = text;
  document.getElementById("pcs").hidden = false;
  const select = document.getElementById("dialog-pc");
  if (select) {
    const keep = select.value;
    const options = [new Option("本考场任意机位 Any PC of the room", "")];
    for (const pc of view.pcs) {
      const label = pc.spare ? `${pc.hostname}（备用 spare）` : `${pc.hostname}（${pc.seat} 号）`;
      options.push(new Option(label, pc.hostname));
    }
    select.replaceChildren(...options);
    select.value = keep;
  }
}

export function watchPcs(code) {
  const url = `/api/staff/sessions/${encodeURIComponent(code)}/pcs`;
  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) renderPcs(await response.json());
    } catch {
      // the next refresh tries again; the seat grid has its own link state
    }
  }
  refresh();
  window.setInterval(refresh, REFRESH_MS);
}
