// The viewer page: load a certified user key, sign and run a trace, show the answer.

import { disposeCharts, drawGraph, drawSankey, localId, marksOf, percent } from "./charts.js";
import { loadUser, signedTraceHeaders } from "./signing.js";

// Queried by field names only: the public type names are not part of what the page relies on.
export const TRACE_QUERY = `query Trace($lot: ID!, $maxDepth: Int, $asOf: Date) {
  trace(lot: $lot, maxDepth: $maxDepth, asOf: $asOf) {
    root asOf maxDepth elements
    origins {
      lot owner material custody recycledPostConsumer recycledPreConsumer
      facility { name kind country region artisanal cahra }
      shares { element share approximate }
    }
    coverage { element coverage unknown }
    gaps { lot owner reason detail via shares { element share } }
    risks { kind lot owner evidence shares { element share } }
    notChecked { check lot owner reason }
    allocationNote
    lots { id owner opened material custody }
    edges { consumer input kilograms shares { element share } }
    productPassport batteryPassport
  }
}`;

// The due-diligence report of the traced product: a trace of its own, signed as one.
export const DUE_DILIGENCE_QUERY = `query DueDiligence($lot: ID!, $maxDepth: Int, $asOf: Date) {
  dueDiligence(lot: $lot, maxDepth: $maxDepth, asOf: $asOf) { product document html }
}`;

const TIMEOUT_MS = 120_000;
const $ = (selector) => document.querySelector(selector);
let user = null;
let running = null;
let traced = null; // the variables of the trace shown, for its due-diligence report

function cell(row, text, header = false) {
  const c = document.createElement(header ? "th" : "td");
  if (header) c.scope = "row";
  c.textContent = text;
  row.append(c);
  return c;
}

function headRow(table, names) {
  const head = table.tHead;
  head.replaceChildren();
  const row = head.insertRow();
  for (const name of names) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    row.append(th);
  }
}

const shareOf = (shares, element) => shares.find((s) => s.element === element);

/** Point `link` at a download of `text` named `name`; the previous blob is released. */
function offerDownload(link, text, type, name) {
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.hidden = false;
}

/** The `data` of a GraphQL answer to `query`, signed by the user for exactly it;
 * throws an Error with a one-line message for a GraphQL error or no answer. */
async function signedQuery(query, variables, field, signal) {
  const headers = await signedTraceHeaders(user, query, variables);
  const response = await fetch("graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`the gateway answered ${response.status} without a GraphQL body`);
  }
  if (body.errors?.length) {
    const e = body.errors[0];
    const code = e.extensions?.code ? ` (${e.extensions.code})` : "";
    throw new Error(`${e.message}${code}`);
  }
  if (!body.data?.[field]) throw new Error(`the gateway answered ${response.status} with no ${field}`);
  return body.data[field];
}

function progress(step, text) {
  $("#progress").hidden = false;
  $("#progress-bar").value = step;
  $("#progress-text").textContent = text;
}

async function onSignIn(event) {
  event.preventDefault();
  const keyFile = $("#key-file").files[0];
  const certFile = $("#cert-file").files[0];
  const status = $("#identity");
  if (!keyFile || !certFile) {
    status.textContent = "Choose both the key file and the certificate file.";
    return;
  }
  try {
    user = await loadUser(await keyFile.text(), await certFile.text());
  } catch (error) {
    user = null;
    status.textContent = `Key not loaded: ${error.message}`;
    $("#trace-button").disabled = true;
    return;
  }
  status.textContent = `Signing as ${user.sub} of ${user.org} (certificate valid until ${user.expires
    .toISOString()
    .replace("T", " ")
    .slice(0, 16)} UTC).`;
  status.dataset.org = user.org;
  $("#trace-button").disabled = false;
}

async function onTrace(event) {
  event.preventDefault();
  if (!user || running) return;
  const form = new FormData($("#trace-form"));
  const variables = {
    lot: String(form.get("lot")).trim(),
    maxDepth: Number(form.get("maxDepth")),
    asOf: String(form.get("asOf")),
  };
  $("#trace-error").textContent = "";
  $("#results").hidden = true;
  running = new AbortController();
  const started = performance.now();
  const timer = setInterval(() => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    progress(2, `Tracing through the federation's nodes… ${seconds} s`);
  }, 1000);
  const timeout = setTimeout(() => running?.abort("timeout"), TIMEOUT_MS);
  $("#trace-button").disabled = true;
  $("#cancel-button").disabled = false;
  try {
    progress(1, "Signing the request with your key…");
    const answer = signedQuery(TRACE_QUERY, variables, "trace", running.signal);
    progress(2, "Tracing through the federation's nodes… 0 s");
    const trace = await answer;
    progress(4, "Drawing…");
    traced = variables;
    show(trace);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    progress(4, `Done: traced in ${seconds} s.`);
  } catch (error) {
    const aborted = running.signal.aborted;
    const reason = running.signal.reason;
    $("#trace-error").textContent = aborted
      ? reason === "timeout"
        ? `The gateway did not answer within ${TIMEOUT_MS / 1000} s.`
        : "Trace cancelled."
      : `Trace failed: ${error.message}`;
    $("#progress").hidden = true;
  } finally {
    clearInterval(timer);
    clearTimeout(timeout);
    running = null;
    $("#trace-button").disabled = !user;
    $("#cancel-button").disabled = true;
  }
}

function show(trace) {
  $("#results").hidden = false;
  const lots = new Map(trace.lots.map((l) => [l.id, l]));
  const origins = new Map(trace.origins.map((o) => [o.lot, o]));
  const names = (id) => {
    const o = origins.get(id);
    if (o?.facility) return `${o.facility.name} (${localId(id)})`;
    const lot = lots.get(id);
    return `${lot?.owner ?? "?"} ${localId(id)}`;
  };
  const opened = trace.lots.filter((l) => l.opened).length;
  const owners = new Set(trace.lots.map((l) => l.owner)).size;
  $("#summary").textContent =
    `Trace of ${trace.root} as of ${trace.asOf}, up to ${trace.maxDepth} hops: ` +
    `${opened} lots opened across ${owners} organisations, ${trace.origins.length} origins, ` +
    `${trace.gaps.length} gaps, ${trace.risks.length} risk flags.`;
  const note = $("#allocation-note");
  note.hidden = !trace.allocationNote;
  note.textContent = trace.allocationNote ?? "";

  const coverage = $("#coverage-table").tBodies[0];
  coverage.replaceChildren();
  for (const c of trace.coverage) {
    const row = coverage.insertRow();
    cell(row, c.element, true);
    cell(row, percent(c.coverage));
    cell(row, percent(c.unknown));
  }
  showDownloads(trace);

  showGraph(trace, names);
  showFlows(trace, names, shortNames(trace));
  showOrigins(trace);
  showGaps(trace, names);
  showRisks(trace, names);
}

/** The trace, and its passports where the gateway built them (unsigned); the
 * due-diligence report is prepared on request (it runs a trace of its own). */
function showDownloads(trace) {
  const { productPassport, batteryPassport, ...rest } = trace;
  const stem = `${localId(trace.root)}-${trace.asOf}`;
  const json = (value) => JSON.stringify(value, null, 2);
  offerDownload($("#download-report"), json(rest), "application/json", `trace-${stem}.json`);
  const passports = [
    ["product-passport", productPassport],
    ["battery-passport", batteryPassport],
  ];
  for (const [kind, passport] of passports) {
    $(`#${kind}-item`).hidden = !passport;
    if (passport) offerDownload($(`#download-${kind}`), json(passport), "application/json", `${kind}-${stem}.json`);
  }
  $("#passport-note").hidden = !(productPassport || batteryPassport);
  $("#due-diligence-button").disabled = false;
  $("#due-diligence-status").textContent = "";
  $("#download-due-diligence-json").hidden = true;
  $("#download-due-diligence-html").hidden = true;
}

async function onDueDiligence() {
  if (!user || !traced || running) return;
  const variables = traced;
  const button = $("#due-diligence-button");
  const status = $("#due-diligence-status");
  button.disabled = true;
  $("#trace-button").disabled = true;
  $("#cancel-button").disabled = false;
  running = new AbortController();
  const timeout = setTimeout(() => running?.abort("timeout"), TIMEOUT_MS);
  status.textContent = "Preparing the due-diligence report (a trace of its own)…";
  try {
    const report = await signedQuery(DUE_DILIGENCE_QUERY, variables, "dueDiligence", running.signal);
    if (traced !== variables) return; // another trace is shown now
    const stem = `due-diligence-${localId(report.product)}-${variables.asOf}`;
    offerDownload($("#download-due-diligence-json"), JSON.stringify(report.document, null, 2), "application/json", `${stem}.json`);
    offerDownload($("#download-due-diligence-html"), report.html, "text/html", `${stem}.html`);
    status.textContent = "Due-diligence report ready:";
  } catch (error) {
    const reason = running.signal.aborted ? running.signal.reason : null;
    status.textContent =
      reason === "timeout"
        ? `The gateway did not answer within ${TIMEOUT_MS / 1000} s.`
        : reason
          ? "Due-diligence report cancelled."
          : `Due-diligence report not available: ${error.message}`;
    button.disabled = false;
  } finally {
    clearTimeout(timeout);
    running = null;
    $("#trace-button").disabled = !user;
    $("#cancel-button").disabled = true;
  }
}

/** Names short enough for a Sankey column: the site's first word for an origin, else the
 * owner's; then the lot's local id (the tables and tooltips give the full names). */
function shortNames(trace) {
  const origins = new Map(trace.origins.map((o) => [o.lot, o]));
  const owners = new Map(trace.lots.map((l) => [l.id, l.owner]));
  return (id) => {
    const site = origins.get(id)?.facility?.name;
    const word = (site ?? owners.get(id) ?? "?").split(/[ ,(-]/)[0];
    return `${word} ${localId(id)}`;
  };
}

function showGraph(trace, names) {
  drawGraph($("#graph"), trace);
  const marks = marksOf(trace);
  const inputs = new Map();
  for (const e of trace.edges) {
    if (!inputs.has(e.consumer)) inputs.set(e.consumer, new Set());
    inputs.get(e.consumer).add(names(e.input));
  }
  const body = $("#lots-table").tBodies[0];
  body.replaceChildren();
  for (const lot of trace.lots) {
    const m = marks.get(lot.id);
    const row = body.insertRow();
    cell(row, lot.id, true);
    cell(row, lot.owner);
    cell(row, lot.material ?? "(not opened)");
    cell(row, lot.custody ?? "");
    cell(
      row,
      [
        m.origin ? "origin" : "",
        ...m.gaps.map((g) => `gap ${g}`),
        ...[...new Set(m.risks)].map((r) => `risk ${r}`),
        lot.opened ? "" : "not opened",
      ]
        .filter(Boolean)
        .join("; "),
    );
    cell(row, [...(inputs.get(lot.id) ?? [])].join("; "));
  }
}

function showFlows(trace, names, chartNames) {
  disposeCharts();
  const container = $("#flows");
  container.replaceChildren();
  for (const element of trace.elements) {
    const figure = document.createElement("figure");
    figure.className = "flow";
    figure.dataset.element = element;
    const caption = document.createElement("figcaption");
    caption.id = `flow-${element}-caption`;
    caption.textContent = `Flow of ${element}, from origins (left) to the product (right)`;
    const chart = document.createElement("div");
    chart.className = "sankey";
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-labelledby", caption.id);
    figure.append(caption, chart);
    container.append(figure);
    const rows = drawSankey(chart, trace, element, chartNames);
    const table = document.createElement("table");
    table.className = "flow-table";
    const tcaption = table.createCaption();
    tcaption.textContent = `${element}: share of the product's content passed along each link`;
    table.createTHead();
    headRow(table, ["From", "Into", `Share of the product's ${element}`]);
    const body = table.createTBody();
    for (const r of rows) {
      const row = body.insertRow();
      cell(row, r.gap ? `unexplained claim at ${names(r.to)}` : names(r.from), true);
      cell(row, names(r.to));
      cell(row, percent(r.share));
    }
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `The ${element} figures as a table`;
    details.append(summary, table);
    figure.append(details);
  }
}

function showOrigins(trace) {
  const container = $("#origins");
  container.replaceChildren();
  for (const element of trace.elements) {
    const rows = trace.origins
      .map((o) => ({ o, s: shareOf(o.shares, element) }))
      .filter(({ s }) => s && s.share > 0)
      .sort((a, b) => b.s.share - a.s.share);
    const table = document.createElement("table");
    table.className = "origins-table";
    table.dataset.element = element;
    table.createCaption().textContent = `${element}: origins by mine and country`;
    table.createTHead();
    headRow(table, ["Mine or collection site", "Owner", "Country", "Region", "Marked", "Custody (weakest on path)", `Share of the product's ${element}`]);
    const body = table.createTBody();
    const byCountry = new Map();
    for (const { o, s } of rows) {
      const f = o.facility ?? {};
      const row = body.insertRow();
      cell(row, f.name ?? o.lot, true);
      cell(row, o.owner);
      cell(row, f.country ?? "?");
      cell(row, f.region ?? "");
      cell(
        row,
        [
          f.artisanal ? "artisanal (ASM)" : "",
          f.cahra ? "CAHRA" : "",
          o.recycledPostConsumer ? "recycled, post-consumer" : "",
          o.recycledPreConsumer ? "recycled, pre-consumer" : "",
        ]
          .filter(Boolean)
          .join("; "),
      );
      cell(row, o.custody ?? "unknown");
      cell(row, percent(s.share) + (s.approximate ? " (approximate)" : ""));
      byCountry.set(f.country ?? "?", (byCountry.get(f.country ?? "?") ?? 0) + s.share);
    }
    const foot = table.createTFoot();
    for (const [country, share] of [...byCountry].sort((a, b) => b[1] - a[1])) {
      const row = foot.insertRow();
      const th = cell(row, `All origins in ${country}`, true);
      th.colSpan = 6;
      cell(row, percent(share));
    }
    container.append(table);
  }
}

function showGaps(trace, names) {
  const table = $("#gaps-table");
  headRow(table, ["Lot", "Owner", "Reason", "Detail", ...trace.elements.map((e) => `Share of ${e}`)]);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const g of trace.gaps) {
    const row = body.insertRow();
    cell(row, names(g.lot), true);
    cell(row, g.owner);
    cell(row, g.reason);
    cell(row, g.detail);
    for (const e of trace.elements) cell(row, percent(shareOf(g.shares, e)?.share ?? 0));
  }
  if (!trace.gaps.length) cell(body.insertRow(), "No gaps: everything was followed to origins.");
}

function showRisks(trace, names) {
  const table = $("#risks-table");
  headRow(table, ["Kind", "Lot", "Owner", "Evidence", ...trace.elements.map((e) => `Share of ${e}`)]);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const r of trace.risks) {
    const row = body.insertRow();
    cell(row, r.kind, true);
    cell(row, r.lot ? names(r.lot) : "");
    cell(row, r.owner ?? "");
    cell(row, r.evidence);
    for (const e of trace.elements) cell(row, percent(shareOf(r.shares, e)?.share ?? 0));
  }
  if (!trace.risks.length) cell(body.insertRow(), "No risk flagged.");
  const list = $("#not-checked");
  list.replaceChildren();
  for (const n of trace.notChecked) {
    const item = document.createElement("li");
    item.textContent = `${n.check} of ${names(n.lot)} (${n.owner}): ${n.reason}`;
    list.append(item);
  }
  if (!trace.notChecked.length) list.append(Object.assign(document.createElement("li"), { textContent: "Every check could be made." }));
}

function start() {
  $("#signin").addEventListener("submit", onSignIn);
  $("#trace-form").addEventListener("submit", onTrace);
  $("#cancel-button").addEventListener("click", () => running?.abort("cancelled"));
  $("#due-diligence-button").addEventListener("click", onDueDiligence);
  $("#as-of").value = new Date().toISOString().slice(0, 10);
  const params = new URLSearchParams(location.search);
  if (params.get("lot")) $("#lot").value = params.get("lot");
  document.body.dataset.ready = "true";
}

start();
