// The two drawings: the lot graph (cytoscape.js, layered by dagre) and one Sankey
// diagram per element (ECharts, SVG renderer, so what is drawn can be read and tested).
// Each has a table beside it with the same figures (app.js).

import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import * as echarts from "echarts/core";
import { SankeyChart } from "echarts/charts";
import { AriaComponent, TitleComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

cytoscape.use(dagre);
echarts.use([SankeyChart, AriaComponent, TitleComponent, TooltipComponent, SVGRenderer]);

export const percent = (share) => `${(share * 100).toFixed(2)} %`;

/** `urn:oretrail:lot:org:LOCAL` -> `LOCAL`. */
export const localId = (lot) => lot.split(":").slice(4).join(":") || lot;

/** What marks each lot: origin, gap (reasons), risk (kinds), not opened. */
export function marksOf(trace) {
  const marks = new Map(trace.lots.map((l) => [l.id, { origin: false, gaps: [], risks: [] }]));
  const at = (lot) => {
    if (!marks.has(lot)) marks.set(lot, { origin: false, gaps: [], risks: [] });
    return marks.get(lot);
  };
  for (const o of trace.origins) at(o.lot).origin = true;
  for (const g of trace.gaps) at(g.lot).gaps.push(g.reason);
  for (const r of trace.risks) if (r.lot) at(r.lot).risks.push(r.kind);
  return marks;
}

let graph = null;

/** Draws the lot graph into `container`: the product on the left, origins on the right. */
export function drawGraph(container, trace) {
  const marks = marksOf(trace);
  const pairs = new Map();
  const elements = trace.lots.map((lot) => {
    const m = marks.get(lot.id);
    const classes = [
      m.origin ? "origin" : "",
      m.gaps.length ? "gap" : "",
      m.risks.length ? "risk" : "",
      lot.opened ? "" : "unopened",
      lot.id === trace.root ? "root" : "",
    ].filter(Boolean);
    const lines = [
      lot.owner,
      lot.material ?? "(not opened)",
      lot.custody ? lot.custody.replace(/_/g, " ").toLowerCase() : "",
      m.gaps.length ? `gap: ${m.gaps.join(", ")}` : "",
      m.risks.length ? `risk: ${[...new Set(m.risks)].join(", ")}` : "",
    ].filter(Boolean);
    return { data: { id: lot.id, label: lines.join("\n") }, classes: classes.join(" ") };
  });
  for (const e of trace.edges) {
    // Two deliveries between the same lots: one arrow, their kilograms added up
    // (unknown when either is withheld).
    const id = JSON.stringify([e.consumer, e.input]);
    const pair = pairs.get(id) ?? { source: e.consumer, target: e.input, kg: 0 };
    pair.kg = pair.kg == null || e.kilograms == null ? null : pair.kg + e.kilograms;
    pairs.set(id, pair);
  }
  for (const [id, { source, target, kg }] of pairs) {
    const label = kg == null ? "" : `${Math.round(kg).toLocaleString("en")} kg`;
    elements.push({ data: { id, source, target, label } });
  }
  if (graph) graph.destroy();
  graph = cytoscape({
    container,
    elements,
    userZoomingEnabled: true,
    boxSelectionEnabled: false,
    autoungrabify: true,
    style: [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          width: 190,
          height: 78,
          "background-color": "#f4f6f8",
          "border-width": 2,
          "border-color": "#4a5560",
          label: "data(label)",
          "text-wrap": "wrap",
          "text-max-width": 180,
          "text-valign": "center",
          "font-size": 11,
          color: "#111",
        },
      },
      { selector: "node.root", style: { "border-width": 4, "border-color": "#1d3f73" } },
      { selector: "node.origin", style: { "background-color": "#dcf0dc", "border-color": "#1e6b2e" } },
      { selector: "node.gap", style: { "border-style": "dashed", "border-color": "#a3161c", "background-color": "#fbe3e3" } },
      { selector: "node.risk", style: { "border-color": "#8a4b00", "border-width": 4 } },
      { selector: "node.unopened", style: { "background-color": "#e6e6e6", "border-style": "dotted" } },
      {
        selector: "edge",
        style: {
          width: 2,
          "line-color": "#5b6773",
          "target-arrow-color": "#5b6773",
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          label: "data(label)",
          "font-size": 10,
          color: "#222",
          "text-background-color": "#fff",
          "text-background-opacity": 1,
        },
      },
    ],
    layout: { name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 70 },
  });
  container.dataset.nodeCount = String(graph.nodes().length);
  container.dataset.edgeCount = String(graph.edges().length);
  return graph;
}

/**
 * The Sankey of one element: origins (and gaps) on the left, the product on the right.
 * Links are the trace's edges, each carrying the share of the product's `element`
 * that passed along it; an unsupported claim enters its lot as a node of its own.
 * Returns the rows the chart draws: [{from, to, share}].
 */
export function flowRows(trace, element) {
  const rows = [];
  const seen = new Set();
  for (const e of trace.edges) {
    const key = `${e.input}->${e.consumer}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const share = (e.shares ?? []).find((s) => s.element === element)?.share ?? 0;
    if (share > 0) rows.push({ from: e.input, to: e.consumer, share });
  }
  for (const g of trace.gaps) {
    const share = g.shares.find((s) => s.element === element)?.share ?? 0;
    if (share > 0 && g.reason === "UNSUPPORTED_CLAIM") {
      rows.push({ from: `unexplained:${g.lot}`, to: g.lot, share, gap: g.reason });
    }
  }
  return rows;
}

const charts = [];

export function drawSankey(container, trace, element, names) {
  const rows = flowRows(trace, element);
  const ids = new Set(rows.flatMap((r) => [r.from, r.to]));
  const label = (id) =>
    id.startsWith("unexplained:") ? `unexplained claim (${names(id.slice(12))})` : names(id);
  const chart = echarts.init(container, null, { renderer: "svg" });
  charts.push(chart);
  chart.setOption({
    animation: false,
    aria: { enabled: true, label: { description: `Flow of ${element} from origins to the product` } },
    tooltip: { trigger: "item", valueFormatter: (v) => `${v.toFixed(2)} %` },
    series: [
      {
        type: "sankey",
        nodeAlign: "right",
        layoutIterations: 0,
        left: 8,
        right: 170,
        top: 12,
        bottom: 12,
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", opacity: 0.45 },
        itemStyle: { borderColor: "#333", borderWidth: 1 },
        // The figure first: a label too long for its column is cut at its end.
        label: {
          color: "#111",
          fontSize: 10,
          width: 172,
          overflow: "truncate",
          formatter: (p) => `${p.value.toFixed(2)} % ${label(p.name)}`,
        },
        data: [...ids].map((id) => ({
          name: id,
          itemStyle: id.startsWith("unexplained:") ? { color: "#a3161c" } : undefined,
        })),
        links: rows.map((r) => ({ source: r.from, target: r.to, value: r.share * 100 })),
      },
    ],
  });
  container.dataset.element = element;
  return rows;
}

export function disposeCharts() {
  while (charts.length) charts.pop().dispose();
}
