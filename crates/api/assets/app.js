// tack dashboard: a small page over /api/v1 of the same origin. Everything shown is built with textContent
// (never HTML from data); actions carry the X-Tack-Request header the server requires.
"use strict";

const TOKEN_KEY = "tack-token";
const PAGE_ROWS = 200;
const main = () => document.getElementById("main");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
// Replaces the page's content; nested arrays are flattened and null parts skipped.
function show(...parts) {
  main().replaceChildren(...parts.flat(Infinity).filter((p) => p !== null && p !== undefined));
}
const badge = (text) => el("span", { class: "badge " + text, text });

function toast(message, error) {
  const t = el("div", { class: error ? "error" : "", text: message });
  document.getElementById("toast").append(t);
  setTimeout(() => t.remove(), error ? 9000 : 4000);
}

function headers(extra) {
  const h = Object.assign({ Accept: "application/json" }, extra || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, method, body) {
  const opts = { method: method || "GET", headers: headers() };
  if (method && method !== "GET") {
    opts.headers["X-Tack-Request"] = "1";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.message || r.statusText);
  return data;
}

async function act(path, body, label) {
  try {
    const r = await api(path, "POST", body);
    toast(r.message || label + " done");
    setTimeout(route, 400);
  } catch (e) {
    toast(e.message, true);
  }
}

function tokenForm(message) {
  const area = el("textarea", { id: "token", placeholder: "eyJhbGciOi…", "aria-label": "bearer token" });
  const form = el("form", { class: "token", onsubmit: (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, area.value.trim());
    whoami().then(route);
  } },
    el("h1", { text: "Sign in with a Kubernetes token" }),
    el("p", { class: "muted", text: message || "" }),
    el("p", { text: "Paste a bearer token the API server accepts, e.g. from `kubectl create token SERVICEACCOUNT -n NAMESPACE`. It stays in this tab only." }),
    area,
    el("div", {}, el("button", { type: "submit", id: "token-submit", text: "Use this token" })));
  show(form);
  area.focus();
}

function failure(e) {
  if (e.status === 401) return tokenForm(e.message);
  show(el("h1", { text: "Cannot show this page" }), el("p", { class: "Failed", id: "error", text: e.message }));
}

// ---- applications ------------------------------------------------------------------------------------------

const listState = { name: "", namespace: "", sync: "", health: "", label: "", shown: PAGE_ROWS };

async function fetchAll(base, query) {
  let items = [], token = null, total = 0;
  do {
    const q = new URLSearchParams(query);
    q.set("limit", "5000");
    if (token) q.set("continue", token);
    const page = await api(base + "?" + q.toString());
    items = items.concat(page.items);
    total = page.total;
    token = page.continue;
  } while (token);
  return { items, total };
}

function select(id, value, options, onchange) {
  const s = el("select", { id, "aria-label": id, onchange: (ev) => onchange(ev.target.value) },
    options.map((o) => el("option", { value: o, text: o || id.replace("filter-", "any ") })));
  s.value = value;
  return s;
}

async function applicationsPage(render) {
  const query = {};
  for (const k of ["name", "namespace", "sync", "health", "label"]) if (listState[k]) query[k] = listState[k];
  const { items, total } = await fetchAll("/api/v1/applications", query);
  const rerender = () => { listState.shown = PAGE_ROWS; route(); };
  const filters = el("div", { class: "filters" },
    el("input", { id: "filter-name", placeholder: "name", value: listState.name,
      onchange: (ev) => { listState.name = ev.target.value; rerender(); } }),
    el("input", { id: "filter-namespace", placeholder: "namespace", value: listState.namespace,
      onchange: (ev) => { listState.namespace = ev.target.value; rerender(); } }),
    select("filter-sync", listState.sync, ["", "Synced", "OutOfSync", "Unknown"], (v) => { listState.sync = v; rerender(); }),
    select("filter-health", listState.health, ["", "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"],
      (v) => { listState.health = v; rerender(); }),
    el("input", { id: "filter-label", placeholder: "label k=v", value: listState.label,
      onchange: (ev) => { listState.label = ev.target.value; rerender(); } }));
  const rows = items.slice(0, listState.shown).map((a) => el("tr", {
    class: "link", tabindex: "0", "data-app": a.namespace + "/" + a.name,
    onclick: () => { location.hash = "#/app/" + a.namespace + "/" + a.name; },
    onkeydown: (ev) => { if (ev.key === "Enter") location.hash = "#/app/" + a.namespace + "/" + a.name; },
  },
    el("td", { text: a.namespace }), el("td", { text: a.name }),
    el("td", {}, badge(a.sync)), el("td", {}, badge(a.health)),
    el("td", { class: "muted", text: (a.revision || "").slice(0, 12) }),
    el("td", { class: "muted", text: a.repoUrl + (a.path ? " " + a.path : "") }),
    el("td", { class: "muted", text: a.suspended ? "suspended" : (a.message || "") })));
  const more = items.length > listState.shown
    ? el("button", { id: "more", text: `Show ${Math.min(PAGE_ROWS, items.length - listState.shown)} more`,
        onclick: () => { listState.shown += PAGE_ROWS; route(); } })
    : null;
  render(
    el("h1", { text: `Applications (${total})` }), filters,
    el("table", { id: "applications" },
      el("thead", {}, el("tr", {}, ["Namespace", "Name", "Sync", "Health", "Revision", "Source", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)),
    more);
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function nodeItem(n) {
  const label = el("span", { class: "node" }, el("span", { class: "muted", text: n.kind + " " }), n.name, " ",
    n.sync ? badge(n.sync) : null, " ", n.health ? badge(n.health) : null,
    n.state ? el("span", { class: "badge " + n.state, text: n.state }) : null);
  if (!n.children || !n.children.length) return el("li", {}, label);
  return el("li", {}, el("details", { open: n.children.length <= 10 ? "" : null }, el("summary", {}, label),
    el("ul", { class: "tree" }, n.children.map(nodeItem),
      n.more ? el("li", { class: "muted", text: `${n.more} more not drawn` }) : null)));
}

function resourcesTree(nodes) {
  const byKind = new Map();
  for (const n of nodes) {
    if (!byKind.has(n.kind)) byKind.set(n.kind, []);
    byKind.get(n.kind).push(n);
  }
  return el("div", { id: "resources" }, [...byKind.entries()].map(([kind, list]) => {
    const bad = list.filter((r) => (r.health && r.health !== "Healthy") || (r.sync && r.sync !== "Synced")).length;
    return el("details", { open: list.length <= 20 ? "" : null },
      el("summary", { text: `${kind} (${list.length}${bad ? ", " + bad + " not synced or healthy" : ""})` }),
      el("ul", { class: "tree" }, list.slice(0, 1000).map(nodeItem),
        list.length > 1000 ? el("li", { class: "muted", text: `${list.length - 1000} more not drawn` }) : null));
  }));
}

// ---- the diff view ------------------------------------------------------------------------------------------

// Unchanged runs longer than this are folded to their first and last lines, opened with one click.
const FOLD_AFTER = 8, FOLD_KEEP = 3;
// The last diff asked for per application: kept across live redraws, asked again only with "Compare again".
const diffs = new Map();

function diffLines(lines) {
  const out = [];
  const line = (l) => el("div", { class: l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : l.startsWith("@@") ? "hunk" : "same", text: l });
  let i = 0;
  while (i < lines.length) {
    if (!lines[i].startsWith(" ")) { out.push(line(lines[i])); i++; continue; }
    let j = i;
    while (j < lines.length && lines[j].startsWith(" ")) j++;
    const run = lines.slice(i, j);
    if (run.length <= FOLD_AFTER) out.push(run.map(line));
    else {
      const hidden = run.slice(FOLD_KEEP, run.length - FOLD_KEEP);
      const fold = el("button", { class: "fold quiet", text: `⋯ ${hidden.length} unchanged lines`,
        onclick: () => fold.replaceWith(...hidden.map(line)) });
      out.push(run.slice(0, FOLD_KEEP).map(line), fold, run.slice(run.length - FOLD_KEEP).map(line));
    }
    i = j;
  }
  return el("pre", { class: "diff" }, out);
}

function diffBody(d) {
  if (d.error) return el("p", { class: "Failed", text: `${d.error.reason}: ${d.error.message}` });
  if (!d.objects.length) return el("p", { text: `The cluster equals Git at ${(d.revision || "").slice(0, 12)} (${d.compared} objects compared).` });
  return [el("p", { class: "muted", text: `${d.objects.length} of ${d.compared} objects differ from Git at ${(d.revision || "").slice(0, 12)}. Secret values are masked.` }),
    d.objects.map((o) => el("details", { class: "diff-object", open: d.objects.length <= 20 ? "" : null },
      el("summary", {}, el("span", { class: "badge " + o.change, text: o.change }), " ",
        el("span", { class: "muted", text: o.kind + " " }), (o.namespace ? o.namespace + "/" : "") + o.name,
        o.origin ? el("span", { class: "muted", text: "  " + o.origin }) : null),
      o.hidden ? el("p", { class: "muted", text: o.hidden }) : diffLines(o.lines || [])))];
}

function diffSection(base) {
  const box = el("div", { id: "diff-body", "data-base": base });
  const button = el("button", { id: "compare", text: diffs.has(base) ? "Compare again" : "Compare with Git" });
  const load = async () => {
    box.replaceChildren(el("p", { class: "muted", text: "Rendering from Git and comparing…" }));
    try { diffs.set(base, await api(base + "/diff")); }
    catch (e) { diffs.set(base, { error: { reason: "Error", message: e.message }, objects: [] }); }
    // A live redraw may have replaced the section meanwhile: fill the one on the page.
    const shown = document.getElementById("diff-body");
    const target = shown && shown.dataset.base === base ? shown : box;
    target.replaceChildren(...[diffBody(diffs.get(base))].flat(Infinity));
    if (target === shown) document.getElementById("compare").textContent = "Compare again";
    button.textContent = "Compare again";
  };
  button.addEventListener("click", load);
  if (diffs.has(base)) box.replaceChildren(...[diffBody(diffs.get(base))].flat(Infinity));
  return el("div", { id: "diff" }, button, box);
}

async function applicationPage(render, ns, name) {
  const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/applications/${encodeURIComponent(name)}`;
  const [app, history, events, tree] = await Promise.all([api(base), api(base + "/history"),
    api(base + "/events").catch((e) => ({ items: [], error: e.message })),
    api(base + "/tree").catch(() => null)]);
  const nodes = tree ? tree.nodes : ((app.status && app.status.resources) || []).map((r) => ({
    kind: r.kind, namespace: r.namespace, name: r.name, sync: r.status, health: r.health && r.health.status }));
  const s = app.summary;
  const buttons = el("div", { class: "actions" },
    el("button", { id: "sync", text: "Sync", onclick: () => act(base + "/sync", {}, "sync") }),
    el("button", { id: "sync-prune", text: "Sync with prune", onclick: () => act(base + "/sync", { prune: true }, "sync") }),
    el("button", { id: "refresh", text: "Refresh", onclick: () => act(base + "/refresh", {}, "refresh") }),
    s.suspended
      ? el("button", { id: "resume", text: "Resume", onclick: () => act(base + "/resume", {}, "resume") })
      : el("button", { id: "suspend", text: "Suspend", onclick: () => act(base + "/suspend", {}, "suspend") }));
  const historyRows = history.items.map((h) => el("tr", {},
    el("td", { text: h.id }), el("td", { text: h.revision.slice(0, 12) }), el("td", { text: h.time }),
    el("td", {}, badge(h.result), h.current ? " current" : "", h.rolledBackTo ? " rolled back to" : ""),
    el("td", {}, h.result === "Succeeded" && !h.current
      ? el("button", { class: "danger", "data-rollback": h.id, text: "Roll back",
          onclick: () => act(base + "/rollback", { id: h.id }, "rollback") })
      : "")));
  const eventRows = events.items.slice(0, 50).map((e) => el("tr", {},
    el("td", { class: "muted", text: e.time }), el("td", { class: e.type === "Warning" ? "Failed" : "", text: e.reason }),
    el("td", { text: e.note || "" }), el("td", { class: "muted", text: e.count > 1 ? "×" + e.count : "" })));
  render(
    el("h1", { text: `${s.namespace}/${s.name}` }),
    facts([["Sync", badge(s.sync)], ["Health", badge(s.health)], ["Ready", s.message || s.ready],
      ["Revision", s.revision], ["Repository", s.repoUrl], ["Path", s.path], ["Follows", s.targetRevision],
      ["Destination", (s.cluster ? s.cluster + ": " : "") + (s.destination || s.namespace)],
      ["Rolled back to", s.rolledBackTo], ["Suspended", s.suspended ? "yes" : ""]]),
    buttons,
    el("h2", { text: `Resources (${nodes.length})` }),
    resourcesTree(nodes),
    tree && tree.childrenHiddenIn && tree.childrenHiddenIn.length
      ? el("p", { class: "muted", text: "Pods and ReplicaSets not shown in " + tree.childrenHiddenIn.join(", ") + " (no right to list them)" })
      : null,
    el("h2", { text: "Diff" }),
    diffSection(base),
    el("h2", { text: "History" }),
    el("table", { id: "history" }, el("tbody", {}, historyRows)),
    el("h2", { text: "Events" }),
    events.error ? el("p", { class: "muted", text: events.error }) : el("table", { id: "events" }, el("tbody", {}, eventRows)));
}

// ---- rollouts ----------------------------------------------------------------------------------------------

async function rolloutsPage(render) {
  const { items, total } = await fetchAll("/api/v1/rollouts", {});
  render(el("h1", { text: `Rollouts (${total})` }),
    el("table", { id: "rollouts" },
      el("thead", {}, el("tr", {}, ["Namespace", "Name", "Phase", "Strategy", "Step", "Weight", "Ready", "Message"].map((h) => el("th", { text: h })))),
      el("tbody", {}, items.map((r) => el("tr", {
        class: "link", tabindex: "0", "data-rollout": r.namespace + "/" + r.name,
        onclick: () => { location.hash = "#/rollout/" + r.namespace + "/" + r.name; },
        onkeydown: (ev) => { if (ev.key === "Enter") location.hash = "#/rollout/" + r.namespace + "/" + r.name; },
      },
        el("td", { text: r.namespace }), el("td", { text: r.name }), el("td", {}, badge(r.phase)),
        el("td", { text: r.strategy }),
        el("td", { text: r.steps ? `${Math.min(r.currentStepIndex ?? 0, r.steps)}/${r.steps}` : "" }),
        el("td", { text: r.canaryWeight ?? "" }), el("td", { text: `${r.readyReplicas}/${r.replicas}` }),
        el("td", { class: "muted", text: r.message || "" }))))));
}

function stepText(step) {
  const [k, v] = Object.entries(step)[0] || ["?", null];
  if (k === "setWeight") return "set weight " + v;
  if (k === "pause") return v && v.duration !== undefined ? "pause " + v.duration : "pause (until promoted)";
  return k + (v && typeof v === "object" ? " " + JSON.stringify(v) : v !== null ? " " + v : "");
}

function chart(values) {
  const nums = values.map(Number).filter((v) => Number.isFinite(v));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", "0 0 240 48");
  if (nums.length > 1) {
    const lo = Math.min(...nums), hi = Math.max(...nums), span = hi - lo || 1;
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", nums.map((v, i) => `${(i * 236) / (nums.length - 1) + 2},${46 - ((v - lo) * 44) / span}`).join(" "));
    svg.append(line);
  }
  return svg;
}

async function rolloutPage(render, ns, name) {
  const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/rollouts/${encodeURIComponent(name)}`;
  const info = await api(base);
  const s = info.summary || {};
  const spec = info.rollout.spec || {};
  const steps = (spec.strategy && spec.strategy.canary && spec.strategy.canary.steps) || [];
  const at = s.currentStepIndex ?? 0;
  const weight = s.canaryWeight ?? 0;
  const bar = el("div", { class: "weights", id: "weights" });
  const stable = el("div", { class: "stable", text: `stable ${100 - weight}%` });
  const canary = el("div", { class: "canary", text: weight ? `canary ${weight}%` : "" });
  stable.style.width = (100 - weight) + "%";
  canary.style.width = weight + "%";
  bar.append(stable, canary);
  const buttons = el("div", { class: "actions" },
    el("button", { id: "promote", text: "Promote", onclick: () => act(base + "/promote", {}, "promote") }),
    el("button", { id: "promote-full", text: "Promote fully", onclick: () => act(base + "/promote", { full: true }, "promote") }),
    el("button", { id: "abort", class: "danger", text: "Abort", onclick: () => act(base + "/abort", {}, "abort") }),
    el("button", { id: "retry", text: "Retry", onclick: () => act(base + "/retry", {}, "retry") }),
    el("button", { id: "pause", text: "Pause", onclick: () => act(base + "/pause", {}, "pause") }),
    el("button", { id: "resume", text: "Resume", onclick: () => act(base + "/resume", {}, "resume") }));
  const runs = info.analysisRuns.map((r) => {
    const metrics = (r.status && r.status.metricResults) || [];
    return el("details", { open: "" }, el("summary", {}, r.metadata.name + " ", badge((r.status && r.status.phase) || "Pending")),
      el("table", {}, el("tbody", {}, metrics.map((m) => el("tr", {},
        el("td", { text: m.name }), el("td", {}, badge(m.phase || "Running")),
        el("td", { text: `${m.successful || 0} ok, ${m.failed || 0} failed, ${m.inconclusive || 0} inconclusive` }),
        el("td", {}, chart((m.measurements || []).map((x) => x.value))))))));
  });
  render(
    el("h1", { text: `${s.namespace}/${s.name}` }),
    facts([["Phase", badge(s.phase || "Unknown")], ["Message", s.message], ["Strategy", s.strategy],
      ["Replicas", `${s.readyReplicas} ready of ${s.replicas}, ${s.updatedReplicas} updated`]]),
    buttons,
    s.strategy === "canary" ? [el("h2", { text: "Traffic" }), bar] : null,
    steps.length ? [el("h2", { text: "Steps" }), el("ol", { class: "steps", id: "steps" }, steps.map((st, i) =>
      el("li", { class: i < at ? "done" : i === at ? "current" : "", text: `${i + 1}. ${stepText(st)}` })))] : null,
    el("h2", { text: "ReplicaSets" }),
    el("table", { id: "replicasets" }, el("tbody", {}, info.replicaSets.map((rs) => el("tr", {},
      el("td", { text: "revision " + (rs.revision || "?") }), el("td", { text: rs.role }), el("td", { class: "muted", text: rs.hash }),
      el("td", { text: `${rs.readyReplicas}/${rs.replicas} ready` }), el("td", { class: "muted", text: rs.images.join(", ") }))))),
    runs.length ? [el("h2", { text: "Analysis" }), runs] : null);
}

// ---- pipelines ---------------------------------------------------------------------------------------------

async function pipelinesPage(render) {
  const { items } = await api("/api/v1/pipelines");
  render(el("h1", { text: `Pipelines (${items.length})` }),
    el("table", { id: "pipelines" },
      el("thead", {}, el("tr", {}, ["Namespace", "Name", "Stages", "Ready"].map((h) => el("th", { text: h })))),
      el("tbody", {}, items.map((p) => el("tr", {
        class: "link", tabindex: "0", "data-pipeline": p.namespace + "/" + p.name,
        onclick: () => { location.hash = "#/pipeline/" + p.namespace + "/" + p.name; },
        onkeydown: (ev) => { if (ev.key === "Enter") location.hash = "#/pipeline/" + p.namespace + "/" + p.name; },
      },
        el("td", { text: p.namespace }), el("td", { text: p.name }),
        el("td", { text: p.stages.map((s) => `${s.name} ${s.release || "–"}`).join(" → ") }),
        el("td", {}, badge(p.ready || "Unknown")))))));
}

async function pipelinePage(render, ns, name) {
  const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/pipelines/${encodeURIComponent(name)}`;
  const p = await api(base);
  const statuses = (p.status && p.status.stages) || [];
  const rows = p.summary.stages.map((s, i) => {
    const st = statuses.find((x) => x.name === s.name) || {};
    const gates = (st.gates || []).map((g) => el("div", {}, badge(g.phase), " ", g.name + ": " + (g.message || "")));
    return el("tr", { "data-stage": s.name },
      el("td", { text: s.name }), el("td", { text: s.release || "–" }),
      el("td", {}, s.sync ? badge(s.sync) : "", " ", s.health ? badge(s.health) : ""),
      el("td", {}, gates),
      el("td", { text: s.pending ? `${s.pending.release} waits: ${s.pending.reason}` : "" }),
      el("td", {}, i > 0 ? el("button", { "data-promote": s.name, text: "Promote here",
          onclick: () => act(base + "/promote", { stage: s.name }, "promote") }) : null,
        s.pending ? el("button", { "data-approve": s.name, text: "Approve",
          onclick: () => act(base + "/approve", { stage: s.name }, "approve") }) : null));
  });
  const history = statuses.flatMap((st) => (st.history || []).map((h) => ({ stage: st.name, ...h })))
    .sort((a, b) => (a.time < b.time ? 1 : -1));
  render(el("h1", { text: `${ns}/${name}` }),
    facts([["Ready", p.summary.message || p.summary.ready], ["Summary", p.summary.summary]]),
    el("h2", { text: "Stages" }),
    el("table", { id: "stages" }, el("thead", {}, el("tr", {}, ["Stage", "Release", "State", "Gates", "Waiting", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)),
    el("h2", { text: "Promotions" }),
    el("table", { id: "promotions" }, el("tbody", {}, history.slice(0, 50).map((h) => el("tr", {},
      el("td", { class: "muted", text: h.time }), el("td", { text: h.stage }), el("td", { text: h.release }),
      el("td", { class: "muted", text: (h.commit || "").slice(0, 12) }), el("td", { text: h.by || "" }))))));
}

// ---- routing and live updates ------------------------------------------------------------------------------

let routeSeq = 0;

// Draws the page the address names. A slower, older call never draws over a newer one.
async function route() {
  const seq = ++routeSeq;
  const render = (...parts) => { if (seq === routeSeq) show(...parts); };
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  document.getElementById("nav-apps").classList.toggle("active", parts[0] === "" || parts[0] === "app");
  document.getElementById("nav-rollouts").classList.toggle("active", parts[0].startsWith("rollout"));
  document.getElementById("nav-pipelines").classList.toggle("active", parts[0].startsWith("pipeline"));
  try {
    if (parts[0] === "app" && parts.length >= 3) await applicationPage(render, parts[1], parts[2]);
    else if (parts[0] === "rollouts") await rolloutsPage(render);
    else if (parts[0] === "rollout" && parts.length >= 3) await rolloutPage(render, parts[1], parts[2]);
    else if (parts[0] === "pipelines") await pipelinesPage(render);
    else if (parts[0] === "pipeline" && parts.length >= 3) await pipelinePage(render, parts[1], parts[2]);
    else await applicationsPage(render);
    document.body.dataset.loaded = location.hash || "#/";
    // When the page's content was first painted (User Timing; scripts/bench-dashboard.py reads it).
    if (seq === routeSeq) requestAnimationFrame(() => setTimeout(() => performance.mark("tack:drawn"), 0));
  } catch (e) {
    if (seq === routeSeq) failure(e);
  }
}

let pending = null;
function changed() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; if (!document.querySelector("form.token")) route(); }, 500);
}

async function follow() {
  for (;;) {
    try {
      const r = await fetch("/api/v1/watch", { headers: headers({ Accept: "text/event-stream" }) });
      if (!r.ok || !r.body) throw new Error("watch " + r.status);
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (block.includes("event: change")) changed();
        }
      }
    } catch (e) {
      // reconnect below
    }
    await new Promise((ok) => setTimeout(ok, 3000));
  }
}

async function whoami() {
  try {
    const me = await api("/api/v1/whoami");
    document.getElementById("who").textContent = me.user.username + (me.readOnly ? " (read-only)" : "");
  } catch (e) {
    document.getElementById("who").textContent = "";
  }
}

window.addEventListener("hashchange", () => { listState.shown = PAGE_ROWS; route(); });
document.getElementById("token-button").addEventListener("click", () => tokenForm(""));
whoami().then(route);
follow();
