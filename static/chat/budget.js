// The token budget meter under the composer: what is left of each limited period, a warning
// from 80 % on, and when it resets. Hidden for a user without a budget.

import { api } from "./api.js";
import { el } from "./render.js";

const n = (value) => value.toLocaleString();

function resetText(iso) {
  const when = new Date(iso);
  return when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export class BudgetMeter {
  constructor(root) {
    this.root = root;
  }

  async refresh() {
    let answer;
    try {
      answer = await api.getBudget();
    } catch {
      return; // the meter is a hint: a failed read leaves the last one shown
    }
    this.render(answer.periods);
  }

  render(periods) {
    this.root.hidden = periods.length === 0;
    this.root.replaceChildren(...periods.map((period) => this.entry(period)));
  }

  entry(period) {
    const share = Math.min(1, period.used / period.limit);
    const bar = el("progress", { max: "100", value: String(Math.round(share * 100)) });
    const label = `${period.period === "daily" ? "Today" : "This month"}: ${n(period.left)} of ` +
      `${n(period.limit)} tokens left`;
    const item = el("div", { class: "budget-period", title: `Resets ${resetText(period.resets_at)}` },
      el("span", { class: "budget-label" }, label), bar);
    item.dataset.warning = String(period.warning);
    if (period.warning) {
      item.append(el("span", { class: "budget-warning", role: "status" },
        `Over 80 % used; resets ${resetText(period.resets_at)}.`));
    }
    return item;
  }
}
