// The console's two views: the seats, and the score chart on its own tab (enabled once
// a result is in), so the chart never pushes the seats off the screen.

const PANELS = { seats: "seats", chart: "chart" };
let active = "seats";

export function activeTab() {
  return active;
}

export function selectTab(name) {
  active = name;
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const [tab, id] of Object.entries(PANELS)) {
    document.getElementById(id).hidden = tab !== name;
  }
}

export function enableTab(name, enabled) {
  const button = document.querySelector(`[data-tab="${name}"]`);
  if (button) button.disabled = !enabled;
  if (!enabled && active === name) selectTab("seats");
}

export function setupTabs(onSelect) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => {
      selectTab(button.dataset.tab);
      onSelect(button.dataset.tab);
    });
  }
  selectTab("seats");
}
