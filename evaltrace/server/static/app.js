// evaltrace pages: the span tree with its waterfall, and new traces appearing in the list.
// Trace content is untrusted: it is only ever set with textContent (never innerHTML); the
// span panel is HTML the server rendered and escaped.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatMicros(us) {
  if (us === null) return "…";
  if (us < 1000) return us + " µs";
  if (us < 1e6) return (us / 1000).toFixed(us < 10000 ? 1 : 0) + " ms";
  return (us / 1e6).toFixed(2) + " s";
}

class SpanOutline {
  constructor(container, data) {
    this.container = container;
    this.traceId = container.dataset.traceId;
    this.spans = data.spans.map((row) => ({
      id: row[0], parent: row[1], name: row[2], type: row[3], status: row[4],
      start: row[5], duration: row[6], children: [], depth: 0,
    }));
    const byId = new Map(this.spans.map((s) => [s.id, s]));
    this.roots = [];
    for (const span of this.spans) {
      const parent = span.parent && byId.get(span.parent);
      if (parent) parent.children.push(span); else this.roots.push(span);
    }
    this.total = Math.max(1, ...this.spans.map((s) => s.start + (s.duration || 0)));
    this.collapsed = new Set();
    this.selected = null;
  }

  visible() {
    const out = [];
    const stack = this.roots.slice().reverse().map((s) => [s, 0]);
    while (stack.length) {
      const [span, depth] = stack.pop();
      span.depth = depth;
      out.push(span);
      if (!this.collapsed.has(span.id)) {
        for (let i = span.children.length - 1; i >= 0; i--) stack.push([span.children[i], depth + 1]);
      }
    }
    return out;
  }

  render() {
    const list = el("div", "span-tree");
    list.setAttribute("role", "tree");
    const fragment = document.createDocumentFragment();
    for (const span of this.visible()) fragment.appendChild(this.row(span));
    list.appendChild(fragment);
    this.container.replaceChildren(
      el("p", "small", this.spans.length + " spans · " + formatMicros(this.total)), list);
    this.container.setAttribute("aria-busy", "false");
  }

  row(span) {
    const row = el("div", "span-row" + (span.id === this.selected ? " selected" : ""));
    row.setAttribute("role", "treeitem");
    row.dataset.spanId = span.id;
    const label = el("div", "span-label");
    label.style.paddingLeft = (span.depth * 14) + "px";
    const toggle = el("button", "toggle", span.children.length ? (this.collapsed.has(span.id) ? "▸" : "▾") : "·");
    toggle.type = "button";
    toggle.disabled = !span.children.length;
    toggle.setAttribute("aria-label", "expand or collapse");
    toggle.addEventListener("click", (event) => { event.stopPropagation(); this.toggle(span.id); });
    label.append(toggle, el("span", "span-name", span.name), el("span", "badge", span.type));
    if (span.status === "ERROR") label.append(el("span", "state state-error", "ERROR"));
    const lane = el("div", "lane");
    const bar = el("div", "bar" + (span.status === "ERROR" ? " bar-error" : ""));
    bar.style.left = (100 * span.start / this.total) + "%";
    bar.style.width = Math.max(0.2, 100 * (span.duration || 0) / this.total) + "%";
    lane.append(bar);
    row.append(label, lane, el("span", "span-duration", formatMicros(span.duration)));
    row.addEventListener("click", () => this.select(span.id));
    return row;
  }

  toggle(spanId) {
    if (this.collapsed.has(spanId)) this.collapsed.delete(spanId); else this.collapsed.add(spanId);
    this.render();
  }

  async select(spanId) {
    this.selected = spanId;
    for (const node of this.container.querySelectorAll(".span-row.selected")) node.classList.remove("selected");
    const row = this.container.querySelector('.span-row[data-span-id="' + CSS.escape(spanId) + '"]');
    if (row) row.classList.add("selected");
    const panel = document.getElementById("span-panel");
    panel.setAttribute("aria-busy", "true");
    const response = await fetch("/traces/" + encodeURIComponent(this.traceId) + "/spans/" + encodeURIComponent(spanId));
    panel.innerHTML = await response.text();  // server-rendered, escaped
    panel.setAttribute("aria-busy", "false");
  }
}

async function loadOutline(container) {
  const response = await fetch("/api/traces/" + encodeURIComponent(container.dataset.traceId) + "/outline");
  if (!response.ok) {
    container.replaceChildren(el("p", "error", "Could not load the spans (" + response.status + ")."));
    return;
  }
  const outline = new SpanOutline(container, await response.json());
  outline.render();
  if (outline.roots.length) outline.select(outline.roots[0].id);
}

// New traces matching the current search appear at the top of the list, every 5 seconds.
function pollNewTraces(table) {
  const body = table.querySelector("tbody");
  const newest = () => Math.max(0, ...[...body.querySelectorAll("tr.trace-row")].map((r) => Number(r.dataset.time)));
  setInterval(async () => {
    if (document.hidden || table.dataset.orderBy) return;  // only the newest-first view grows
    const params = new URLSearchParams({ filter: table.dataset.filter, newer_than_ms: String(newest()) });
    const response = await fetch(table.dataset.rowsUrl + "?" + params);
    if (!response.ok) return;
    const holder = document.createElement("tbody");
    holder.innerHTML = await response.text();  // server-rendered, escaped
    const known = new Set([...body.querySelectorAll("tr.trace-row")].map((r) => r.dataset.traceId));
    const fresh = [...holder.querySelectorAll("tr.trace-row")].filter((r) => !known.has(r.dataset.traceId));
    for (const row of fresh.reverse()) { row.classList.add("fresh"); body.prepend(row); }
    if (fresh.length) for (const empty of body.querySelectorAll("tr.empty")) empty.remove();
  }, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  const outline = document.getElementById("outline");
  if (outline) loadOutline(outline);
  const traces = document.getElementById("traces");
  if (traces) pollNewTraces(traces);
});
