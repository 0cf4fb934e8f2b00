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

// The span tree is a virtual list: only the rows in view (plus a margin) are in the DOM, so a
// 10,000-span trace paints as fast as a 10-span one. Rows have one fixed height.
const ROW_HEIGHT = 22;
const OVERSCAN = 20;

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
    let end = 1;
    for (const s of this.spans) end = Math.max(end, s.start + (s.duration || 0));
    this.total = end;
    this.collapsed = new Set();
    this.selected = null;
    this.rows = [];
    this.frame = null;
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
    this.rows = this.visible();
    this.viewport = el("div", "span-tree");
    this.viewport.setAttribute("role", "tree");
    this.canvas = el("div", "span-canvas");
    this.canvas.style.height = (this.rows.length * ROW_HEIGHT) + "px";
    this.viewport.appendChild(this.canvas);
    this.viewport.addEventListener("scroll", () => this.schedule());
    this.canvas.addEventListener("click", (event) => this.clicked(event));
    this.container.replaceChildren(
      el("p", "small span-count", this.spans.length + " spans · " + formatMicros(this.total)),
      this.viewport);
    this.container.setAttribute("aria-busy", "false");
    this.paint();
  }

  schedule() {
    if (this.frame === null) this.frame = requestAnimationFrame(() => { this.frame = null; this.paint(); });
  }

  paint() {
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, first + Math.ceil(height / ROW_HEIGHT) + 2 * OVERSCAN);
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.appendChild(this.row(this.rows[i], i));
    this.canvas.replaceChildren(fragment);
  }

  row(span, index) {
    const row = el("div", "span-row" + (span.id === this.selected ? " selected" : ""));
    row.setAttribute("role", "treeitem");
    row.dataset.spanId = span.id;
    row.style.top = (index * ROW_HEIGHT) + "px";
    const label = el("div", "span-label");
    label.style.paddingLeft = (span.depth * 14) + "px";
    const toggle = el("button", "toggle", span.children.length ? (this.collapsed.has(span.id) ? "▸" : "▾") : "·");
    toggle.type = "button";
    toggle.disabled = !span.children.length;
    toggle.setAttribute("aria-label", "expand or collapse");
    label.append(toggle, el("span", "span-name", span.name), el("span", "badge", span.type));
    if (span.status === "ERROR") label.append(el("span", "state state-error", "ERROR"));
    const lane = el("div", "lane");
    const bar = el("div", "bar" + (span.status === "ERROR" ? " bar-error" : ""));
    bar.style.left = (100 * span.start / this.total) + "%";
    bar.style.width = Math.max(0.2, 100 * (span.duration || 0) / this.total) + "%";
    lane.append(bar);
    row.append(label, lane, el("span", "span-duration", formatMicros(span.duration)));
    return row;
  }

  clicked(event) {
    const row = event.target.closest(".span-row");
    if (!row) return;
    if (event.target.closest("button.toggle")) this.toggle(row.dataset.spanId);
    else this.select(row.dataset.spanId);
  }

  toggle(spanId) {
    if (this.collapsed.has(spanId)) this.collapsed.delete(spanId); else this.collapsed.add(spanId);
    this.rows = this.visible();
    this.canvas.style.height = (this.rows.length * ROW_HEIGHT) + "px";
    this.paint();
  }

  async select(spanId) {
    this.selected = spanId;
    for (const node of this.canvas.querySelectorAll(".span-row.selected")) node.classList.remove("selected");
    const row = this.canvas.querySelector('.span-row[data-span-id="' + CSS.escape(spanId) + '"]');
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

// The review form: 1-9 pick an option of the first multiple-choice question, Enter submits
// (outside a text box), S skips.
function submitAs(form, action) {
  form.querySelector("input[name=action]").value = action;
  form.requestSubmit();
}

function reviewShortcuts(form) {
  document.getElementById("skip-item").addEventListener("click", () => submitAs(form, "skip"));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (event.key === "Enter" && !target.matches("textarea")) {
      event.preventDefault();
      submitAs(form, "submit");
      return;
    }
    if (target.matches("textarea, select, input[type=number], input[type=text], input:not([type])")) return;
    if (/^[1-9]$/.test(event.key)) {
      const group = form.querySelector('fieldset[data-kind="categorical"]');
      const option = group && group.querySelectorAll("input[type=radio]")[Number(event.key) - 1];
      if (option) { option.checked = true; option.focus(); event.preventDefault(); }
    } else if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      submitAs(form, "skip");
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const review = document.getElementById("review-form");
  if (review) reviewShortcuts(review);
  const outline = document.getElementById("outline");
  if (outline) loadOutline(outline);
  const traces = document.getElementById("traces");
  if (traces) pollNewTraces(traces);
});
