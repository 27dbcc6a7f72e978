// Picking several seats (the tick box on each card) for a bulk action: the bar's count
// and buttons, the cards' marks, and the banner's report of what was done and refused.
import { showMessage } from "./banner.js";
import { BULK, seatList, split } from "./bulk.js";

export class Selection {
  /** `state` is the console's (its `seats`, `cards` and the `selected` id set), `open`
   *  opens the action dialog for the seats an action applies to. */
  constructor({ state, grid, canRun, open }) {
    this.state = state;
    this.open = open;
    this.box = document.getElementById("bulk");
    grid.addEventListener("change", (event) => {
      const pick = event.target.closest(".select");
      if (!pick) return;
      const id = Number(pick.closest(".seat").dataset.candidateId);
      if (pick.checked) state.selected.add(id);
      else state.selected.delete(id);
      this.render();
    });
    if (this.box && canRun) this.box.addEventListener("click", (event) => this.onBar(event));
  }

  seats() {
    return [...this.state.selected].map((id) => this.state.seats.get(id)).filter(Boolean);
  }

  render() {
    const { selected, seats, cards } = this.state;
    for (const id of [...selected]) if (!seats.has(id)) selected.delete(id);
    if (!this.box) return;
    const picked = this.seats();
    document.getElementById("bulk-count").textContent = String(picked.length);
    for (const button of this.box.querySelectorAll("[data-bulk]")) {
      const action = button.dataset.bulk;
      button.disabled =
        action === "clear" ? picked.length === 0 : split(action, picked).apply.length === 0;
    }
    for (const [id, card] of cards) {
      card.classList.toggle("selected", selected.has(id));
      const pick = card.querySelector(".select");
      if (pick) pick.checked = selected.has(id);
    }
  }

  onBar(event) {
    const button = event.target.closest("button[data-bulk]");
    if (!button) return;
    const action = button.dataset.bulk;
    if (action === "clear") {
      this.state.selected.clear();
      this.render();
      return;
    }
    const { apply, skip } = split(action, this.seats());
    if (skip.length) showMessage(`${BULK[action].label}：跳过 ${seatList(skip)}（当前状态不适用）`);
    if (apply.length) this.open(action, apply);
  }

  /** After a bulk action: the seats done leave the selection; the banner says it all. */
  report(spec, { done, failed }) {
    for (const seat of done) this.state.selected.delete(seat.candidate_id);
    this.render();
    const list = done.length ? `：${seatList(done)}` : "";
    let text = `已执行：${spec.title}（${done.length} 个座位${list}）`;
    if (failed.length) {
      const refused = failed.map(({ seat, error }) => `${seat.seat} 号 ${error.code || "error"}`);
      text += `；未执行 ${refused.join("，")}`;
    }
    showMessage(text, failed.length > 0);
  }
}
