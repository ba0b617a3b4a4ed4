// The Prometheus metrics the processes register, read from their TypeScript
// sources, and the metric and label names a PromQL expression uses. The chart's
// alert rules (monitoring.prometheusRule) may only use what the code registers:
// policy-check.mjs compares the two, so a metric or label renamed in the code
// fails the chart check until the alerts follow.
//
// Recognised registrations (the forms the code uses):
//   new Counter|Gauge|Histogram|Summary({ name: "x", labelNames: [...] | labelNames, ... })
//   counter|gauge|histogram(registry, "x", "help", [...labels], ...)   (events/metrics.ts helpers)
//   registry.setDefaultLabels({ service })                             (a label on every series)
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** Where the processes register their metrics (services and gateway). */
export const SOURCE_DIRS = ["services/platform/src", "gateway/src"];

/**
 * Labels Prometheus adds to every series it scrapes through a PodMonitor
 * (prometheus-operator's generated scrape config: namespace, container, pod,
 * job, endpoint; Prometheus itself: instance).
 */
export const TARGET_LABELS = ["namespace", "pod", "container", "endpoint", "job", "instance"];

const tsFiles = (repo, dir) =>
  readdirSync(join(repo, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".d.ts"))
    .map((e) => relative(repo, join(e.parentPath ?? e.path, e.name)));

/** The source files: [{path, text}]. */
export const readSources = (repo, dirs = SOURCE_DIRS) =>
  dirs.flatMap((d) => tsFiles(repo, d)).sort().map((path) => ({ path, text: readFileSync(join(repo, path), "utf8") }));

/** The text of the balanced {...} starting at text[open] (strings skipped), or undefined. */
function objectLiteral(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === "'" || ch === "`") {
      for (i++; i < text.length && text[i] !== ch; i++) if (text[i] === "\\") i++;
    } else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return text.slice(open, i + 1);
  }
  return undefined;
}

const stringsIn = (arrayText) => [...arrayText.matchAll(/"([^"\\]*)"|'([^'\\]*)'/g)].map((m) => m[1] ?? m[2]);

/** Label names from an array literal or the name of a `const X = [...]` of the same file. */
function labelList(text, arg) {
  if (arg.startsWith("[")) return stringsIn(arg);
  const m = new RegExp(`\\bconst\\s+${arg}\\s*=\\s*(\\[[^\\]]*\\])`).exec(text);
  return m ? stringsIn(m[1]) : undefined;
}

/**
 * The registered metrics: {metrics: Map(name -> {type, labels, file}), defaultLabels, problems}.
 * problems: registrations whose labels cannot be read (the check then fails
 * rather than guess), and names registered twice with different labels.
 */
export function metricsFromSources(sources) {
  const metrics = new Map();
  const problems = [];
  const defaultLabels = new Set();
  const add = (name, type, labels, file) => {
    if (labels === undefined) { problems.push(`${file}: cannot read the label names of ${name}`); return; }
    const prev = metrics.get(name);
    if (prev && (prev.type !== type || prev.labels.join() !== labels.join())) problems.push(`${name}: registered as ${prev.type}(${prev.labels}) in ${prev.file} and ${type}(${labels}) in ${file}`);
    if (!prev) metrics.set(name, { type, labels, file });
  };
  for (const { path, text } of sources) {
    for (const m of text.matchAll(/\bnew\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>(]*>)?\(\s*\{/g)) {
      const body = objectLiteral(text, m.index + m[0].length - 1);
      const name = body && /\bname:\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/.exec(body)?.[1];
      if (!name) continue; // a generic helper (name from a parameter): its callers are read below
      const arr = /\blabelNames:\s*(\[[^\]]*\]|[A-Za-z_$][\w$]*)/.exec(body)?.[1];
      const shorthand = /[{,]\s*labelNames\s*[,}]/.test(body) ? "labelNames" : undefined;
      const labels = arr ? labelList(text, arr) : shorthand ? labelList(text, shorthand) : [];
      add(name, m[1].toLowerCase(), labels, path);
    }
    const helper = /\b(counter|gauge|histogram)\(\s*[\w.]+\s*,\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"\s*,\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*,\s*(\[[^\]]*\]|[A-Za-z_$][\w$]*)/g;
    for (const m of text.matchAll(helper)) add(m[2], m[1], labelList(text, m[3]), path);
    for (const m of text.matchAll(/\bsetDefaultLabels\(\s*\{([^}]*)\}/g)) {
      for (const part of m[1].split(",")) {
        const key = part.split(":")[0].trim();
        if (key) defaultLabels.add(key);
      }
    }
  }
  return { metrics, defaultLabels: [...defaultLabels], problems };
}

export const metricsFromCode = (repo) => metricsFromSources(readSources(repo));

/**
 * The series names a registered metric is exposed as, with their labels
 * (the metric's own plus the registry's default labels): a histogram as
 * _bucket (with le), _sum and _count, a summary with quantile, _sum and _count.
 */
export function exposedSeries(catalog) {
  const out = new Map();
  for (const [name, { type, labels }] of catalog.metrics) {
    const own = [...labels, ...catalog.defaultLabels];
    if (type === "histogram") {
      out.set(`${name}_bucket`, [...own, "le"]);
      out.set(`${name}_sum`, own);
      out.set(`${name}_count`, own);
    } else if (type === "summary") {
      out.set(name, [...own, "quantile"]);
      out.set(`${name}_sum`, own);
      out.set(`${name}_count`, own);
    } else {
      out.set(name, own);
    }
  }
  return out;
}

// ---------------------------------------------------------------- PromQL --

const AGGREGATIONS = new Set(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"]);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end"]);

function tokenize(expr) {
  const tokens = [];
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|([0-9][0-9a-zA-Z_.]*|\.[0-9]+[0-9a-zA-Z_.]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)|(=~|!~|!=|==|<=|>=|[-+*/%^=<>(){}[\],@])/y;
  let m;
  while (re.lastIndex < expr.length) {
    const at = re.lastIndex;
    m = re.exec(expr);
    if (!m) throw new Error(`cannot read the expression at ${JSON.stringify(expr.slice(at, at + 20))}`);
    if (m[1] !== undefined) tokens.push({ t: "str", v: JSON.parse(m[1].startsWith('"') ? m[1] : `"${m[1].slice(1, -1).replace(/"/g, '\\"')}"`) });
    else if (m[2] !== undefined) tokens.push({ t: "num", v: m[2] });
    else if (m[3] !== undefined) tokens.push({ t: "id", v: m[3] });
    else if (m[4] !== undefined) tokens.push({ t: "op", v: m[4] });
  }
  return tokens;
}

/**
 * What an expression reads: selectors [{metric, matchers: [{label, op, value}]}]
 * and the label names of its by/without/on/ignoring/group_* clauses.
 * A lexical reading (strings, selectors, grouping clauses); its syntax is
 * promtool's to judge.
 */
export function promqlRefs(expr) {
  const tokens = tokenize(String(expr));
  const selectors = [];
  const grouping = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    const next = tokens[i + 1];
    if (tok.t === "op" && tok.v === "[") { // a range or subquery: durations only
      while (i < tokens.length && !(tokens[i].t === "op" && tokens[i].v === "]")) i++;
      continue;
    }
    if (tok.t === "id" && GROUPING.has(tok.v) && next?.v === "(") {
      for (i += 2; i < tokens.length && tokens[i].v !== ")"; i++) if (tokens[i].t === "id") grouping.push(tokens[i].v);
      continue;
    }
    if (tok.t === "id" && next?.v === "(" ) continue; // a function or aggregation
    if (tok.t === "id" && (KEYWORDS.has(tok.v) || GROUPING.has(tok.v) || AGGREGATIONS.has(tok.v))) continue;
    if ((tok.t === "id") || (tok.t === "op" && tok.v === "{")) {
      const sel = { metric: tok.t === "id" ? tok.v : undefined, matchers: [] };
      if (tok.t === "id") i++;
      if (tokens[i]?.v === "{") {
        for (i++; i < tokens.length && tokens[i].v !== "}"; i++) {
          const [l, op, v] = [tokens[i], tokens[i + 1], tokens[i + 2]];
          if (l.t === "id" && op?.t === "op" && ["=", "!=", "=~", "!~"].includes(op.v) && v?.t === "str") {
            sel.matchers.push({ label: l.v, op: op.v, value: v.v });
            i += 2;
          }
        }
      } else {
        i--;
      }
      const byName = sel.matchers.find((m) => m.label === "__name__" && m.op === "=");
      if (!sel.metric && byName) sel.metric = byName.value;
      selectors.push(sel);
    }
  }
  return { selectors, grouping };
}
