// Policy tests over the chart's rendered manifests, plus negative self-tests
// that prove each check can fail.
//
//   node scripts/deploy/policy-check.mjs --helm .local/bin/helm --chart helm/fleet-mesh \
//        --kube-version 1.30.0 --rendered default=out/default.yaml --rendered eks=out/eks.yaml
//
// Prints one line per check ("ok" or "FAIL"), then `policy: N passed, M failed`;
// exits 1 on any failure. Without --rendered it renders the chart's values.yaml,
// values-eks.yaml, values-eks.yaml + ci/full-values.yaml and that plus
// ci/jwks-identity-values.yaml itself. With --promtool <path>, every rendered
// PrometheusRule's spec also goes through `promtool check rules` and the alert
// unit tests of scripts/deploy/alert-tests.yaml (`promtool test rules`).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";
import { status as grpcStatus } from "@grpc/grpc-js";
import { exposedSeries, metricsFromCode, metricsFromSources, promqlRefs, readSources, TARGET_LABELS } from "./metrics-catalog.mjs";

// ------------------------------------------------------------------ args --
const args = { rendered: [], helm: ".local/bin/helm", chart: "helm/fleet-mesh", kubeVersion: "1.30.0", release: "fleet-mesh", namespace: "fleet-mesh", promtool: undefined };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[++i];
  if (v === undefined) throw new Error(`${a} needs a value`);
  if (a === "--rendered") args.rendered.push(v);
  else if (a === "--helm") args.helm = v;
  else if (a === "--chart") args.chart = v;
  else if (a === "--kube-version") args.kubeVersion = v;
  else if (a === "--release") args.release = v;
  else if (a === "--namespace") args.namespace = v;
  else if (a === "--promtool") args.promtool = v;
  else throw new Error(`unknown option ${a}`);
}

// -------------------------------------------------------------- rendering --
// The checks read the same few dozen config files (ConfigMap data) over
// 3,000 times: each text is parsed once (that took 3.4 of the script's 26
// CPU-seconds, measured 2026-12-03), and each caller gets its own copy,
// since some edit what they read.
const parsedYaml = new Map();
const parse = (text) => {
  if (!parsedYaml.has(text)) parsedYaml.set(text, parseYaml(text));
  return structuredClone(parsedYaml.get(text));
};

const loadAll = (text) =>
  parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`invalid YAML in rendered output: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((d) => d && typeof d === "object");

/** helm template with extra values files/objects; resolves to { docs } or { error }. */
async function render(values = []) {
  const dir = mkdtempSync(join(tmpdir(), "fm-policy-"));
  try {
    const files = values.map((v, i) => {
      if (typeof v === "string") return v;
      const f = join(dir, `values-${i}.yaml`);
      writeFileSync(f, stringify(v));
      return f;
    });
    const { stdout } = await promisify(execFile)(
      args.helm,
      ["template", args.release, args.chart, "-n", args.namespace, "--kube-version", args.kubeVersion, ...files.flatMap((f) => ["-f", f])],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    return { docs: loadAll(stdout) };
  } catch (e) {
    return { error: String(e.stderr || e.message).trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The processes' own configuration schemas, loaded from the TypeScript sources
// (through tsx, a devDependency), so the chart's config files are checked
// exactly as the current code will read them.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const schemaCache = new Map();
let tsImport;
async function schemaFor(component) {
  if (schemaCache.has(component)) return schemaCache.get(component);
  tsImport ??= (await import("tsx/esm/api")).tsImport;
  const platform = await tsImport(join(repo, "services/platform/src/config.ts"), import.meta.url);
  let schema = platform.serviceConfigSchema;
  let source = "services/platform/src/config.ts serviceConfigSchema";
  const own = component === "gateway" ? "gateway/src/config.ts" : `services/${component}/src/config.ts`;
  if (existsSync(join(repo, own))) {
    const mod = await tsImport(join(repo, own), import.meta.url);
    const name = Object.keys(mod).find((k) => k.endsWith("ConfigSchema"));
    if (name) { schema = mod[name]; source = `${own} ${name}`; }
  }
  // The services' secret paths (database.password, kafka.sasl.password) as the processes pass them.
  const secretPaths = component === "gateway" ? [] : [...(platform.SERVICE_SECRET_PATHS ?? ["database.password"])];
  const entry = { loadConfig: platform.loadConfig, schema, source, secretPaths };
  schemaCache.set(component, entry);
  return entry;
}

/**
 * Problems the process would report for this config file and the container's
 * FLEETMESH__ environment ([] = accepted). env: {name: value}; a variable from a
 * secretKeyRef is given a placeholder value, as the kubelet would provide one.
 */
async function validateAppConfig(component, yamlText, env = {}) {
  let cfg;
  try { cfg = await schemaFor(component); } catch (e) { return [`cannot load the config schema of ${component}: ${e.message}`]; }
  const dir = mkdtempSync(join(tmpdir(), "fm-config-"));
  try {
    const file = join(dir, "config.yaml");
    writeFileSync(file, yamlText);
    const gateway = component === "gateway";
    const defaults = join(repo, gateway ? "gateway/config/default.yaml" : `services/${component}/config/default.yaml`);
    cfg.loadConfig(cfg.schema, {
      files: [...(existsSync(defaults) ? [defaults] : []), file],
      env,
      secretPaths: cfg.secretPaths,
    });
    return [];
  } catch (e) {
    return [String(e.message).replace(/\n\s*/g, "; ")];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A process's config as its files give it (its default.yaml, then the rendered config.yaml), without the environment. */
function fileConfigOf(component, yamlText) {
  const merge = (dst, src) => {
    for (const [k, v] of Object.entries(src ?? {})) {
      if (v && typeof v === "object" && !Array.isArray(v) && dst[k] && typeof dst[k] === "object" && !Array.isArray(dst[k])) merge(dst[k], v);
      else dst[k] = v;
    }
    return dst;
  };
  const defaults = join(repo, component === "gateway" ? "gateway/config/default.yaml" : `services/${component}/config/default.yaml`);
  return merge(merge({}, existsSync(defaults) ? parse(readFileSync(defaults, "utf8")) : {}), parse(yamlText ?? "") ?? {});
}

// --------------------------------------------------------------- helpers --
const podSpecOf = (o) => (o.kind === "Deployment" || o.kind === "Job" ? o.spec?.template?.spec : undefined);
const workloads = (docs) => docs.filter((o) => podSpecOf(o));
const deployments = (docs) => docs.filter((o) => o.kind === "Deployment");
const containersOf = (o) => {
  const s = podSpecOf(o) ?? {};
  return [...(s.initContainers ?? []).map((c) => ({ c, init: true })), ...(s.containers ?? []).map((c) => ({ c, init: false }))];
};
const id = (o, c) => `${o.kind}/${o.metadata?.name}${c ? `[${c.name}]` : ""}`;
const matches = (selector, labels) =>
  selector &&
  Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) &&
  (selector.matchExpressions ?? []).every((e) => {
    const v = labels?.[e.key];
    if (e.operator === "In") return e.values.includes(v);
    if (e.operator === "NotIn") return !e.values.includes(v);
    if (e.operator === "Exists") return v !== undefined;
    if (e.operator === "DoesNotExist") return v === undefined;
    return false;
  });

/** The container's environment as the process sees it: {name: value}, secretKeyRef values as a placeholder. */
const envValues = (c) => Object.fromEntries((c.env ?? []).map((e) => [e.name, "value" in e ? String(e.value) : e.valueFrom?.secretKeyRef ? "from-a-secret-ref" : undefined]).filter(([, v]) => v !== undefined));
const envEntry = (c, name) => (c.env ?? []).findLast((e) => e.name === name);

/** A Deployment's config.yaml text (the ConfigMap key mounted at FLEETMESH_CONFIG_FILE), or undefined. */
function configTextOf(d, docs) {
  const s = d.spec.template.spec;
  const c = s.containers[0];
  const file = envValues(c).FLEETMESH_CONFIG_FILE;
  const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === file);
  const vol = (s.volumes ?? []).find((v) => v.name === mount?.name);
  const cm = docs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === vol?.configMap?.name);
  return file ? cm?.data?.[mount?.subPath ?? "config.yaml"] : undefined;
}

/** Why `path` is not a file of a read-only Secret/ConfigMap volume mounted in the container (undefined = it is). */
function unmountedFile(w, c, path) {
  const mount = (c.volumeMounts ?? []).find((m) => String(path).startsWith(`${m.mountPath.replace(/\/$/, "")}/`));
  if (!mount) return `${path} is on no mounted volume`;
  if (mount.readOnly !== true) return `${path}: volume ${mount.name} is not mounted read-only`;
  const vol = (podSpecOf(w).volumes ?? []).find((v) => v.name === mount.name);
  const src = vol?.secret ?? vol?.configMap;
  if (!src) return `${path}: volume ${mount.name} is not a Secret or ConfigMap volume`;
  const rel = String(path).slice(mount.mountPath.replace(/\/$/, "").length + 1);
  if (src.items && !src.items.some((i) => i.path === rel)) return `${path}: volume ${mount.name} has no item ${rel}`;
  return undefined;
}

/** Broker ports not allowed by the egress rules of the NetworkPolicies selecting the pod (none when no policy exists). */
function blockedPorts(docs, w, brokers) {
  const nps = docs.filter((o) => o.kind === "NetworkPolicy");
  if (nps.length === 0) return [];
  const labels = w.spec?.template?.metadata?.labels;
  const rules = nps
    .filter((np) => (np.spec?.policyTypes ?? []).includes("Egress") && matches(np.spec?.podSelector, labels))
    .flatMap((np) => np.spec?.egress ?? []);
  const allows = (port) => rules.some((r) => !r.ports?.length || r.ports.some((x) => x.port === port || (x.endPort !== undefined && port >= x.port && port <= x.endPort)));
  const ports = [...new Set(brokers.map((b) => Number(String(b).split(":").pop())))];
  return ports.filter((port) => !allows(port));
}
const SASL_MECHANISMS = ["scram-sha-512", "scram-sha-256", "plain"];

// ----------------------------------------------------------------- memory --
const NATIVE_MIN_MI = 64;
const QUANTITY = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
/** A Kubernetes memory quantity in MiB (undefined when unreadable). */
const quantityMi = (q) => {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(String(q ?? ""));
  return m ? (Number(m[1]) * QUANTITY[m[2] ?? ""]) / 2 ** 20 : undefined;
};

// ------------------------------------------------- JWKS and pod-to-pod traffic --
const JWKS_PATH = "/.well-known/jwks.json";
const componentOf = (o) => o.spec?.template?.metadata?.labels?.["app.kubernetes.io/component"] ?? o.metadata?.labels?.["app.kubernetes.io/component"];

/** The rendered Service a URL host names (name, name.ns, name.ns.svc, name.ns.svc.<domain>), or undefined. */
function serviceOfHost(docs, host) {
  const [name, ns, svc] = String(host).split(".");
  if (svc !== undefined && svc !== "svc") return undefined;
  return docs.find((o) => o.kind === "Service" && o.metadata?.name === name && (ns === undefined || o.metadata?.namespace === ns));
}

/**
 * The Deployment and container port a connection to port `port` of Service
 * `svc` lands on: the pods' own port for a headless Service (its DNS name gives
 * pod addresses), else the Service port's targetPort (a name or a number).
 * Undefined when nothing listens there.
 */
function serviceTarget(docs, svc, port) {
  const selector = svc.spec?.selector ?? {};
  if (Object.keys(selector).length === 0) return undefined;
  const sp = (svc.spec?.ports ?? []).find((x) => x.port === port);
  const headless = svc.spec?.clusterIP === "None";
  if (!headless && !sp) return undefined;
  const wanted = headless
    ? (x) => x.containerPort === port
    : (x) => (typeof sp.targetPort === "string" ? x.name === sp.targetPort : x.containerPort === (sp.targetPort ?? sp.port));
  for (const d of deployments(docs)) {
    if (!matches({ matchLabels: selector }, d.spec?.template?.metadata?.labels)) continue;
    for (const c of d.spec.template.spec.containers ?? []) {
      const cp = (c.ports ?? []).find(wanted);
      if (cp) return { deployment: d, port: cp };
    }
  }
  return undefined;
}

/** A NetworkPolicy peer selects pods with `labels` in namespace `ns` (ipBlocks never match pods: conservative). */
const peerSelects = (peer, policyNs, labels, ns) =>
  !peer.ipBlock &&
  (peer.namespaceSelector ? matches(peer.namespaceSelector, { "kubernetes.io/metadata.name": ns }) : ns === policyNs) &&
  (peer.podSelector ? matches(peer.podSelector, labels) : true);
const portAdmits = (ports, cp) =>
  !ports?.length ||
  ports.some((x) => (x.protocol ?? "TCP") === (cp.protocol ?? "TCP") &&
    (x.port === undefined || x.port === cp.containerPort || x.port === cp.name ||
      (x.endPort !== undefined && typeof x.port === "number" && cp.containerPort >= x.port && cp.containerPort <= x.endPort)));

/**
 * Problems with a connection from Deployment `from` to container port `cp` of
 * Deployment `to` under the rendered NetworkPolicies (none when no policy
 * isolates them): the egress of `from` and the ingress of `to` must both admit it.
 */
function blockedConnection(docs, from, to, cp) {
  const p = [];
  const nps = docs.filter((o) => o.kind === "NetworkPolicy");
  const fromLabels = from.spec?.template?.metadata?.labels;
  const toLabels = to.spec?.template?.metadata?.labels;
  const fromNs = from.metadata?.namespace;
  const toNs = to.metadata?.namespace;
  const selecting = (type, labels, ns) => nps.filter((np) => (np.spec?.policyTypes ?? []).includes(type) && np.metadata?.namespace === ns && matches(np.spec?.podSelector, labels));
  const egress = selecting("Egress", fromLabels, fromNs);
  if (egress.length && !egress.some((np) => (np.spec?.egress ?? []).some((r) => (r.to ?? []).some((peer) => peerSelects(peer, np.metadata?.namespace, toLabels, toNs)) && portAdmits(r.ports, cp)))) {
    p.push(`no egress rule of ${id(from)} reaches ${id(to)} port ${cp.name ?? ""} ${cp.containerPort}`);
  }
  const ingress = selecting("Ingress", toLabels, toNs);
  if (ingress.length && !ingress.some((np) => (np.spec?.ingress ?? []).some((r) => (r.from ?? []).some((peer) => peerSelects(peer, np.metadata?.namespace, fromLabels, fromNs)) && portAdmits(r.ports, cp)))) {
    p.push(`no ingress rule of ${id(to)} admits ${id(from)} on port ${cp.name ?? ""} ${cp.containerPort}`);
  }
  return p;
}

// Env var names (last "__" segment) and config keys (scalar leaves) that carry secrets.
const SECRET_ENV = /(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?|API_?KEY|PRIVATE_?KEY|SECRET_ACCESS_KEY|AUTH)$/i;
const secretEnvName = (name) => SECRET_ENV.test(String(name).split("__").pop());
const SECRET_KEY = /(password|passwd|secret|token|credentials?|apikey|privatekey)$/i;
const SECRET_VALUE = [
  [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, "a JWT"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, "a URL with a password"],
  [/\b(password|passwd|secret|token)\s*[=:]\s*\S+/i, "an inline password/token assignment"],
];
const looksSecret = (s) => SECRET_VALUE.find(([re]) => re.test(String(s)))?.[1];

// ------------------------------------------------------------ monitoring --
// The metrics the code registers (services/platform/src, gateway/src): the
// only names and labels an alert expression may use (scripts/deploy/metrics-catalog.mjs).
const catalog = metricsFromCode(repo);
const GRPC_CODE_NAMES = Object.keys(grpcStatus).filter((k) => Number.isNaN(Number(k)));
const SEVERITIES = ["critical", "warning", "info"];
const RUNBOOK_DOC = "docs/operations.md";
/** GitHub's anchors of a Markdown file's headings. */
const anchorsOf = (file) => {
  let fenced = false;
  const headings = readFileSync(join(repo, file), "utf8").split("\n").filter((l) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    return !fenced && /^#{1,6} /.test(l);
  });
  return new Set(headings.map((l) => l.replace(/^#+ /, "").trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")));
};
const RUNBOOK_ANCHORS = anchorsOf(RUNBOOK_DOC);
/** Seconds of a Prometheus duration ("1h30m", "30s"), or undefined. */
const durationSeconds = (d) => {
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(String(d));
  if (!m || d === "" || String(d) === "undefined") return String(d) === "0" ? 0 : undefined;
  const [y, w, dd, h, mi, s, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return y * 31536000 + w * 604800 + dd * 86400 + h * 3600 + mi * 60 + s + ms / 1000;
};
/**
 * Label values the code writes as literals only (e.g. db_pool_connections'
 * state): {metric: {label: Set}}. A label also written from a variable
 * (topic, reason) has no fixed set. `code` holds gRPC status names (GrpcStatus[code]).
 */
function literalLabelValues(cat) {
  const out = {};
  const sources = new Map(readSources(repo).map((f) => [f.path, f.text]));
  for (const [name, m] of cat.metrics) {
    const text = sources.get(m.file) ?? "";
    for (const label of m.labels) {
      const uses = [...text.matchAll(new RegExp(`\\b${label}:\\s*([^,}\\s]+)`, "g"))].map((x) => x[1]);
      if (uses.length && uses.every((u) => /^"[^"]*"$/.test(u))) (out[name] ??= {})[label] = new Set(uses.map((u) => u.slice(1, -1)));
    }
    if (m.labels.includes("code")) (out[name] ??= {}).code = new Set(GRPC_CODE_NAMES);
  }
  return out;
}
const LABEL_VALUES = literalLabelValues(catalog);
const baseMetric = (series) => series.replace(/_(bucket|sum|count)$/, "");

/** Problems of one PromQL expression against the code's metrics; ns: the namespace every selector must be scoped to (undefined: any). */
function exprProblems(expr, cat, ns) {
  const p = [];
  let refs;
  try { refs = promqlRefs(expr); } catch (e) { return [`cannot read ${JSON.stringify(expr)}: ${e.message}`]; }
  const series = exposedSeries(cat);
  const known = new Set(TARGET_LABELS);
  if (refs.selectors.length === 0) p.push(`reads no metric: ${JSON.stringify(expr)}`);
  for (const sel of refs.selectors) {
    if (!sel.metric) { p.push(`a selector without a metric name: ${JSON.stringify(sel.matchers)}`); continue; }
    const labels = series.get(sel.metric);
    if (!labels) { p.push(`reads ${sel.metric}, which the code does not register (${SOURCE_HINT})`); continue; }
    for (const l of labels) known.add(l);
    for (const m of sel.matchers) {
      if (m.label === "__name__") continue;
      if (!labels.includes(m.label) && !TARGET_LABELS.includes(m.label)) { p.push(`${sel.metric}: matches on label ${m.label}, which it does not have (${[...labels, ...TARGET_LABELS].join(", ")})`); continue; }
      const values = LABEL_VALUES[baseMetric(sel.metric)]?.[m.label] ?? (cat.metrics.has(sel.metric) ? LABEL_VALUES[sel.metric]?.[m.label] : undefined);
      if (values && (m.op === "=" || m.op === "=~")) {
        const wanted = m.op === "=" ? [m.value] : m.value.split("|");
        const unknown = wanted.filter((v) => !values.has(v));
        if (unknown.length) p.push(`${sel.metric}: ${m.label}${m.op}${JSON.stringify(m.value)}: the code never sets ${m.label} to ${unknown.join(", ")} (it writes ${[...values].join(", ")})`);
      }
    }
    const scoped = sel.matchers.some((m) => m.label === "namespace" && m.op === "=" && m.value === ns);
    if (ns !== undefined && !scoped) p.push(`${sel.metric}: not scoped to the release's namespace (no namespace="${ns}" matcher)`);
  }
  // (With an unknown metric its labels are unknown too: that problem is reported above.)
  const allKnown = refs.selectors.every((sel) => series.has(sel.metric));
  if (allKnown) for (const l of refs.grouping) if (!known.has(l)) p.push(`groups by label ${l}, which none of its metrics has`);
  return p;
}
const SOURCE_HINT = "services/platform/src, gateway/src";

/** Problems of a PrometheusRule: its alerts' labels, annotations and runbooks, and every expression against the code's metrics. */
function ruleProblems(rule, cat = catalog) {
  const p = [];
  const where = `PrometheusRule/${rule.metadata?.name}`;
  if (rule.apiVersion !== "monitoring.coreos.com/v1") p.push(`${where}: apiVersion ${rule.apiVersion}`);
  if (cat.metrics.size === 0) p.push(`no metric registration found in ${SOURCE_HINT} (scripts/deploy/metrics-catalog.mjs no longer reads the code)`);
  for (const problem of cat.problems) p.push(`metrics in the code: ${problem}`);
  const groups = rule.spec?.groups ?? [];
  if (groups.length === 0) p.push(`${where}: no rule groups`);
  const groupNames = groups.map((g) => g.name);
  for (const g of new Set(groupNames)) if (groupNames.filter((x) => x === g).length > 1) p.push(`${where}: group ${g} twice`);
  const alerts = groups.flatMap((g) => (g.rules ?? []).map((r) => ({ g, r })));
  const names = alerts.map(({ r }) => r.alert ?? r.record);
  for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1) p.push(`${where}: ${n} defined twice`);
  for (const { g, r } of alerts) {
    const who = `${where} ${g.name}/${r.alert ?? r.record}`;
    if (!r.alert && !r.record) { p.push(`${who}: neither alert nor record`); continue; }
    for (const x of exprProblems(r.expr ?? "", cat, rule.metadata?.namespace)) p.push(`${who}: ${x}`);
    if (!r.alert) continue;
    if (!SEVERITIES.includes(r.labels?.severity)) p.push(`${who}: severity label ${JSON.stringify(r.labels?.severity)} (one of ${SEVERITIES.join(", ")})`);
    for (const a of ["summary", "description"]) if (!String(r.annotations?.[a] ?? "").trim()) p.push(`${who}: no ${a} annotation`);
    if (r.for !== undefined && durationSeconds(r.for) === undefined) p.push(`${who}: for ${JSON.stringify(r.for)} is not a duration`);
    const runbook = r.annotations?.runbook_url;
    let url;
    try { url = new URL(runbook); } catch { p.push(`${who}: runbook_url ${JSON.stringify(runbook)} is not a URL`); continue; }
    const anchor = decodeURIComponent(url.hash.slice(1));
    if (url.protocol !== "https:" || !url.pathname.endsWith(`/${RUNBOOK_DOC}`)) p.push(`${who}: runbook_url ${runbook} is not an https link to ${RUNBOOK_DOC}`);
    else if (!RUNBOOK_ANCHORS.has(anchor)) p.push(`${who}: runbook_url ${runbook}: ${RUNBOOK_DOC} has no heading with anchor #${anchor}`);
  }
  return p;
}

/** A NetworkPolicy peer that is one of the release's own pods (so not a scraper). */
const releasePeer = (peer) => !peer.ipBlock && !peer.namespaceSelector && peer.podSelector?.matchLabels?.["app.kubernetes.io/instance"] === args.release;

// Every check returns a list of problems (strings); empty = pass.
/** services/registry.yaml: the services that exist in the code (and so must be deployed). */
const registry = parse(readFileSync(join(repo, "services/registry.yaml"), "utf8")).services;
const registeredServices = registry.map((svc) => svc.name);
/** The peers each registered service calls (services/registry.yaml). */
const registeredPeers = new Map(registry.map((svc) => [svc.name, svc.peers ?? []]));

/** A registered service that the render does not deploy. */
const undeployedServices = (docs) =>
  registeredServices
    .filter((name) => !deployments(docs).some((d) => d.metadata?.labels?.["app.kubernetes.io/component"] === name))
    .map((name) => `${name} is in services/registry.yaml but not deployed: enable components.${name}`);

const CHECKS = [
  {
    key: "workloads",
    title: "Deployments and hook Jobs rendered",
    run(docs) {
      const p = [];
      if (deployments(docs).length === 0) p.push("no Deployment rendered");
      if (!docs.some((o) => o.kind === "Job")) p.push("no hook Job rendered");
      return p;
    },
    summary: (docs) => `${deployments(docs).length} Deployments, ${docs.filter((o) => o.kind === "Job").length} Jobs, ${docs.length} objects`,
  },
  {
    key: "probes",
    title: "startup, liveness and readiness probes on every Deployment container (gRPC for services, HTTP for the gateway)",
    run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        const gateway = d.metadata?.labels?.["app.kubernetes.io/component"] === "gateway";
        for (const { c, init } of containersOf(d)) {
          if (init) continue;
          for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
            const pr = c[probe];
            if (!pr) { p.push(`${id(d, c)}: no ${probe}`); continue; }
            if (!pr.grpc && !pr.httpGet && !pr.tcpSocket && !pr.exec) p.push(`${id(d, c)}: ${probe} has no handler`);
          }
          if (!gateway && c.livenessProbe && !c.livenessProbe.grpc) p.push(`${id(d, c)}: service liveness is not a native gRPC probe`);
          if (!gateway && c.startupProbe && !c.startupProbe.grpc) p.push(`${id(d, c)}: service startup is not a native gRPC probe`);
          if (gateway && c.readinessProbe && c.readinessProbe.httpGet?.path !== "/readyz") p.push(`${id(d, c)}: gateway readiness is not GET /readyz`);
        }
      }
      return p;
    },
  },
  {
    key: "resources",
    title: "requests and limits (cpu, memory) on every container, hook Jobs included",
    run(docs) {
      const p = [];
      for (const w of workloads(docs)) {
        for (const { c } of containersOf(w)) {
          const r = c.resources ?? {};
          for (const kind of ["requests", "limits"]) {
            for (const res of ["cpu", "memory"]) {
              if (r[kind]?.[res] === undefined || r[kind]?.[res] === null || r[kind]?.[res] === "") p.push(`${id(w, c)}: no ${kind}.${res}`);
            }
          }
        }
      }
      return p;
    },
  },
  {
    key: "pod-security",
    title: "restricted pod security (non-root uid 10001, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, read-only root, /tmp emptyDir)",
    run(docs) {
      const p = [];
      for (const w of workloads(docs)) {
        const s = podSpecOf(w);
        const psc = s.securityContext ?? {};
        if (s.hostNetwork || s.hostPID || s.hostIPC) p.push(`${id(w)}: host namespaces`);
        for (const v of s.volumes ?? []) if (v.hostPath) p.push(`${id(w)}: hostPath volume ${v.name}`);
        const tmp = (s.volumes ?? []).find((v) => v.emptyDir && v.name === "tmp");
        for (const { c } of containersOf(w)) {
          const sc = c.securityContext ?? {};
          const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
          const uid = sc.runAsUser ?? psc.runAsUser;
          const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
          if (nonRoot !== true) p.push(`${id(w, c)}: runAsNonRoot is not true`);
          if (uid !== 10001) p.push(`${id(w, c)}: runAsUser is ${uid}, not 10001`);
          if (sc.allowPrivilegeEscalation !== false) p.push(`${id(w, c)}: allowPrivilegeEscalation is not false`);
          if (sc.privileged) p.push(`${id(w, c)}: privileged`);
          if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push(`${id(w, c)}: capabilities do not drop ALL`);
          if ((sc.capabilities?.add ?? []).length) p.push(`${id(w, c)}: adds capabilities ${sc.capabilities.add}`);
          if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") p.push(`${id(w, c)}: seccompProfile is ${seccomp ?? "unset"}`);
          if (sc.readOnlyRootFilesystem !== true) p.push(`${id(w, c)}: readOnlyRootFilesystem is not true`);
          if (!tmp || !(c.volumeMounts ?? []).some((m) => m.name === tmp.name && m.mountPath === "/tmp")) p.push(`${id(w, c)}: no emptyDir mounted at /tmp`);
        }
      }
      return p;
    },
  },
  {
    key: "secrets",
    title: "no plaintext secrets (no Secret objects; secret-named env only via secretKeyRef; no secret-looking values in env, args or ConfigMaps)",
    run(docs) {
      const p = [];
      for (const o of docs) {
        if (o.kind === "Secret") p.push(`Secret/${o.metadata?.name} rendered by the chart (reference existing Secrets instead)`);
        if (o.kind === "ConfigMap") {
          for (const [k, v] of Object.entries(o.data ?? {})) {
            const why = looksSecret(v);
            if (why) p.push(`ConfigMap/${o.metadata?.name} ${k}: contains ${why}`);
            if (/\.ya?ml$/.test(k)) {
              const walk = (node, path) => {
                if (!node || typeof node !== "object") return;
                for (const [kk, vv] of Object.entries(node)) {
                  if (vv !== null && typeof vv === "object" && !Array.isArray(vv)) walk(vv, `${path}${kk}.`);
                  else if (SECRET_KEY.test(kk)) p.push(`ConfigMap/${o.metadata?.name} ${k}: secret-named key ${path}${kk}`);
                }
              };
              let parsed;
              try { parsed = parse(v); } catch { parsed = undefined; /* not YAML after all */ }
              walk(parsed, "");
            }
          }
        }
        if (o.kind === "ExternalSecret") {
          for (const d of o.spec?.data ?? []) if (!d.remoteRef || "value" in d) p.push(`ExternalSecret/${o.metadata?.name}: ${d.secretKey} is not a remote reference`);
          if (o.spec?.target?.template) p.push(`ExternalSecret/${o.metadata?.name}: target.template may embed values`);
        }
      }
      for (const w of workloads(docs)) {
        for (const { c } of containersOf(w)) {
          for (const e of c.env ?? []) {
            if (secretEnvName(e.name)) {
              if ("value" in e) p.push(`${id(w, c)}: env ${e.name} has a plain value (use valueFrom.secretKeyRef)`);
              else if (!e.valueFrom?.secretKeyRef) p.push(`${id(w, c)}: env ${e.name} is not from a secretKeyRef`);
            }
            const why = "value" in e ? looksSecret(e.value) : undefined;
            if (why) p.push(`${id(w, c)}: env ${e.name} contains ${why}`);
          }
          for (const a of [...(c.args ?? []), ...(c.command ?? [])]) {
            const why = looksSecret(a);
            if (why) p.push(`${id(w, c)}: argument contains ${why}`);
          }
          if ((c.envFrom ?? []).some((f) => f.configMapRef)) p.push(`${id(w, c)}: envFrom a ConfigMap (unreviewed keys)`);
        }
      }
      return p;
    },
  },
  {
    key: "image-tags",
    title: "images pinned: explicit tag, never latest",
    run(docs) {
      const p = [];
      for (const w of workloads(docs)) {
        for (const { c } of containersOf(w)) {
          const image = String(c.image ?? "");
          const [nameTag, digest] = image.split("@");
          const last = nameTag.split("/").pop();
          const tag = last.includes(":") ? last.split(":").pop() : undefined;
          if (!tag) p.push(`${id(w, c)}: image ${image} has no tag`);
          else if (tag.toLowerCase() === "latest") p.push(`${id(w, c)}: image ${image} uses latest`);
          if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) p.push(`${id(w, c)}: bad digest in ${image}`);
        }
      }
      return p;
    },
  },
  {
    key: "pdb-hpa",
    title: "every Deployment has a PodDisruptionBudget, an autoscaling/v2 HPA (minReplicas >= 2), a Service and a ServiceAccount",
    run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        const labels = d.spec?.template?.metadata?.labels;
        const name = d.metadata?.name;
        const pdbs = docs.filter((o) => o.kind === "PodDisruptionBudget" && matches(o.spec?.selector, labels));
        if (pdbs.length === 0) p.push(`${id(d)}: no PodDisruptionBudget`);
        for (const pdb of pdbs) {
          if (pdb.spec?.minAvailable === undefined && pdb.spec?.maxUnavailable === undefined) p.push(`PodDisruptionBudget/${pdb.metadata?.name}: no budget`);
          if (pdb.spec?.maxUnavailable === 0 || pdb.spec?.maxUnavailable === "0%") p.push(`PodDisruptionBudget/${pdb.metadata?.name}: maxUnavailable 0 blocks node drains`);
        }
        const hpa = docs.find((o) => o.kind === "HorizontalPodAutoscaler" && o.spec?.scaleTargetRef?.kind === "Deployment" && o.spec?.scaleTargetRef?.name === name);
        if (!hpa) p.push(`${id(d)}: no HorizontalPodAutoscaler`);
        else {
          if (hpa.apiVersion !== "autoscaling/v2") p.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}: ${hpa.apiVersion}`);
          if (!(hpa.spec?.minReplicas >= 2)) p.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}: minReplicas ${hpa.spec?.minReplicas} < 2`);
          if (d.spec?.replicas !== undefined) p.push(`${id(d)}: sets replicas although an HPA scales it (upgrades would reset the scale)`);
        }
        if (!docs.some((o) => o.kind === "Service" && matches({ matchLabels: o.spec?.selector }, labels))) p.push(`${id(d)}: no Service`);
        const sa = d.spec?.template?.spec?.serviceAccountName;
        if (!sa || !docs.some((o) => o.kind === "ServiceAccount" && o.metadata?.name === sa)) p.push(`${id(d)}: ServiceAccount ${sa} not rendered`);
      }
      return p;
    },
  },
  {
    key: "network-policy",
    title: "NetworkPolicy default deny (ingress and egress) selects every pod; no rule allows everyone",
    run(docs) {
      const p = [];
      const nps = docs.filter((o) => o.kind === "NetworkPolicy");
      const deny = nps.filter((o) => {
        const types = o.spec?.policyTypes ?? [];
        return types.includes("Ingress") && types.includes("Egress") && !(o.spec?.ingress ?? []).length && !(o.spec?.egress ?? []).length;
      });
      if (deny.length === 0) p.push("no default-deny NetworkPolicy (policyTypes Ingress and Egress, no rules)");
      for (const w of workloads(docs)) {
        const labels = w.spec?.template?.metadata?.labels;
        if (!deny.some((np) => matches(np.spec?.podSelector, labels))) p.push(`${id(w)}: not selected by a default-deny policy`);
      }
      for (const np of nps) {
        for (const r of np.spec?.ingress ?? []) if (!r.from || r.from.length === 0) p.push(`NetworkPolicy/${np.metadata?.name}: an ingress rule without 'from' allows every source`);
        for (const r of np.spec?.egress ?? []) if (!r.to || r.to.length === 0) p.push(`NetworkPolicy/${np.metadata?.name}: an egress rule without 'to' allows every destination`);
      }
      if (nps.length && !nps.some((np) => (np.spec?.egress ?? []).some((r) => (r.ports ?? []).some((x) => x.port === 53)))) p.push("no DNS egress");
      return p;
    },
  },
  {
    key: "rollout",
    title: "rollouts lose no capacity and drain: maxUnavailable 0, preStop delay, terminationGracePeriodSeconds > preStop + shutdown.graceMs + 2 s",
    run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        const ru = d.spec?.strategy?.rollingUpdate;
        if (d.spec?.strategy?.type !== "RollingUpdate") p.push(`${id(d)}: strategy is not RollingUpdate`);
        if (!(ru?.maxUnavailable === 0 || ru?.maxUnavailable === "0%")) p.push(`${id(d)}: maxUnavailable is ${ru?.maxUnavailable ?? "default (25%)"}, not 0`);
        if (!ru?.maxSurge || ru.maxSurge === "0%") p.push(`${id(d)}: maxSurge must be positive`);
        const s = d.spec.template.spec;
        const cfgName = (s.volumes ?? []).find((v) => v.name === "config")?.configMap?.name;
        const cm = docs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === cfgName);
        let graceMs = 10_000;
        try { graceMs = parse(cm?.data?.["config.yaml"] ?? "")?.shutdown?.graceMs ?? 10_000; } catch { p.push(`${id(d)}: config.yaml does not parse`); }
        for (const { c, init } of containersOf(d)) {
          if (init) continue;
          const pre = c.lifecycle?.preStop;
          const sleep = pre?.sleep?.seconds ?? (pre?.exec?.command?.[0] === "sleep" ? Number(pre.exec.command[1]) : undefined);
          if (!(sleep > 0)) { p.push(`${id(d, c)}: no preStop delay`); continue; }
          const need = sleep + Math.ceil(graceMs / 1000) + 2;
          const tgps = s.terminationGracePeriodSeconds ?? 30;
          if (!(tgps > need)) p.push(`${id(d, c)}: terminationGracePeriodSeconds ${tgps} <= preStop ${sleep} + graceMs ${graceMs / 1000} + 2`);
        }
      }
      return p;
    },
  },
  {
    key: "hooks",
    title: "migrations and topic creation are pre-install/pre-upgrade hook Jobs, re-creatable (before-hook-creation)",
    run(docs) {
      const p = [];
      for (const j of docs.filter((o) => o.kind === "Job")) {
        const a = j.metadata?.annotations ?? {};
        const hooks = String(a["helm.sh/hook"] ?? "").split(",");
        if (!hooks.includes("pre-install") || !hooks.includes("pre-upgrade")) p.push(`${id(j)}: helm.sh/hook is '${a["helm.sh/hook"] ?? ""}'`);
        if (!String(a["helm.sh/hook-delete-policy"] ?? "").includes("before-hook-creation")) p.push(`${id(j)}: no before-hook-creation delete policy`);
        if (j.spec?.template?.spec?.restartPolicy !== "Never" && j.spec?.template?.spec?.restartPolicy !== "OnFailure") p.push(`${id(j)}: restartPolicy`);
        if (j.spec?.activeDeadlineSeconds === undefined) p.push(`${id(j)}: no activeDeadlineSeconds`);
      }
      const args = docs.filter((o) => o.kind === "Job").map((j) => j.spec.template.spec.containers[0].args?.[0]);
      if (!args.includes("migrate")) p.push("no migration Job");
      return p;
    },
  },
  {
    key: "app-config",
    title: "every component's config.yaml is accepted by the process's own strict config schema (from the TypeScript sources)",
    async run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        const component = d.metadata?.labels?.["app.kubernetes.io/component"];
        const c = d.spec.template.spec.containers[0];
        const text = configTextOf(d, docs);
        if (text === undefined) { p.push(`${id(d)}: FLEETMESH_CONFIG_FILE does not point at a mounted ConfigMap key`); continue; }
        // The file and the FLEETMESH__ variables together (passwords from their Secret references).
        const env = Object.fromEntries(Object.entries(envValues(c)).filter(([k]) => k.startsWith("FLEETMESH__")));
        for (const problem of await validateAppConfig(component, text, env)) p.push(`${id(d)} (${component}): ${problem}`);
      }
      return p;
    },
  },
  {
    key: "jwks",
    title: "token verification keys: every process reads the same JWKS, either auth.jwksFile on its mounted JWKS volume, or auth.jwksUrl; a URL into the release is identity's /.well-known/jwks.json on its Service's ops port, admitted by the NetworkPolicies (the process's egress, identity's ingress); a URL elsewhere has its port open in the egress policies",
    run(docs) {
      const p = [];
      const sources = [];
      for (const d of deployments(docs)) {
        const c = d.spec.template.spec.containers[0];
        let auth;
        try { auth = parse(configTextOf(d, docs) ?? "")?.auth; } catch { auth = undefined; /* app-config reports it */ }
        if (!auth) { p.push(`${id(d)}: no auth section in config.yaml`); continue; }
        if (auth.jwksUrl === undefined) {
          // A file: on the read-only JWKS volume (the process's default.yaml path does not exist in the image).
          const jwks = (c.volumeMounts ?? []).find((m) => m.name === "jwks");
          if (!jwks || !String(auth.jwksFile).startsWith(`${jwks.mountPath}/`)) p.push(`${id(d)}: auth.jwksFile ${auth.jwksFile} is not on the mounted JWKS volume`);
          else {
            const why = unmountedFile(d, c, auth.jwksFile);
            if (why) p.push(`${id(d)}: auth.jwksFile ${why}`);
          }
          sources.push({ who: id(d), key: `jwksFile ${auth.jwksFile}` });
          continue;
        }
        sources.push({ who: id(d), key: `jwksUrl ${auth.jwksUrl}` });
        let url;
        try { url = new URL(auth.jwksUrl); } catch { p.push(`${id(d)}: auth.jwksUrl ${auth.jwksUrl} is not a URL`); continue; }
        const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
        const svc = serviceOfHost(docs, url.hostname);
        if (!svc) {
          // Outside the release (auth.jwks.url): only the egress can be checked.
          if (blockedPorts(docs, d, [`${url.hostname}:${port}`]).length) p.push(`${id(d)}: auth.jwksUrl ${auth.jwksUrl}: port ${port} not allowed by any egress rule (networkPolicy.extraEgress)`);
          continue;
        }
        const target = serviceTarget(docs, svc, port);
        if (!target) { p.push(`${id(d)}: auth.jwksUrl ${auth.jwksUrl}: Service/${svc.metadata.name} leads to no container port ${port}`); continue; }
        if (componentOf(target.deployment) !== "identity" || target.port.name !== "ops" || url.protocol !== "http:" || url.pathname !== JWKS_PATH) {
          p.push(`${id(d)}: auth.jwksUrl ${auth.jwksUrl} points into the release at ${componentOf(target.deployment)}'s ${target.port.name ?? target.port.containerPort} port (${url.protocol.slice(0, -1)}, ${url.pathname}), not at identity's ops port (http, ${JWKS_PATH})`);
          continue;
        }
        for (const why of blockedConnection(docs, d, target.deployment, target.port)) p.push(`${id(d)}: auth.jwksUrl: ${why}`);
      }
      const distinct = [...new Set(sources.map((x) => x.key))];
      if (distinct.length > 1) {
        for (const key of distinct) p.push(`processes read different JWKS: ${sources.filter((x) => x.key === key).map((x) => x.who).join(", ")} use ${key}`);
      }
      return p;
    },
    summary(docs) {
      const keys = [...new Set(deployments(docs).map((d) => { try { const a = parse(configTextOf(d, docs) ?? "")?.auth; return a?.jwksUrl ?? a?.jwksFile; } catch { return undefined; } }))];
      return `${deployments(docs).length} processes read ${keys.join(", ")}`;
    },
  },
  {
    key: "memory",
    title: `V8 and malloc sized for the container: every Deployment container sets NODE_OPTIONS with --max-old-space-size and --max-semi-space-size and MALLOC_ARENA_MAX (plain values), and old space + 3 x semi-space + ${NATIVE_MIN_MI}Mi of native memory fit limits.memory; requests.memory at most limits.memory`,
    run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        for (const { c, init } of containersOf(d)) {
          if (init) continue;
          const limit = quantityMi(c.resources?.limits?.memory);
          const request = quantityMi(c.resources?.requests?.memory);
          if (limit === undefined) { p.push(`${id(d, c)}: no readable limits.memory (${c.resources?.limits?.memory})`); continue; }
          if (request !== undefined && request > limit) p.push(`${id(d, c)}: requests.memory ${c.resources.requests.memory} above limits.memory ${c.resources.limits.memory}`);
          const opts = envEntry(c, "NODE_OPTIONS");
          const arenas = envEntry(c, "MALLOC_ARENA_MAX");
          if (!opts || !("value" in opts)) { p.push(`${id(d, c)}: no NODE_OPTIONS value (V8 would size its heap from the node's memory, not the container's)`); continue; }
          const flag = (name) => { const m = new RegExp(`(?:^|\\s)--${name}=(\\d+)(?:\\s|$)`).exec(String(opts.value)); return m ? Number(m[1]) : undefined; };
          const old = flag("max-old-space-size");
          const semi = flag("max-semi-space-size");
          if (old === undefined) p.push(`${id(d, c)}: NODE_OPTIONS ${JSON.stringify(opts.value)} has no --max-old-space-size`);
          if (semi === undefined) p.push(`${id(d, c)}: NODE_OPTIONS ${JSON.stringify(opts.value)} has no --max-semi-space-size (V8 picks up to 64Mi, a 192Mi young generation)`);
          if (!arenas || !("value" in arenas) || !(Number(arenas.value) >= 1)) p.push(`${id(d, c)}: no MALLOC_ARENA_MAX value (glibc allows 8 arenas per core)`);
          if (old !== undefined && semi !== undefined && old + 3 * semi + NATIVE_MIN_MI > limit) {
            p.push(`${id(d, c)}: old space ${old}Mi + young generation ${3 * semi}Mi + ${NATIVE_MIN_MI}Mi native = ${old + 3 * semi + NATIVE_MIN_MI}Mi, above limits.memory ${limit}Mi`);
          }
        }
      }
      return p;
    },
    summary(docs) {
      const by = deployments(docs).map((d) => `${componentOf(d)} ${envEntry(d.spec.template.spec.containers[0], "NODE_OPTIONS")?.value?.replace(/--max-(old|semi)-space-size=/g, "$1 ")} of ${d.spec.template.spec.containers[0].resources.limits.memory}`);
      return by.join("; ");
    },
  },
  {
    key: "token-issuer",
    title: "a gateway comes with a token issuer: this release's identity (tokens.issuer and tokens.audience equal to every process's auth.issuer and auth.audience; signing keys on a read-only mounted Secret volume; a Redis URL off the pod's loopback, its port open in identity's egress), or an identity outside the release (auth.jwksUrl elsewhere)",
    run(docs) {
      const p = [];
      const gw = deployments(docs).find((d) => componentOf(d) === "gateway");
      if (!gw) return p;
      const identity = deployments(docs).find((d) => componentOf(d) === "identity");
      const authOf = (d) => { try { return parse(configTextOf(d, docs) ?? "")?.auth; } catch { return undefined; /* app-config reports it */ } };
      if (!identity) {
        const url = authOf(gw)?.jwksUrl;
        let elsewhere = false;
        try { elsewhere = url !== undefined && !serviceOfHost(docs, new URL(url).hostname); } catch { elsewhere = false; /* the jwks check reports it */ }
        if (!elsewhere) p.push(`${id(gw)}: the gateway is enabled without a token issuer: no identity in the release (components.identity.enabled) and none elsewhere (auth.jwks.source: identity with auth.jwks.url), so no one can get a token it accepts`);
        return p;
      }
      const c = identity.spec.template.spec.containers[0];
      let cfg;
      try { cfg = fileConfigOf("identity", configTextOf(identity, docs)); } catch (e) { return [`${id(identity)}: config.yaml does not parse: ${e.message}`]; }
      const tokens = cfg.tokens ?? {};
      for (const d of deployments(docs)) {
        const auth = authOf(d);
        if (!auth) continue;
        if (auth.issuer !== tokens.issuer) p.push(`${id(d)}: auth.issuer ${auth.issuer} is not identity's tokens.issuer ${tokens.issuer}: it would refuse every token identity issues`);
        if (auth.audience !== tokens.audience) p.push(`${id(d)}: auth.audience ${auth.audience} is not identity's tokens.audience ${tokens.audience}`);
      }
      if (!tokens.signingKeysFile) p.push(`${id(identity)}: no tokens.signingKeysFile`);
      else {
        const why = unmountedFile(identity, c, tokens.signingKeysFile);
        if (why) p.push(`${id(identity)}: tokens.signingKeysFile ${why}`);
        else {
          const mount = (c.volumeMounts ?? []).find((m) => String(tokens.signingKeysFile).startsWith(`${m.mountPath.replace(/\/$/, "")}/`));
          const vol = identity.spec.template.spec.volumes.find((v) => v.name === mount.name);
          if (!vol.secret) p.push(`${id(identity)}: tokens.signingKeysFile is on volume ${vol.name}, which is not a Secret (private keys)`);
        }
      }
      if (envEntry(c, "FLEETMESH__REDIS__URL")?.valueFrom?.secretKeyRef) return p; // a URL with a password, from a Secret: not readable here
      let redis;
      try { redis = new URL(cfg.redis?.url); } catch { p.push(`${id(identity)}: redis.url ${cfg.redis?.url} is not a URL`); return p; }
      if (["127.0.0.1", "localhost", "[::1]", "::1"].includes(redis.hostname)) p.push(`${id(identity)}: redis.url ${cfg.redis.url} is the pod's own loopback (components.identity.config.redis.url)`);
      else if (blockedPorts(docs, identity, [`${redis.hostname}:${redis.port || 6379}`]).length) p.push(`${id(identity)}: redis.url ${cfg.redis.url}: port ${redis.port || 6379} not allowed by any egress rule (networkPolicy.redis.ports)`);
      return p;
    },
    summary(docs) {
      const identity = deployments(docs).find((d) => componentOf(d) === "identity");
      if (!deployments(docs).some((d) => componentOf(d) === "gateway")) return "no gateway";
      if (!identity) return "the gateway trusts an identity outside the release";
      return `${id(identity)} issues tokens (${fileConfigOf("identity", configTextOf(identity, docs)).tokens.issuer})`;
    },
  },
  {
    key: "kafka",
    title: "Kafka client security: services and the topic Job agree on brokers, TLS, SASL mechanism and CA; SASL passwords only from a secretKeyRef; PLAIN only over TLS; CA files on read-only mounted volumes; broker ports open in the egress policies; nothing Kafka on the gateway",
    run(docs) {
      const p = [];
      const views = [];
      const common = (w, c, v) => {
        if (v.mechanism !== undefined && !SASL_MECHANISMS.includes(v.mechanism)) p.push(`${id(w, c)}: SASL mechanism ${v.mechanism} (allowed: ${SASL_MECHANISMS.join(", ")})`);
        if (v.mechanism === "plain" && !v.tls) p.push(`${id(w, c)}: SASL PLAIN without TLS sends the password in clear text`);
        if (v.mechanism !== undefined && !v.username) p.push(`${id(w, c)}: SASL without a username`);
        if (v.caFile !== undefined) {
          if (!v.tls) p.push(`${id(w, c)}: a CA file without TLS`);
          const why = unmountedFile(w, c, v.caFile);
          if (why) p.push(`${id(w, c)}: Kafka CA ${why}`);
        }
        const blocked = blockedPorts(docs, w, v.brokers);
        if (blocked.length) p.push(`${id(w, c)}: broker port(s) ${blocked.join(", ")} not allowed by any egress rule (networkPolicy.kafka.ports)`);
        views.push({ who: id(w, c), key: JSON.stringify({ brokers: [...v.brokers].sort(), tls: v.tls, mechanism: v.mechanism ?? null, ca: v.caFile !== undefined }) });
      };
      const passwordFromSecret = (w, c, name) => {
        const e = envEntry(c, name);
        if (!e) p.push(`${id(w, c)}: SASL is configured but ${name} is not set`);
        else if (!e.valueFrom?.secretKeyRef) p.push(`${id(w, c)}: ${name} is not from a secretKeyRef`);
      };
      for (const d of deployments(docs)) {
        const c = d.spec.template.spec.containers[0];
        const gateway = d.metadata?.labels?.["app.kubernetes.io/component"] === "gateway";
        let cfg;
        try { cfg = parse(configTextOf(d, docs) ?? ""); } catch { cfg = undefined; /* app-config reports it */ }
        const kafkaEnv = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith("FLEETMESH__KAFKA__") || n.startsWith("FLEET_KAFKA_"));
        if (gateway) {
          if (kafkaEnv.length) p.push(`${id(d, c)}: Kafka variables on the gateway (${kafkaEnv.join(", ")})`);
          if (cfg?.kafka !== undefined) p.push(`${id(d, c)}: a kafka section in the gateway's config`);
          if ((d.spec.template.spec.volumes ?? []).some((v) => v.name === "kafka-ca")) p.push(`${id(d)}: the Kafka CA volume on the gateway`);
          continue;
        }
        const k = cfg?.kafka;
        if (!k) {
          if (kafkaEnv.length) p.push(`${id(d, c)}: Kafka variables (${kafkaEnv.join(", ")}) without a kafka section in config.yaml`);
          continue;
        }
        if (k.sasl) passwordFromSecret(d, c, "FLEETMESH__KAFKA__SASL__PASSWORD");
        else if (envEntry(c, "FLEETMESH__KAFKA__SASL__PASSWORD")) p.push(`${id(d, c)}: FLEETMESH__KAFKA__SASL__PASSWORD without kafka.sasl`);
        const brokers = Array.isArray(k.brokers) ? k.brokers : String(k.brokers ?? "").split(",").filter(Boolean);
        common(d, c, { brokers, tls: k.tls?.enabled === true, caFile: k.tls?.caFile, mechanism: k.sasl?.mechanism, username: k.sasl?.username });
      }
      for (const j of docs.filter((o) => o.kind === "Job" && o.spec?.template?.spec?.containers?.[0]?.args?.[0] === "create-topics")) {
        const c = j.spec.template.spec.containers[0];
        const env = envValues(c);
        const tls = env.FLEET_KAFKA_TLS === "true";
        if (env.FLEET_KAFKA_TLS !== undefined && env.FLEET_KAFKA_TLS !== "true") p.push(`${id(j, c)}: FLEET_KAFKA_TLS is '${env.FLEET_KAFKA_TLS}' (set it to true, or leave it out)`);
        const mechanism = env.FLEET_KAFKA_SASL_MECHANISM;
        if (mechanism !== undefined) passwordFromSecret(j, c, "FLEET_KAFKA_SASL_PASSWORD");
        else if (envEntry(c, "FLEET_KAFKA_SASL_PASSWORD")) p.push(`${id(j, c)}: FLEET_KAFKA_SASL_PASSWORD without FLEET_KAFKA_SASL_MECHANISM`);
        if (!env.FLEET_KAFKA_BROKERS) { p.push(`${id(j, c)}: no FLEET_KAFKA_BROKERS`); continue; }
        common(j, c, { brokers: env.FLEET_KAFKA_BROKERS.split(",").map((b) => b.trim()).filter(Boolean), tls, caFile: env.FLEET_KAFKA_TLS_CA_FILE, mechanism, username: env.FLEET_KAFKA_SASL_USERNAME });
      }
      const distinct = [...new Set(views.map((v) => v.key))];
      if (distinct.length > 1) {
        for (const key of distinct) p.push(`Kafka clients disagree: ${views.filter((v) => v.key === key).map((v) => v.who).join(", ")} use ${key}`);
      }
      return p;
    },
  },
  {
    key: "monitoring",
    title: "PodMonitors scrape /metrics on the ops port of every Deployment exactly once (the port its config serves), never a hook Job; the NetworkPolicies admit scrapers from outside the release (networkPolicy.metricsFrom) on that port; no ServiceMonitor",
    run(docs) {
      const p = [];
      for (const sm of docs.filter((o) => o.kind === "ServiceMonitor")) p.push(`ServiceMonitor/${sm.metadata?.name}: its service target label (the Service's name) would replace the processes' own service label; use a PodMonitor`);
      const pms = docs.filter((o) => o.kind === "PodMonitor");
      if (pms.length === 0) return p;
      const endpoints = pms.flatMap((pm) => {
        if (pm.apiVersion !== "monitoring.coreos.com/v1") p.push(`PodMonitor/${pm.metadata?.name}: apiVersion ${pm.apiVersion}`);
        const nsSel = pm.spec?.namespaceSelector;
        const inNs = (o) => (nsSel?.any === true) || (nsSel?.matchNames ? nsSel.matchNames.includes(o.metadata?.namespace) : o.metadata?.namespace === pm.metadata?.namespace);
        const eps = pm.spec?.podMetricsEndpoints ?? [];
        if (eps.length === 0) p.push(`PodMonitor/${pm.metadata?.name}: no podMetricsEndpoints`);
        return eps.map((ep, i) => ({ pm, ep, where: `PodMonitor/${pm.metadata?.name} endpoint ${i}`, selects: (w) => inNs(w) && matches(pm.spec?.selector, w.spec?.template?.metadata?.labels) }));
      });
      for (const { ep, where } of endpoints) {
        if ((ep.path ?? "/metrics") !== "/metrics") p.push(`${where}: path ${ep.path}; the processes serve /metrics`);
        if ((ep.scheme ?? "http") !== "http") p.push(`${where}: scheme ${ep.scheme}; the ops port is plain HTTP`);
        const interval = durationSeconds(ep.interval ?? "30s");
        const timeout = durationSeconds(ep.scrapeTimeout ?? "10s");
        if (interval === undefined || timeout === undefined) p.push(`${where}: interval ${ep.interval} / scrapeTimeout ${ep.scrapeTimeout} are not durations`);
        else if (timeout > interval) p.push(`${where}: scrapeTimeout ${ep.scrapeTimeout} is longer than interval ${ep.interval}`);
      }
      const nps = docs.filter((o) => o.kind === "NetworkPolicy");
      for (const d of deployments(docs)) {
        const c = d.spec.template.spec.containers[0];
        const portOf = (ep) => (c.ports ?? []).find((x) => (ep.port !== undefined && x.name === ep.port) || (ep.portNumber !== undefined && x.containerPort === ep.portNumber));
        const scraped = endpoints.filter((e) => e.selects(d) && portOf(e.ep));
        if (scraped.length !== 1) { p.push(`${id(d)}: scraped by ${scraped.length} PodMonitor endpoints (${scraped.map((e) => e.where).join(", ") || "none selects its pods and names one of its ports"})`); continue; }
        const cp = portOf(scraped[0].ep);
        let ops;
        try { ops = parse(configTextOf(d, docs) ?? "")?.ops?.port; } catch { ops = undefined; /* app-config reports it */ }
        if (cp.name !== "ops") p.push(`${id(d)}: scraped on port ${cp.name ?? cp.containerPort}, not ops (where /metrics is served)`);
        else if (ops !== undefined && cp.containerPort !== ops) p.push(`${id(d)}: scraped on ${cp.containerPort}, but its config serves the ops port on ${ops}`);
        // Isolated by an ingress policy: some rule must admit that port from a peer outside the release's own pods.
        const ingress = nps.filter((np) => (np.spec?.policyTypes ?? []).includes("Ingress") && np.metadata?.namespace === d.metadata?.namespace && matches(np.spec?.podSelector, d.spec.template.metadata.labels));
        if (ingress.length && !ingress.some((np) => (np.spec?.ingress ?? []).some((r) => portAdmits(r.ports, cp) && (r.from ?? []).some((peer) => !releasePeer(peer))))) {
          p.push(`${id(d)}: no ingress rule admits a scraper on port ${cp.name ?? ""} ${cp.containerPort} (networkPolicy.metricsFrom)`);
        }
      }
      for (const j of docs.filter((o) => o.kind === "Job")) {
        const hit = endpoints.find((e) => e.selects(j));
        if (hit) p.push(`${id(j)}: selected by ${hit.where} (hook Jobs serve no metrics)`);
      }
      return p;
    },
    summary(docs) {
      const pms = docs.filter((o) => o.kind === "PodMonitor");
      return pms.length ? `${pms.length} PodMonitor, ${deployments(docs).length} processes scraped on ops` : "no PodMonitor rendered";
    },
  },
  {
    key: "alerts",
    title: `PrometheusRule alerts: a severity label, summary and description, a runbook_url to an existing heading of ${RUNBOOK_DOC}; expressions read only metrics and labels the code registers (${SOURCE_HINT}), code values that are gRPC status names, and only the release's namespace`,
    run(docs) {
      return docs.filter((o) => o.kind === "PrometheusRule").flatMap((r) => ruleProblems(r));
    },
    summary(docs) {
      const rules = docs.filter((o) => o.kind === "PrometheusRule");
      const alerts = rules.flatMap((r) => (r.spec?.groups ?? []).flatMap((g) => g.rules ?? [])).filter((r) => r.alert);
      return rules.length ? `${alerts.length} alerts on ${new Set(alerts.flatMap((r) => promqlRefs(r.expr).selectors.map((x) => baseMetric(x.metric)))).size} of the code's ${catalog.metrics.size} metrics` : "no PrometheusRule rendered";
    },
  },
  {
    key: "service-accounts",
    title: "ServiceAccounts do not mount API tokens (pods and accounts)",
    run(docs) {
      const p = [];
      for (const sa of docs.filter((o) => o.kind === "ServiceAccount")) if (sa.automountServiceAccountToken !== false) p.push(`ServiceAccount/${sa.metadata?.name}: automountServiceAccountToken is not false`);
      for (const w of workloads(docs)) if (podSpecOf(w).automountServiceAccountToken !== false) p.push(`${id(w)}: automountServiceAccountToken is not false`);
      return p;
    },
  },
  {
    key: "peers",
    title: "service peers: a registered service calls exactly its peers of services/registry.yaml, each at a Service of the release whose gRPC port the NetworkPolicies admit (its egress, the peer's ingress); a service credential (serviceCredential) names a peer as issuer, a client id identity issues (svc_ + 32 hex), and its secret only as FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET from a secretKeyRef, never in config.yaml",
    run(docs) {
      const p = [];
      for (const d of deployments(docs)) {
        const name = componentOf(d);
        if (name === "gateway") continue;
        const c = d.spec.template.spec.containers[0];
        let cfg;
        try { cfg = parse(configTextOf(d, docs) ?? "") ?? {}; } catch { continue; /* app-config reports it */ }
        const peers = cfg.peers ?? {};
        const registered = registeredPeers.get(name);
        if (registered) {
          const have = Object.keys(peers).sort().join(", ");
          const want = [...registered].sort().join(", ");
          if (have !== want) p.push(`${id(d)}: calls [${have}], services/registry.yaml says [${want}] (components.${name}.peers)`);
        }
        for (const [peer, pc] of Object.entries(peers)) {
          if (pc?.enabled === false) continue;
          const [host, port] = String(pc?.address ?? "").split(":");
          const svc = serviceOfHost(docs, host);
          const target = svc && serviceTarget(docs, svc, Number(port));
          if (!target) { p.push(`${id(d)}: peer ${peer} at ${pc?.address} is no gRPC port of a Service in the release`); continue; }
          if (componentOf(target.deployment) !== peer || target.port.name !== "grpc") p.push(`${id(d)}: peer ${peer} at ${pc.address} lands on ${componentOf(target.deployment)}'s ${target.port.name ?? target.port.containerPort} port`);
          for (const why of blockedConnection(docs, d, target.deployment, target.port)) p.push(`${id(d)}: peer ${peer}: ${why}`);
        }
        const sc = cfg.serviceCredential;
        const secretEnv = envEntry(c, "FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET");
        const idEnv = envEntry(c, "FLEETMESH__SERVICE_CREDENTIAL__CLIENT_ID");
        if (sc?.clientSecret !== undefined) p.push(`${id(d)}: serviceCredential.clientSecret is in config.yaml (a ConfigMap)`);
        if (secretEnv && !secretEnv.valueFrom?.secretKeyRef) p.push(`${id(d)}: FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET is not from a secretKeyRef`);
        const clientId = idEnv?.value ?? sc?.clientId;
        if (sc === undefined && idEnv === undefined) {
          if (secretEnv) p.push(`${id(d)}: a client secret without serviceCredential.clientId (the process refuses its config)`);
          continue;
        }
        if (!/^svc_[0-9a-f]{32}$/.test(String(clientId ?? ""))) p.push(`${id(d)}: serviceCredential.clientId ${clientId} is not a client id identity issues (svc_ + 32 hex digits)`);
        if (!secretEnv) p.push(`${id(d)}: serviceCredential without FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET from a Secret`);
        const issuer = sc?.issuer ?? "identity";
        if (!peers[issuer] || peers[issuer].enabled === false) p.push(`${id(d)}: serviceCredential.issuer ${issuer} is not an enabled peer`);
      }
      return p;
    },
    summary(docs) {
      const parts = [];
      for (const d of deployments(docs)) {
        const name = componentOf(d);
        let cfg;
        try { cfg = parse(configTextOf(d, docs) ?? "") ?? {}; } catch { cfg = {}; }
        const peers = Object.keys(cfg.peers ?? {});
        if (name === "gateway" || peers.length === 0) continue;
        const ref = envEntry(d.spec.template.spec.containers[0], "FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET")?.valueFrom?.secretKeyRef;
        parts.push(`${name} -> ${peers.join("+")} (${cfg.serviceCredential ? `credential ${cfg.serviceCredential.clientId}, secret ${ref?.name}/${ref?.key}` : "no serviceCredential"})`);
      }
      return parts.join("; ") || "no service calls peers";
    },
  },
];

// ---------------------------------------------------------------- output --
let passed = 0;
let failed = 0;
const line = (ok, label, text, problems = []) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${label.padEnd(9)} ${text}`);
  for (const pr of problems.slice(0, 12)) console.log(`       - ${pr}`);
  if (problems.length > 12) console.log(`       - ... ${problems.length - 12} more`);
};

async function runChecks(label, docs) {
  for (const check of CHECKS) {
    const problems = await check.run(docs);
    line(problems.length === 0, label, `${check.key}: ${check.summary && problems.length === 0 ? check.summary(docs) : check.title}`, problems);
  }
}

// ------------------------------------------------------ the value sets --
const sets = args.rendered.length
  ? args.rendered.map((r) => {
      const [label, file] = r.split("=");
      return { label, docs: loadAll(readFileSync(file, "utf8")) };
    })
  : await Promise.all(
      [
        { label: "default", values: [] },
        { label: "eks", values: [join(args.chart, "values-eks.yaml")] },
        { label: "full", values: [join(args.chart, "values-eks.yaml"), join(args.chart, "ci/full-values.yaml")] },
        { label: "jwks", values: [join(args.chart, "values-eks.yaml"), join(args.chart, "ci/full-values.yaml"), join(args.chart, "ci/jwks-identity-values.yaml")] },
      ].map(async ({ label, values }) => {
        const r = await render(values);
        if (r.error) throw new Error(`helm template (${label}) failed: ${r.error}`);
        return { label, docs: r.docs };
      }),
    );
for (const { label, docs } of sets) await runChecks(label, docs);
// The shipped value sets deploy every service the code has (a deployment may
// still run one elsewhere, e.g. identity outside the release, by choice).
for (const { label, docs } of sets) {
  const problems = undeployedServices(docs);
  line(problems.length === 0, label, `registry: ${problems.length === 0 ? `${registeredServices.join(", ")} deployed` : "every service of services/registry.yaml deployed"}`, problems);
}
{
  const r = await render([{ components: { fleet: { enabled: false } } }]);
  const caught = r.error === undefined && undeployedServices(r.docs).length > 0;
  line(caught, "negative", `values with a registered service disabled: ${caught ? "caught by registry" : "NOT caught by registry"}`, []);
}

// -------------------------------------------------- negative self-tests --
// Each bad input must make the named check(s) fail, or be refused by the chart
// itself (helm template fails with the given message). A self-test "passes"
// when the bad input is caught.
const base = sets[0].docs;
// Kafka mutations start from the render with TLS, SASL/SCRAM and a CA bundle (values-eks.yaml + ci/full-values.yaml).
const docsOf = (label) => {
  const set = sets.find((x) => x.label === label);
  if (!set) throw new Error(`the negative self-tests need the '${label}' render (--rendered ${label}=...)`);
  return set.docs;
};
const mutate = (fn, from = base) => {
  const docs = structuredClone(from);
  fn(docs);
  return docs;
};
const service = (docs, name) => docs.find((o) => o.kind === "Deployment" && o.metadata?.labels?.["app.kubernetes.io/component"] === name);
const topicJob = (docs) => docs.find((o) => o.kind === "Job" && o.spec.template.spec.containers[0].args?.[0] === "create-topics");
const firstDeployment = (docs) => docs.find((o) => o.kind === "Deployment");
// Token keys (auth.jwks.source identity): the render with every process on identity's JWKS endpoint.
const configMapOf = (docs, name) => docs.find((o) => o.kind === "ConfigMap" && o.metadata.name === service(docs, name).spec.template.spec.volumes.find((v) => v.name === "config").configMap.name);
const editConfig = (docs, name, fn) => { const cm = configMapOf(docs, name); const cfg = parse(cm.data["config.yaml"]); fn(cfg); cm.data["config.yaml"] = stringify(cfg); };
const policyOf = (docs, name) => docs.find((o) => o.kind === "NetworkPolicy" && o.metadata?.labels?.["app.kubernetes.io/component"] === name);
const opsPortOf = (docs, name) => docs.find((o) => o.kind === "Service" && o.metadata?.labels?.["app.kubernetes.io/component"] === name).spec.ports.find((x) => x.name === "ops").port;
const isJwksIngress = (r) => (r.ports ?? []).some((x) => x.port === "ops") && (r.from ?? []).every((peer) => peer.podSelector && !peer.namespaceSelector);
// Monitoring (ci/full-values.yaml): the PodMonitor, the PrometheusRule and one alert of it.
const podMonitorOf = (docs) => docs.find((o) => o.kind === "PodMonitor");
const ruleOf = (docs) => docs.find((o) => o.kind === "PrometheusRule");
const alertOf = (docs, name) => ruleOf(docs).spec.groups.flatMap((g) => g.rules).find((r) => r.alert === name);
const editExpr = (docs, name, from, to) => {
  const r = alertOf(docs, name);
  if (!r.expr.includes(from)) throw new Error(`${name}: ${from} not in ${r.expr}`);
  r.expr = r.expr.replaceAll(from, to);
};
/** The code's metrics after a textual change to one source file (a rename in the code). */
const catalogWith = (path, from, to) => metricsFromSources(readSources(repo).map((f) => {
  if (f.path !== path) return f;
  if (!f.text.includes(from)) throw new Error(`${path}: ${from} not found`);
  return { path, text: f.text.replaceAll(from, to) };
}));
const failing = async (docs) => {
  const out = [];
  for (const c of CHECKS) if ((await c.run(docs)).length > 0) out.push(c.key);
  return out;
};

const NEGATIVE = [
  // Rendered with bad values: the policy must catch what the chart lets through.
  { what: "values without resources", values: { componentDefaults: { resources: null, memory: { autoSize: false } }, components: { gateway: { resources: null } }, hooks: { resources: null } }, expect: ["resources"] },
  { what: "values with a root, writable, escalating container", values: { podSecurityContext: { runAsNonRoot: false, runAsUser: 0 }, securityContext: { runAsNonRoot: false, runAsUser: 0, readOnlyRootFilesystem: false, allowPrivilegeEscalation: true, capabilities: { drop: [] } } }, expect: ["pod-security"] },
  { what: "values with autoscaling and PDBs off", values: { componentDefaults: { autoscaling: { enabled: false }, podDisruptionBudget: { enabled: false } }, components: { gateway: { autoscaling: { enabled: false } } } }, expect: ["pdb-hpa"] },
  { what: "values with network policies off", values: { networkPolicy: { enabled: false } }, expect: ["network-policy"] },
  { what: "values with a DB URL holding a password in env", values: { components: { fleet: { extraEnv: [{ name: "DATABASE_URL", value: "postgres://fleet_app:hunter2@db:5432/fleet" }] } } }, expect: ["secrets"] },
  { what: "values with maxUnavailable 1 and a short grace period", values: { componentDefaults: { strategy: { rollingUpdate: { maxUnavailable: 1 } } }, components: { fleet: { preStopSleepSeconds: 0 } } }, expect: ["rollout"] },
  { what: "values with an unknown config key", values: { components: { fleet: { config: { grpc: { prot: 1 } } } } }, expect: ["app-config"] },
  // Refused by the chart's own guards.
  { what: "values with image tag latest", values: { image: { tag: "latest" } }, refused: /image\.tag "latest" is not allowed/ },
  { what: "values with a plain-text password env var", values: { components: { fleet: { extraEnv: [{ name: "DB_PASSWORD", value: "hunter2" }] } } }, refused: /secrets must use valueFrom\.secretKeyRef/ },
  { what: "values with a password in the config file", values: { components: { fleet: { config: { database: { password: "hunter2" } } } } }, refused: /secrets are not accepted in values/ },
  { what: "values without a Secret reference", values: { components: { fleet: { database: { appPasswordSecret: { name: "" } } } } }, refused: /a Secret reference \{name, key\} is required/ },
  { what: "values with a grace period shorter than the drain", values: { components: { fleet: { terminationGracePeriodSeconds: 15 } } }, refused: /must exceed preStopSleepSeconds/ },
  { what: "values with private key material in the inline JWKS", values: { auth: { jwks: { source: "file", inline: JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "private" }] }) } } }, refused: /private key material/ },
  { what: "values with the RSA primes (no d) in the inline JWKS", values: { auth: { jwks: { source: "file", inline: JSON.stringify({ keys: [{ kty: "RSA", n: "n", e: "AQAB", qi: "x" }] }) } } }, refused: /private key material \(qi\)/ },
  // Peers and service credentials (components.<name>.peers, .serviceCredential).
  { what: "values with rental's peers other than services/registry.yaml's", values: { components: { rental: { peers: ["fleet"] } } }, expect: ["peers"] },
  { what: "values with a malformed service client id", values: { components: { rental: { serviceCredential: { clientId: "rental" } } } }, refused: /serviceCredential\.clientId "rental": the client_id identity issued/ },
  { what: "values with a service client id but no Secret reference", values: { components: { rental: { serviceCredential: { clientId: `svc_${"0".repeat(32)}`, clientSecretSecret: { name: "" } } } } }, refused: /serviceCredential\.clientSecretSecret: a Secret reference \{name, key\} is required/ },
  { what: "values with a service credential but identity not a peer", values: { components: { rental: { peers: ["fleet"], serviceCredential: { clientId: `svc_${"0".repeat(32)}` } } } }, refused: /tokens come from identity, which is not in components\.rental\.peers/ },
  { what: "manifest with rental's client secret as a plain value", docs: () => mutate((d) => { const c = service(d, "rental").spec.template.spec.containers[0]; c.env = c.env.map((e) => (e.name === "FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET" ? { name: e.name, value: "fmcs_leaked" } : e)); }, docsOf("eks")), expect: ["peers", "secrets"] },
  { what: "manifest with rental's client secret in its config.yaml", docs: () => mutate((d) => editConfig(d, "rental", (cfg) => { cfg.serviceCredential.clientSecret = "fmcs_leaked"; }), docsOf("eks")), expect: ["peers"] },
  { what: "manifest with rental's egress to identity's gRPC port removed", docs: () => mutate((d) => { const np = policyOf(d, "rental"); np.spec.egress = np.spec.egress.filter((r) => !(r.to ?? []).some((peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/component"] === "identity" && (r.ports ?? []).some((x) => x.port === 50064 || x.port === "grpc"))); }, docsOf("eks")), expect: ["peers"] },
  { what: "values with maintenance's peers other than services/registry.yaml's (rental missing)", values: { components: { maintenance: { peers: ["identity", "fleet"] } } }, expect: ["peers"] },
  { what: "manifest with maintenance's egress to rental's gRPC port removed", docs: () => mutate((d) => { const np = policyOf(d, "maintenance"); np.spec.egress = np.spec.egress.filter((r) => !(r.to ?? []).some((peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/component"] === "rental" && (r.ports ?? []).some((x) => x.port === 50062 || x.port === "grpc"))); }, docsOf("eks")), expect: ["peers"] },
  { what: "manifest with rental's ingress from maintenance removed", docs: () => mutate((d) => { const np = policyOf(d, "rental"); np.spec.ingress = np.spec.ingress.map((r) => ({ ...r, from: (r.from ?? []).filter((peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/component"] !== "maintenance") })).filter((r) => r.from.length > 0); }, docsOf("eks")), expect: ["peers"] },
  { what: "manifest with maintenance's client secret in its config.yaml", docs: () => mutate((d) => editConfig(d, "maintenance", (cfg) => { cfg.serviceCredential.clientSecret = "fmcs_leaked"; }), docsOf("eks")), expect: ["peers"] },
  // Kafka TLS/SASL (kafka.tls, kafka.sasl).
  { what: "values with Kafka brokers on the TLS port but egress still on 9092", values: { kafka: { brokers: "kafka:9094", tls: { enabled: true } } }, expect: ["kafka"] },
  { what: "values with a Kafka SASL mechanism but no username", values: { kafka: { tls: { enabled: true }, sasl: { mechanism: "scram-sha-512", username: "", passwordSecret: { name: "fleet-mesh-kafka", key: "password" } } } }, refused: /kafka\.sasl\.username is required/ },
  { what: "values with a Kafka SASL mechanism but no password Secret reference", values: { kafka: { tls: { enabled: true }, sasl: { mechanism: "scram-sha-512", username: "fleetmesh", passwordSecret: { name: "" } } } }, refused: /kafka\.sasl\.passwordSecret: a Secret reference \{name, key\} is required/ },
  { what: "values with an unsupported Kafka SASL mechanism (AWS IAM)", values: { kafka: { tls: { enabled: true }, sasl: { mechanism: "aws-msk-iam", username: "fleetmesh", passwordSecret: { name: "fleet-mesh-kafka", key: "password" } } } }, refused: /kafka\.sasl\.mechanism "aws-msk-iam" is not supported/ },
  { what: "values with Kafka SASL PLAIN without TLS", values: { kafka: { sasl: { mechanism: "plain", username: "fleetmesh", passwordSecret: { name: "fleet-mesh-kafka", key: "password" } } } }, refused: /plain sends the password in clear text/ },
  { what: "values with the Kafka password itself", values: { kafka: { tls: { enabled: true }, sasl: { mechanism: "scram-sha-512", username: "fleetmesh", password: "hunter2", passwordSecret: { name: "fleet-mesh-kafka", key: "password" } } } }, refused: /kafka\.sasl\.password: secrets are not accepted in values/ },
  { what: "values with a Kafka CA bundle but TLS off", values: { kafka: { tls: { enabled: false, caSecret: { name: "kafka-ca", key: "ca.pem" } } } }, refused: /kafka\.tls\.caSecret is set but kafka\.tls\.enabled is false/ },
  { what: "manifest with a service missing its Kafka password", docs: () => mutate((d) => { const c = service(d, "fleet").spec.template.spec.containers[0]; c.env = c.env.filter((e) => e.name !== "FLEETMESH__KAFKA__SASL__PASSWORD"); }, docsOf("full")), expect: ["kafka", "app-config"] },
  { what: "manifest with SASL PLAIN over plaintext in the topic Job", docs: () => mutate((d) => { const c = topicJob(d).spec.template.spec.containers[0]; c.env = c.env.filter((e) => !e.name.startsWith("FLEET_KAFKA_TLS")); c.env.find((e) => e.name === "FLEET_KAFKA_SASL_MECHANISM").value = "plain"; }, docsOf("full")), expect: ["kafka"] },
  { what: "manifest with the topic Job's Kafka CA not mounted", docs: () => mutate((d) => { const c = topicJob(d).spec.template.spec.containers[0]; c.volumeMounts = c.volumeMounts.filter((m) => m.name !== "kafka-ca"); }, docsOf("full")), expect: ["kafka"] },
  { what: "manifest with Kafka credentials on the gateway", docs: () => mutate((d) => { service(d, "gateway").spec.template.spec.containers[0].env.push({ name: "FLEETMESH__KAFKA__SASL__PASSWORD", valueFrom: { secretKeyRef: { name: "fleet-mesh-kafka", key: "password" } } }); }, docsOf("full")), expect: ["kafka"] },
  { what: "manifest with a service on other Kafka settings than the topic Job", docs: () => mutate((d) => { const cm = d.find((o) => o.kind === "ConfigMap" && o.metadata.name === service(d, "fleet").spec.template.spec.volumes.find((v) => v.name === "config").configMap.name); const cfg = parse(cm.data["config.yaml"]); cfg.kafka.sasl.mechanism = "scram-sha-256"; cm.data["config.yaml"] = stringify(cfg); }, docsOf("full")), expect: ["kafka"] },
  // Token verification keys (auth.jwks).
  { what: "values with auth.jwks.source identity but identity not enabled and no url", values: { components: { identity: { enabled: false } }, auth: { jwks: { source: "identity" } } }, refused: /auth\.jwks\.source identity .* components\.identity is not enabled/ },
  { what: "values with an unknown auth.jwks.source", values: { auth: { jwks: { source: "configmap" } } }, refused: /auth\.jwks\.source "configmap": use file .* or identity/ },
  { what: "values with auth.jwks.url but source file", values: { auth: { jwks: { source: "file", url: "https://identity.example.com/.well-known/jwks.json" } } }, refused: /auth\.jwks\.url is read only with auth\.jwks\.source: identity/ },
  { what: "values with an inline JWKS and source identity", values: { components: { identity: { enabled: true } }, auth: { jwks: { source: "identity", inline: JSON.stringify({ keys: [] }) } } }, refused: /auth\.jwks\.inline is a JWKS file, which source: identity does not read/ },
  { what: "values with credentials in auth.jwks.url", values: { auth: { jwks: { source: "identity", url: "https://fleet:hunter2@identity.example.com/.well-known/jwks.json" } } }, refused: /auth\.jwks\.url .*without credentials/ },
  { what: "values with a JWKS re-read period under 10 s", values: { components: { identity: { enabled: true } }, auth: { jwks: { source: "identity", cacheSec: 5 } } }, refused: /auth\.jwks\.cacheSec 5 .*at least 10/ },
  { what: "values with an external auth.jwks.url whose port no egress rule opens", values: { auth: { jwks: { source: "identity", url: "https://identity.example.com/.well-known/jwks.json" } } }, expect: ["jwks"] },
  { what: "manifest with fleet's jwksUrl at its own ops port", docs: () => mutate((d) => { editConfig(d, "fleet", (cfg) => { cfg.auth.jwksUrl = cfg.auth.jwksUrl.replace("-identity.", "-fleet.").replace(`:${opsPortOf(d, "identity")}/`, `:${opsPortOf(d, "fleet")}/`); }); }, docsOf("jwks")), expect: ["jwks"] },
  { what: "manifest with the gateway's jwksUrl at identity's gRPC port", docs: () => mutate((d) => { editConfig(d, "gateway", (cfg) => { cfg.auth.jwksUrl = cfg.auth.jwksUrl.replace(`:${opsPortOf(d, "identity")}/`, `:${service(d, "identity").spec.template.spec.containers[0].ports.find((x) => x.name === "grpc").containerPort}/`); }); }, docsOf("jwks")), expect: ["jwks"] },
  { what: "manifest with fleet's egress to identity's JWKS missing", docs: () => mutate((d) => { const np = policyOf(d, "fleet"); np.spec.egress = np.spec.egress.filter((r) => !(r.ports ?? []).some((x) => x.port === opsPortOf(d, "identity"))); }, docsOf("jwks")), expect: ["jwks"] },
  { what: "manifest with identity's JWKS ingress missing", docs: () => mutate((d) => { const np = policyOf(d, "identity"); np.spec.ingress = np.spec.ingress.filter((r) => !isJwksIngress(r)); }, docsOf("jwks")), expect: ["jwks"] },
  { what: "manifest with identity's JWKS ingress not admitting the gateway", docs: () => mutate((d) => { const r = policyOf(d, "identity").spec.ingress.find(isJwksIngress); r.from = r.from.filter((peer) => peer.podSelector.matchLabels["app.kubernetes.io/component"] !== "gateway"); }, docsOf("jwks")), expect: ["jwks"] },
  { what: "manifest with the JWKS file volume not mounted", docs: () => mutate((d) => { const c = firstDeployment(d).spec.template.spec.containers[0]; c.volumeMounts = c.volumeMounts.filter((m) => m.name !== "jwks"); }, docsOf("full")), expect: ["jwks"] },
  // Memory sizing (componentDefaults.memory, components.<name>.memory).
  { what: "values with the heap sized past the limit (oldSpacePercent 90)", values: { componentDefaults: { memory: { oldSpacePercent: 90 } } }, refused: /leave -?\d+Mi for native memory, less than nativeReserveMi/ },
  { what: "values with NODE_OPTIONS in extraEnv while the chart sizes memory", values: { components: { gateway: { extraEnv: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=4096" }] } } }, refused: /extraEnv NODE_OPTIONS: the chart sets it from resources\.limits\.memory/ },
  { what: "values with a memory limit the chart cannot read", values: { components: { gateway: { resources: { limits: { memory: "0.5Gi" } } } } }, refused: /memory "0\.5Gi": use a whole number/ },
  { what: "values with memory sizing off and no NODE_OPTIONS", values: { componentDefaults: { memory: { autoSize: false } } }, expect: ["memory"] },
  { what: "values with memory sizing off and a heap larger than the limit", values: { components: { gateway: { memory: { autoSize: false }, extraEnv: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=480 --max-semi-space-size=16" }, { name: "MALLOC_ARENA_MAX", value: "2" }] } } }, expect: ["memory"] },
  { what: "manifest with the memory limit lowered under the rendered heap", docs: () => mutate((d) => { firstDeployment(d).spec.template.spec.containers[0].resources.limits.memory = "256Mi"; }), expect: ["memory"] },
  { what: "manifest without MALLOC_ARENA_MAX", docs: () => mutate((d) => { const c = firstDeployment(d).spec.template.spec.containers[0]; c.env = c.env.filter((e) => e.name !== "MALLOC_ARENA_MAX"); }), expect: ["memory"] },
  { what: "manifest with NODE_OPTIONS without a semi-space limit", docs: () => mutate((d) => { const e = envEntry(firstDeployment(d).spec.template.spec.containers[0], "NODE_OPTIONS"); e.value = e.value.replace(/ ?--max-semi-space-size=\d+/, ""); }), expect: ["memory"] },
  // A token issuer for the gateway (components.identity).
  { what: "values with the gateway but identity disabled (JWKS file)", values: { components: { identity: { enabled: false } }, auth: { jwks: { source: "file" } } }, expect: ["token-issuer"] },
  { what: "values with identity's issuer other than the verifiers' auth.issuer", values: { components: { identity: { config: { tokens: { issuer: "https://identity.other.example.com" } } } } }, expect: ["token-issuer"] },
  { what: "values with identity's signing keys from a ConfigMap", values: { components: { identity: { extraVolumes: [{ name: "signing-keys", configMap: { name: "identity-keys", items: [{ key: "signing-keys.pem", path: "signing-keys.pem" }] } }] } } }, expect: ["token-issuer"] },
  { what: "values with identity's Redis on the pod's loopback", values: { components: { identity: { config: { redis: { url: "redis://127.0.0.1:6379" } } } } }, expect: ["token-issuer"] },
  { what: "values with identity's Redis on a port the egress policies do not open", values: { components: { identity: { config: { redis: { url: "redis://redis:6380" } } } } }, expect: ["token-issuer"] },
  { what: "manifest with identity's signing keys not mounted", docs: () => mutate((d) => { const c = service(d, "identity").spec.template.spec.containers[0]; c.volumeMounts = c.volumeMounts.filter((m) => m.name !== "signing-keys"); }), expect: ["token-issuer"] },
  { what: "manifest with identity removed", docs: () => mutate((d) => { const gone = service(d, "identity"); d.splice(d.indexOf(gone), 1); editConfig(d, "gateway", (cfg) => { cfg.auth.jwksUrl = undefined; }); }), expect: ["token-issuer"] },
  // Manifests altered after rendering: the policy's own detection.
  { what: "manifest with image :latest", docs: () => mutate((d) => { const c = firstDeployment(d).spec.template.spec.containers[0]; c.image = c.image.replace(/:[^:@/]+(@.*)?$/, ":latest"); }), expect: ["image-tags"] },
  { what: "manifest with an untagged image", docs: () => mutate((d) => { const c = firstDeployment(d).spec.template.spec.containers[0]; c.image = "fleet-mesh"; }), expect: ["image-tags"] },
  { what: "manifest without a readiness probe", docs: () => mutate((d) => { delete firstDeployment(d).spec.template.spec.containers[0].readinessProbe; }), expect: ["probes"] },
  { what: "manifest with a Secret object", docs: () => mutate((d) => { d.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "leak" }, data: { password: "aHVudGVyMg==" } }); }), expect: ["secrets"] },
  { what: "manifest with a password env value", docs: () => mutate((d) => { firstDeployment(d).spec.template.spec.containers[0].env.push({ name: "FLEETMESH__DATABASE__PASSWORD", value: "hunter2" }); }), expect: ["secrets"] },
  { what: "manifest with a hook-less migration Job", docs: () => mutate((d) => { delete d.find((o) => o.kind === "Job").metadata.annotations; }), expect: ["hooks"] },
  { what: "manifest with an allow-all egress rule", docs: () => mutate((d) => { d.find((o) => o.kind === "NetworkPolicy" && (o.spec.egress ?? []).length).spec.egress.push({ ports: [{ port: 443 }] }); }), expect: ["network-policy"] },
  // Monitoring (monitoring.podMonitor, monitoring.prometheusRule).
  { what: "values with a PodMonitor and network policies but no metricsFrom", values: { monitoring: { podMonitor: { enabled: true } }, networkPolicy: { metricsFrom: [] } }, refused: /empty networkPolicy\.metricsFrom/ },
  { what: "values with an alert the chart does not have", values: { monitoring: { prometheusRule: { enabled: true, alerts: { OutboxBacklogAgeing: { enabled: true } } } } }, refused: /alerts\.OutboxBacklogAgeing: no such alert/ },
  { what: "values with a consume-lag threshold at the histogram's largest bucket", values: { monitoring: { prometheusRule: { enabled: true, alerts: { EventsConsumeLagHigh: { threshold: 60 } } } } }, refused: /EventsConsumeLagHigh\.threshold 60 must be below 60 s/ },
  { what: "values with Connect code names in RpcServerErrorsHigh.codes", values: { monitoring: { prometheusRule: { enabled: true, alerts: { RpcServerErrorsHigh: { codes: ["Internal"] } } } } }, refused: /Internal is not a gRPC status name/ },
  { what: "values with an alert's for not a duration", values: { monitoring: { prometheusRule: { enabled: true, alerts: { DbPoolExhausted: { for: "5 minutes" } } } } }, refused: /DbPoolExhausted\.for "5 minutes": a Prometheus duration/ },
  { what: "values with a threshold given as a string", values: { monitoring: { prometheusRule: { enabled: true, alerts: { OutboxBacklogAging: { threshold: "60" } } } } }, refused: /OutboxBacklogAging\.threshold 60: a number is required/ },
  { what: "manifest with an alert on a metric the code does not register", docs: () => mutate((d) => editExpr(d, "OutboxBacklogAging", "outbox_oldest_unpublished_seconds", "outbox_oldest_unpublished_age_seconds"), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an alert grouping by a label its metric lacks", docs: () => mutate((d) => editExpr(d, "RpcLatencyHigh", "by (namespace, service, le)", "by (namespace, service, partition, le)"), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an alert matching on a label its metric lacks", docs: () => mutate((d) => editExpr(d, "DbPoolExhausted", 'state="waiting"', 'status="waiting"'), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with a db_pool_connections state the code never writes", docs: () => mutate((d) => editExpr(d, "DbPoolExhausted", 'state="waiting"', 'state="pending"'), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with Connect code names (Internal) in RpcServerErrorsHigh", docs: () => mutate((d) => editExpr(d, "RpcServerErrorsHigh", "INTERNAL", "Internal"), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an expression not scoped to the release's namespace", docs: () => mutate((d) => editExpr(d, "OutboxNoActiveRelay", `namespace="${args.namespace}",`, ""), docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an alert without a severity label", docs: () => mutate((d) => { delete alertOf(d, "EventsDeadLettered").labels.severity; }, docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an alert without a description", docs: () => mutate((d) => { delete alertOf(d, "EventsDeadLettered").annotations.description; }, docsOf("full")), expect: ["alerts"] },
  { what: "manifest with an alert without a runbook_url", docs: () => mutate((d) => { delete alertOf(d, "OutboxPublishFailing").annotations.runbook_url; }, docsOf("full")), expect: ["alerts"] },
  { what: `manifest with a runbook_url anchor ${RUNBOOK_DOC} does not have`, docs: () => mutate((d) => { alertOf(d, "OutboxPublishFailing").annotations.runbook_url += "-typo"; }, docsOf("full")), expect: ["alerts"] },
  { what: "code with outbox_oldest_unpublished_seconds renamed (alerts unchanged)", check: () => ruleProblems(ruleOf(docsOf("full")), catalogWith("services/platform/src/events/outbox-relay.ts", '"outbox_oldest_unpublished_seconds"', '"outbox_oldest_unpublished_age_seconds"')) },
  { what: "code with events_dead_lettered_total's reason label renamed (alerts unchanged)", check: () => ruleProblems(ruleOf(docsOf("full")), catalogWith("services/platform/src/events/consumer.ts", '["topic", "reason"]', '["topic", "cause"]')) },
  { what: "code whose metric registrations can no longer be read", check: () => ruleProblems(ruleOf(docsOf("full")), metricsFromSources([])) },
  { what: "manifest with the PodMonitor on the grpc port", docs: () => mutate((d) => { podMonitorOf(d).spec.podMetricsEndpoints[0].port = "grpc"; }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with the PodMonitor not selecting the gateway", docs: () => mutate((d) => { const e = podMonitorOf(d).spec.selector.matchExpressions[0]; e.values = e.values.filter((v) => v !== "gateway"); }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with a PodMonitor that selects the hook Jobs", docs: () => mutate((d) => { delete podMonitorOf(d).spec.selector.matchExpressions; }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with a second PodMonitor scraping the same pods", docs: () => mutate((d) => { d.push({ ...structuredClone(podMonitorOf(d)), metadata: { ...podMonitorOf(d).metadata, name: "again" } }); }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with a scrapeTimeout longer than the interval", docs: () => mutate((d) => { Object.assign(podMonitorOf(d).spec.podMetricsEndpoints[0], { interval: "10s", scrapeTimeout: "30s" }); }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with fleet's ingress from the scrapers (metricsFrom) missing", docs: () => mutate((d) => { const np = policyOf(d, "fleet"); np.spec.ingress = np.spec.ingress.filter((r) => (r.from ?? []).every(releasePeer)); }, docsOf("full")), expect: ["monitoring"] },
  { what: "manifest with a ServiceMonitor", docs: () => mutate((d) => { d.push({ apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "fleet", namespace: args.namespace }, spec: { selector: {}, endpoints: [{ port: "ops" }] } }); }, docsOf("full")), expect: ["monitoring"] },
];

// Render every bad value set at once (helm runs in parallel), then judge in order.
const rendered = await Promise.all(NEGATIVE.map((n) => (n.values ? render([n.values]) : undefined)));
for (const [i, n] of NEGATIVE.entries()) {
  const label = "negative";
  if (n.check) {
    const got = n.check();
    line(got.length > 0, label, `${n.what}: caught by alerts`, got.length ? [] : ["no problem reported"]);
    continue;
  }
  if (n.refused) {
    const r = rendered[i];
    const ok = r.error !== undefined && n.refused.test(r.error);
    line(ok, label, `${n.what}: refused by the chart`, ok ? [] : [r.error ? `helm failed differently: ${r.error.split("\n").pop()}` : "helm template rendered it"]);
    continue;
  }
  let docs;
  if (n.values) {
    const r = rendered[i];
    if (r.error) { line(false, label, `${n.what}: should render (to be caught by the policy) but helm failed`, [r.error.split("\n").pop()]); continue; }
    docs = r.docs;
  } else {
    docs = n.docs();
  }
  const got = await failing(docs);
  const missed = n.expect.filter((k) => !got.includes(k));
  line(missed.length === 0, label, `${n.what}: caught by ${n.expect.join(", ")}`, missed.map((k) => `check '${k}' did not fail (failing: ${got.join(", ") || "none"})`));
}

// ------------------------------------------------------ positive renders --
// Value sets that must render, pass every check and produce the expected
// wiring (expect returns problems; [] = as expected).
const kafkaView = (docs) => {
  const fleet = service(docs, "fleet");
  const gw = service(docs, "gateway");
  const job = topicJob(docs);
  return {
    cfg: parse(configTextOf(fleet, docs)).kafka,
    svcEnv: envValues(fleet.spec.template.spec.containers[0]),
    svcVolume: fleet.spec.template.spec.volumes.find((v) => v.name === "kafka-ca"),
    jobEnv: envValues(job.spec.template.spec.containers[0]),
    jobVolume: job.spec.template.spec.volumes.find((v) => v.name === "kafka-ca"),
    gwKafka: [...gw.spec.template.spec.containers[0].env.map((e) => e.name).filter((n) => /KAFKA/.test(n)), ...(gw.spec.template.spec.volumes.some((v) => v.name === "kafka-ca") ? ["kafka-ca volume"] : [])],
  };
};
const want = (cond, what) => (cond ? [] : [what]);
const POSITIVE = [
  {
    what: "defaults: plaintext Kafka, no TLS or SASL anywhere",
    values: [],
    expect(docs) {
      const v = kafkaView(docs);
      return [
        ...want(v.cfg.tls === undefined && v.cfg.sasl === undefined, `fleet config kafka has tls/sasl: ${JSON.stringify(v.cfg)}`),
        ...want(!Object.keys(v.svcEnv).some((n) => n.startsWith("FLEETMESH__KAFKA__")) && !v.svcVolume, "fleet has Kafka env or a CA volume"),
        ...want(Object.keys(v.jobEnv).filter((n) => n.startsWith("FLEET_KAFKA_")).sort().join() === "FLEET_KAFKA_BROKERS,FLEET_KAFKA_REPLICATION_FACTOR" && !v.jobVolume, `topic Job env: ${Object.keys(v.jobEnv)}`),
      ];
    },
  },
  {
    what: "EKS example: MSK with TLS + SASL/SCRAM-SHA-512 on 9096, the CA from Node's store",
    values: [join(args.chart, "values-eks.yaml")],
    expect(docs) {
      const v = kafkaView(docs);
      return [
        ...want(v.cfg.tls?.enabled === true && v.cfg.tls.caFile === undefined, `fleet kafka.tls: ${JSON.stringify(v.cfg.tls)}`),
        ...want(v.cfg.sasl?.mechanism === "scram-sha-512" && v.cfg.sasl.username === "fleetmesh" && !("password" in v.cfg.sasl), `fleet kafka.sasl: ${JSON.stringify(v.cfg.sasl)}`),
        ...want(v.cfg.brokers.every((b) => b.endsWith(":9096")), `fleet brokers: ${v.cfg.brokers}`),
        ...want(v.svcEnv.FLEETMESH__KAFKA__SASL__PASSWORD === "from-a-secret-ref", "fleet: no FLEETMESH__KAFKA__SASL__PASSWORD from a Secret"),
        ...want(v.jobEnv.FLEET_KAFKA_TLS === "true" && v.jobEnv.FLEET_KAFKA_TLS_CA_FILE === undefined, "topic Job: FLEET_KAFKA_TLS"),
        ...want(v.jobEnv.FLEET_KAFKA_SASL_MECHANISM === "scram-sha-512" && v.jobEnv.FLEET_KAFKA_SASL_USERNAME === "fleetmesh" && v.jobEnv.FLEET_KAFKA_SASL_PASSWORD === "from-a-secret-ref", "topic Job: FLEET_KAFKA_SASL_*"),
        ...want(v.gwKafka.length === 0, `gateway: ${v.gwKafka}`),
      ];
    },
  },
  {
    what: "TLS only (9094) with a private CA from a ConfigMap",
    values: [{ kafka: { brokers: "kafka:9094", tls: { enabled: true, caSecret: { kind: "ConfigMap", name: "kafka-ca", key: "ca.crt" } } }, networkPolicy: { kafka: { ports: [{ port: 9094, protocol: "TCP" }] } } }],
    expect(docs) {
      const v = kafkaView(docs);
      return [
        ...want(v.cfg.tls?.enabled === true && v.cfg.tls.caFile === "/etc/fleetmesh/kafka-ca/ca.crt" && v.cfg.sasl === undefined, `fleet kafka: ${JSON.stringify(v.cfg)}`),
        ...want(v.svcVolume?.configMap?.name === "kafka-ca" && v.jobVolume?.configMap?.name === "kafka-ca", "the CA ConfigMap volume on fleet and the topic Job"),
        ...want(v.jobEnv.FLEET_KAFKA_TLS_CA_FILE === "/etc/fleetmesh/kafka-ca/ca.crt" && v.jobEnv.FLEET_KAFKA_SASL_MECHANISM === undefined, "topic Job: FLEET_KAFKA_TLS_CA_FILE, no SASL"),
        ...want(v.gwKafka.length === 0, `gateway: ${v.gwKafka}`),
      ];
    },
  },
  {
    what: "SASL PLAIN over TLS",
    values: [{ kafka: { brokers: "kafka:9093", tls: { enabled: true }, sasl: { mechanism: "plain", username: "fleetmesh", passwordSecret: { name: "kafka-user", key: "pw" } } }, networkPolicy: { kafka: { ports: [{ port: 9093, protocol: "TCP" }] } } }],
    expect(docs) {
      const v = kafkaView(docs);
      return want(v.cfg.sasl?.mechanism === "plain" && v.jobEnv.FLEET_KAFKA_SASL_MECHANISM === "plain", `fleet kafka.sasl: ${JSON.stringify(v.cfg.sasl)}`);
    },
  },
];
// Token keys: what every process reads, and how the pods reach identity's JWKS.
const jwksView = (docs) => {
  const byProcess = deployments(docs).map((d) => ({
    d,
    auth: parse(configTextOf(d, docs)).auth,
    volume: d.spec.template.spec.volumes.find((v) => v.name === "jwks"),
    mount: d.spec.template.spec.containers[0].volumeMounts.find((m) => m.name === "jwks"),
  }));
  const identity = service(docs, "identity");
  return {
    byProcess,
    identity,
    jwksConfigMaps: docs.filter((o) => o.kind === "ConfigMap" && o.metadata?.labels?.["app.kubernetes.io/component"] === "jwks"),
    // Egress rules of any policy towards identity's pods, and identity's ingress rules from pods of the release.
    toIdentity: identity ? docs.filter((o) => o.kind === "NetworkPolicy").flatMap((np) => (np.spec.egress ?? []).filter((r) => (r.to ?? []).some((peer) => peer.podSelector && matches(peer.podSelector, identity.spec.template.metadata.labels)))) : [],
    identityFromPods: identity ? (policyOf(docs, "identity")?.spec.ingress ?? []).filter((r) => (r.from ?? []).some((peer) => peer.podSelector && !peer.namespaceSelector)) : [],
  };
};
POSITIVE.push(
  {
    what: "auth.jwks.source file: every process reads the JWKS file from the fleet-mesh-jwks ConfigMap, no jwksUrl",
    values: [{ auth: { jwks: { source: "file" } } }],
    expect(docs) {
      const v = jwksView(docs);
      return v.byProcess.flatMap(({ d, auth, volume, mount }) => [
        ...want(auth.jwksFile === "/etc/fleetmesh/jwks/jwks.json" && auth.jwksUrl === undefined && auth.jwksCacheSec === undefined, `${id(d)}: auth ${JSON.stringify(auth)}`),
        ...want(volume?.configMap?.name === "fleet-mesh-jwks" && mount?.mountPath === "/etc/fleetmesh/jwks" && mount.readOnly === true, `${id(d)}: JWKS volume ${JSON.stringify(volume)} mount ${JSON.stringify(mount)}`),
      ]);
    },
  },
  {
    what: "token keys from identity's JWKS endpoint (values-eks + full + auth.jwks.source identity): every process on identity's Service ops port, no ConfigMap, only the ops port opened, only from the release's processes",
    values: [join(args.chart, "values-eks.yaml"), join(args.chart, "ci/full-values.yaml"), join(args.chart, "ci/jwks-identity-values.yaml")],
    expect(docs) {
      const v = jwksView(docs);
      if (!v.identity) return ["identity not rendered"];
      const svc = docs.find((o) => o.kind === "Service" && o.metadata?.labels?.["app.kubernetes.io/component"] === "identity");
      const ops = opsPortOf(docs, "identity");
      const url = `http://${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:${ops}${JWKS_PATH}`;
      const opsPort = v.identity.spec.template.spec.containers[0].ports.find((x) => x.name === "ops");
      const processes = new Set(v.byProcess.map(({ d }) => componentOf(d)));
      const admitted = v.identityFromPods.filter(isJwksIngress).flatMap((r) => r.from.map((peer) => peer.podSelector.matchLabels?.["app.kubernetes.io/component"]));
      return [
        ...want(v.byProcess.length >= 6, `${v.byProcess.length} processes (expected the gateway and five services)`),
        ...v.byProcess.flatMap(({ d, auth, volume, mount }) => [
          ...want(auth.jwksUrl === url && auth.jwksFile === undefined, `${id(d)}: auth.jwksUrl ${auth.jwksUrl}, jwksFile ${auth.jwksFile} (expected ${url} only)`),
          ...want(!volume && !mount, `${id(d)}: still mounts the JWKS ConfigMap`),
          ...blockedConnection(docs, d, v.identity, opsPort),
        ]),
        ...want(v.jwksConfigMaps.length === 0, `JWKS ConfigMap rendered: ${v.jwksConfigMaps.map((o) => o.metadata.name)}`),
        ...want(opsPort.containerPort === ops, `identity's Service ops port ${ops} is not its container's ops port ${opsPort.containerPort}`),
        // Tight: identity's ops port admits exactly the release's processes (not the hook Jobs), on that port only.
        ...want(admitted.length === processes.size && [...processes].every((x) => admitted.includes(x)), `identity's ops port admits ${admitted} (expected ${[...processes]})`),
        ...v.identityFromPods.filter(isJwksIngress).flatMap((r) => want(r.ports.length === 1 && r.from.every((peer) => peer.podSelector.matchLabels?.["app.kubernetes.io/instance"] === args.release && !peer.ipBlock), `identity's JWKS ingress rule is wider than the ops port from the release's pods: ${JSON.stringify(r)}`)),
        ...v.toIdentity.filter((r) => r.ports.some((x) => x.port === ops)).flatMap((r) => want(r.ports.length === 1, `an egress rule to identity's ops port opens more: ${JSON.stringify(r.ports)}`)),
        ...docs.filter((o) => o.kind === "Job").flatMap((j) => want(blockedConnection(docs, j, v.identity, opsPort).length > 0, `${id(j)} may reach identity's ops port`)),
      ];
    },
  },
  {
    what: "token keys from an identity outside the release, none inside (auth.jwks.url, its port in networkPolicy.extraEgress, cacheSec/minRefreshSec)",
    values: [{ components: { identity: { enabled: false } }, auth: { jwks: { source: "identity", url: "https://identity.example.com/.well-known/jwks.json", cacheSec: 120, minRefreshSec: 15 } }, networkPolicy: { extraEgress: [{ to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ port: 443, protocol: "TCP" }] }] } }],
    expect(docs) {
      const v = jwksView(docs);
      return [
        ...want(!v.identity, "identity rendered"),
        ...v.byProcess.flatMap(({ d, auth, volume }) => want(auth.jwksUrl === "https://identity.example.com/.well-known/jwks.json" && auth.jwksCacheSec === 120 && auth.jwksMinRefreshSec === 15 && auth.jwksFile === undefined && !volume, `${id(d)}: auth ${JSON.stringify(auth)}, JWKS volume ${Boolean(volume)}`)),
        ...want(v.jwksConfigMaps.length === 0, "JWKS ConfigMap rendered"),
      ];
    },
  },
);
// The token issuer: identity in the release, wired to its database, Redis, signing keys and the verifiers.
const issuerView = (docs) => {
  const identity = service(docs, "identity");
  if (!identity) return undefined;
  const c = identity.spec.template.spec.containers[0];
  return {
    identity,
    cfg: fileConfigOf("identity", configTextOf(identity, docs)),
    env: envValues(c),
    keysVolume: identity.spec.template.spec.volumes.find((v) => v.name === "signing-keys"),
    migrated: docs.some((o) => o.kind === "Job" && o.spec.template.spec.containers[0].args?.[0] === "migrate" && o.spec.template.spec.containers[0].args.includes("identity")),
    externalSecrets: docs.filter((o) => o.kind === "ExternalSecret").map((o) => o.metadata.name),
    urls: [...new Set(deployments(docs).map((d) => parse(configTextOf(d, docs)).auth.jwksUrl))],
  };
};
const issuerExpect = (docs, { redis, secrets }) => {
  const v = issuerView(docs);
  if (!v) return ["identity not rendered"];
  const svc = docs.find((o) => o.kind === "Service" && o.metadata?.labels?.["app.kubernetes.io/component"] === "identity");
  const url = `http://${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:${opsPortOf(docs, "identity")}${JWKS_PATH}`;
  return [
    ...want(v.urls.length === 1 && v.urls[0] === url, `processes read ${v.urls} (expected ${url})`),
    ...want(v.env.FLEETMESH__DATABASE__PASSWORD === "from-a-secret-ref" && envEntry(v.identity.spec.template.spec.containers[0], "FLEETMESH__DATABASE__PASSWORD").valueFrom.secretKeyRef.name === "fleet-mesh-identity-db", "identity: database password not from the Secret fleet-mesh-identity-db"),
    ...want(v.keysVolume?.secret?.secretName === "fleet-mesh-identity-signing-keys", `identity: signing keys volume ${JSON.stringify(v.keysVolume)}`),
    ...want(v.cfg.redis?.url === redis, `identity: redis.url ${v.cfg.redis?.url} (expected ${redis})`),
    ...want(v.migrated, "no migration Job for identity's database"),
    ...secrets.flatMap((name) => want(v.externalSecrets.includes(name), `no ExternalSecret ${name}`)),
  ];
};
POSITIVE.push(
  {
    what: "defaults: identity issues the tokens (its database Secret, Redis, signing-key Secret, migrations), every process reads its JWKS endpoint",
    values: [],
    expect: (docs) => issuerExpect(docs, { redis: "redis://redis:6379", secrets: [] }),
  },
  {
    what: "EKS example: identity with ElastiCache (rediss://), its database and signing-key Secrets from Secrets Manager (ExternalSecrets)",
    values: [join(args.chart, "values-eks.yaml")],
    expect: (docs) => issuerExpect(docs, { redis: "rediss://master.fleet-mesh.a1b2c3.euc1.cache.amazonaws.com:6379", secrets: ["fleet-mesh-identity-db", "fleet-mesh-identity-signing-keys"] }),
  },
);
// Peers: who calls whom as itself, with which credential.
const peersExpect = (docs, { credentials }) => {
  const cfgOf = (name) => parse(configTextOf(service(docs, name), docs));
  const m = cfgOf("maintenance");
  const r = cfgOf("rental");
  const secretRef = (name) => envEntry(service(docs, name).spec.template.spec.containers[0], "FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET")?.valueFrom?.secretKeyRef;
  return [
    ...want(Object.keys(m.peers ?? {}).sort().join() === "fleet,identity,rental", `maintenance peers: ${Object.keys(m.peers ?? {})}`),
    ...want(m.peers?.rental?.deadlineMs === 3000 && m.peers?.identity?.deadlineMs === 2000 && m.peers?.fleet?.deadlineMs === 2000, `maintenance peer deadlines: ${JSON.stringify(m.peers)}`),
    ...want(m.peers?.rental?.address === "fleet-mesh-rental.fleet-mesh.svc.cluster.local:50062", `maintenance -> rental at ${m.peers?.rental?.address}`),
    ...want(Object.keys(r.peers ?? {}).sort().join() === "fleet,identity", `rental peers: ${Object.keys(r.peers ?? {})}`),
    ...["rental", "maintenance"].flatMap((name) => credentials
      ? [
          ...want(/^svc_[0-9a-f]{32}$/.test(cfgOf(name).serviceCredential?.clientId ?? "") && cfgOf(name).serviceCredential?.issuer === "identity", `${name}: serviceCredential ${JSON.stringify(cfgOf(name).serviceCredential)}`),
          ...want(secretRef(name)?.name === `fleet-mesh-${name}-service-client` && secretRef(name)?.key === "client-secret", `${name}: client secret from ${JSON.stringify(secretRef(name))}`),
        ]
      : want(cfgOf(name).serviceCredential === undefined && secretRef(name) === undefined, `${name}: a credential without a clientId`)),
    ...want(!credentials || cfgOf("rental").serviceCredential.clientId !== m.serviceCredential.clientId, "rental and maintenance share a client id"),
  ];
};
POSITIVE.push(
  {
    what: "defaults: maintenance calls rental (3 s), identity and fleet, rental fleet and identity; no credential yet (first install)",
    values: [],
    expect: (docs) => peersExpect(docs, { credentials: false }),
  },
  {
    what: "EKS example: rental and maintenance call their peers as themselves, each with its own client id and client-secret Secret",
    values: [join(args.chart, "values-eks.yaml")],
    expect: (docs) => peersExpect(docs, { credentials: true }),
  },
);
// Memory: what each process is told about its heap, from its limit and the memory values.
const memoryExpect = (docs, sizing) => deployments(docs).flatMap((d) => {
  const c = d.spec.template.spec.containers[0];
  const { percent, semi, arenas } = sizing(componentOf(d));
  const limit = quantityMi(c.resources.limits.memory);
  const want_ = `--max-old-space-size=${Math.floor((limit * percent) / 100)} --max-semi-space-size=${semi}`;
  return [
    ...want(envEntry(c, "NODE_OPTIONS")?.value === want_, `${id(d)}: NODE_OPTIONS ${envEntry(c, "NODE_OPTIONS")?.value} (expected ${want_} from limits.memory ${c.resources.limits.memory})`),
    ...want(envEntry(c, "MALLOC_ARENA_MAX")?.value === String(arenas), `${id(d)}: MALLOC_ARENA_MAX ${envEntry(c, "MALLOC_ARENA_MAX")?.value}`),
  ];
});
POSITIVE.push(
  {
    what: "defaults: NODE_OPTIONS and MALLOC_ARENA_MAX from each limit (old space 50 %, identity 40 %; semi-space 16 MiB; 2 arenas)",
    values: [],
    expect: (docs) => memoryExpect(docs, (name) => ({ percent: name === "identity" ? 40 : 50, semi: 16, arenas: 2 })),
  },
  {
    what: "memory tuned: a 1Gi gateway with 60 % old space and a 32 MiB semi-space, 4 arenas everywhere",
    values: [{ componentDefaults: { memory: { mallocArenaMax: 4 } }, components: { gateway: { resources: { limits: { memory: "1Gi" } }, memory: { oldSpacePercent: 60, semiSpaceMi: 32 } } } }],
    expect: (docs) => [
      ...memoryExpect(docs, (name) => ({ percent: name === "identity" ? 40 : name === "gateway" ? 60 : 50, semi: name === "gateway" ? 32 : 16, arenas: 4 })),
      ...want(envEntry(service(docs, "gateway").spec.template.spec.containers[0], "NODE_OPTIONS")?.value === "--max-old-space-size=614 --max-semi-space-size=32", "gateway: not 614 MiB old space of 1Gi"),
    ],
  },
);
// Monitoring: what the Prometheus Operator gets.
const ALERTS = ["OutboxBacklogAging", "OutboxNoActiveRelay", "OutboxPublishFailing", "EventsDeadLettered", "DeadLetterPublishFailing", "EventsConsumeLagHigh", "ConsumerRebalancingOften", "RpcServerErrorsHigh", "RpcLatencyHigh", "DbPoolExhausted"];
const monitoringView = (docs) => {
  const pm = podMonitorOf(docs);
  const rule = ruleOf(docs);
  const alerts = rule ? rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert) : [];
  return {
    pm,
    rule,
    alerts,
    names: alerts.map((r) => r.alert).sort(),
    scraped: pm ? deployments(docs).filter((d) => matches(pm.spec.selector, d.spec.template.metadata.labels)).map(componentOf).sort() : [],
    processes: deployments(docs).map(componentOf).sort(),
  };
};
POSITIVE.push(
  {
    what: "defaults: no PodMonitor, no PrometheusRule",
    values: [],
    expect: (docs) => want(!docs.some((o) => o.apiVersion?.startsWith("monitoring.coreos.com/")), "monitoring.coreos.com objects rendered"),
  },
  {
    what: "monitoring as with kube-prometheus-stack (values-eks + full): a PodMonitor with the release label on the ops port of all six processes, a PrometheusRule with the ten alerts, runbooks at their own headings",
    values: [join(args.chart, "values-eks.yaml"), join(args.chart, "ci/full-values.yaml")],
    expect(docs) {
      const v = monitoringView(docs);
      if (!v.pm || !v.rule) return ["PodMonitor or PrometheusRule not rendered"];
      const ep = v.pm.spec.podMetricsEndpoints;
      return [
        ...want(v.pm.metadata.labels.release === "kube-prometheus-stack" && v.rule.metadata.labels.release === "kube-prometheus-stack", "release: kube-prometheus-stack missing on the PodMonitor or the PrometheusRule"),
        ...want(v.processes.length === 6 && v.scraped.join() === v.processes.join(), `scraped ${v.scraped}, processes ${v.processes}`),
        ...want(ep.length === 1 && ep[0].port === "ops" && ep[0].path === "/metrics" && ep[0].interval === "30s", `podMetricsEndpoints ${JSON.stringify(ep)}`),
        ...want(v.names.join() === [...ALERTS].sort().join(), `alerts ${v.names}`),
        ...v.alerts.flatMap((r) => want(r.annotations.runbook_url === `https://github.com/fleet-mesh/fleet-mesh/blob/main/${RUNBOOK_DOC}#${r.alert.toLowerCase()}`, `${r.alert}: runbook_url ${r.annotations.runbook_url}`)),
        ...want(alertOf(docs, "OutboxBacklogAging").expr.endsWith("> 60") && alertOf(docs, "OutboxBacklogAging").for === "5m" && alertOf(docs, "OutboxBacklogAging").labels.severity === "critical", "OutboxBacklogAging: not > 60 for 5m, critical"),
        ...want(alertOf(docs, "DeadLetterPublishFailing").labels.severity === "critical" && alertOf(docs, "EventsDeadLettered").labels.severity === "warning", "dead-letter alert severities"),
      ];
    },
  },
  {
    what: "monitoring tuned: 15 s scrapes, a team label on every alert, a threshold and for changed, one alert off, fewer error codes",
    values: [{ monitoring: { podMonitor: { enabled: true, interval: "15s", scrapeTimeout: "5s" }, prometheusRule: { enabled: true, alertLabels: { team: "fleet" }, alerts: { ConsumerRebalancingOften: { enabled: false }, OutboxBacklogAging: { threshold: 120, for: "10m" }, RpcServerErrorsHigh: { codes: ["INTERNAL", "UNAVAILABLE"] } } } } }],
    expect(docs) {
      const v = monitoringView(docs);
      if (!v.pm || !v.rule) return ["PodMonitor or PrometheusRule not rendered"];
      const ep = v.pm.spec.podMetricsEndpoints[0];
      const aging = alertOf(docs, "OutboxBacklogAging");
      return [
        ...want(ep.interval === "15s" && ep.scrapeTimeout === "5s", `interval ${ep.interval}, scrapeTimeout ${ep.scrapeTimeout}`),
        ...want(v.scraped.join() === v.processes.join(), `scraped ${v.scraped}, processes ${v.processes}`),
        ...want(v.names.length === 9 && !v.names.includes("ConsumerRebalancingOften"), `alerts ${v.names}`),
        ...v.alerts.flatMap((r) => want(r.labels.team === "fleet" && SEVERITIES.includes(r.labels.severity), `${r.alert}: labels ${JSON.stringify(r.labels)}`)),
        ...want(aging.expr.endsWith("> 120") && aging.for === "10m", `OutboxBacklogAging: ${aging.expr} for ${aging.for}`),
        ...want(alertOf(docs, "RpcServerErrorsHigh").expr.includes('code=~"INTERNAL|UNAVAILABLE"'), `RpcServerErrorsHigh: ${alertOf(docs, "RpcServerErrorsHigh").expr}`),
      ];
    },
  },
);
const positives = await Promise.all(POSITIVE.map((x) => render(x.values)));
for (const [i, x] of POSITIVE.entries()) {
  const r = positives[i];
  if (r.error) { line(false, "positive", `${x.what}: helm failed`, [r.error.split("\n").pop()]); continue; }
  const problems = [...(await failing(r.docs)).map((k) => `check '${k}' failed`), ...x.expect(r.docs)];
  line(problems.length === 0, "positive", `${x.what}: renders, passes every check, wired as expected`, problems);
}

// ------------------------------------------------------------- promtool --
// The rendered alert rules through promtool: `check rules` (syntax, lint) and
// `test rules` with scripts/deploy/alert-tests.yaml (each alert's expression
// on series shaped like the code's, firing where it should and nowhere else).
const run = async (cmd, argv) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, argv, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, out: `${stdout}${stderr}` };
  } catch (e) {
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? e.message}` };
  }
};
const TESTS_FILE = "scripts/deploy/alert-tests.yaml";
/** A promtool unit test file: one test per alert of the rule, on its fixture. */
function unitTestsFor(rule, fixtures) {
  const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert);
  return {
    missing: alerts.filter((r) => !fixtures[r.alert]).map((r) => r.alert),
    count: alerts.filter((r) => fixtures[r.alert]).length,
    text: stringify({
      rule_files: [],
      evaluation_interval: "1m",
      fuzzy_compare: true,
      tests: alerts.filter((r) => fixtures[r.alert]).map((r) => ({
        name: r.alert,
        interval: "1m",
        input_series: fixtures[r.alert].input_series,
        promql_expr_test: [{ expr: r.expr, eval_time: fixtures[r.alert].eval_time, exp_samples: fixtures[r.alert].exp_samples }],
      })),
    }),
  };
}
if (args.promtool) {
  const fixtures = parse(readFileSync(join(repo, TESTS_FILE), "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "fm-rules-"));
  try {
    const fixtureProblems = Object.entries(fixtures).flatMap(([alert, f]) => [
      ...want(ALERTS.includes(alert), `${alert}: no such alert`),
      ...(f.input_series ?? []).flatMap((x) => exprProblems(x.series, catalog, undefined).map((pr) => `${alert}: ${pr}`)),
      ...want((f.input_series ?? []).some((x) => x.series.includes(`namespace="${args.namespace}"`)) && f.exp_samples?.length > 0, `${alert}: no series in ${args.namespace} or nothing expected`),
    ]);
    line(fixtureProblems.length === 0, "promtool", `${TESTS_FILE}: ${Object.keys(fixtures).length} tests; every input series is a metric with labels the code registers`, fixtureProblems);
    for (const { label, docs } of sets) {
      for (const r of docs.filter((o) => o.kind === "PrometheusRule")) {
        const rulesFile = join(dir, `${label}-${r.metadata.name}.rules.yaml`);
        writeFileSync(rulesFile, stringify(r.spec));
        const n = r.spec.groups.flatMap((g) => g.rules).length;
        const checked = await run(args.promtool, ["check", "rules", "--lint=all", "--lint-fatal", rulesFile]);
        line(checked.ok, "promtool", `${label}: promtool check rules --lint=all on PrometheusRule/${r.metadata.name} (${n} rules)`, checked.ok ? [] : checked.out.trim().split("\n"));
        const t = unitTestsFor(r, fixtures);
        const testFile = join(dir, `${label}-${r.metadata.name}.test.yaml`);
        writeFileSync(testFile, t.text);
        const tested = await run(args.promtool, ["test", "rules", testFile]);
        line(tested.ok && t.missing.length === 0, "promtool", `${label}: promtool test rules: ${t.count} alert expressions on ${TESTS_FILE}`, [...t.missing.map((a) => `${a}: no test in ${TESTS_FILE}`), ...(tested.ok ? [] : tested.out.trim().split("\n"))]);
      }
    }
    // The unit tests can fail: a raised threshold no longer fires on its test's series.
    const full = sets.find((x) => x.label === "full");
    if (full && ruleOf(full.docs)) {
      const raised = mutate((d) => {
        editExpr(d, "OutboxBacklogAging", "> 60", "> 600");
        for (const g of ruleOf(d).spec.groups) g.rules = g.rules.filter((r) => r.alert === "OutboxBacklogAging");
      }, full.docs);
      const testFile = join(dir, "negative.test.yaml");
      writeFileSync(testFile, unitTestsFor(ruleOf(raised), fixtures).text);
      const tested = await run(args.promtool, ["test", "rules", testFile]);
      // And check rules can fail: an expression that does not parse.
      const broken = mutate((d) => editExpr(d, "DbPoolExhausted", "max by (namespace, service, pool) (", "max by (namespace, service, pool) (("), full.docs);
      const brokenFile = join(dir, "negative.rules.yaml");
      writeFileSync(brokenFile, stringify(ruleOf(broken).spec));
      const checked = await run(args.promtool, ["check", "rules", "--lint=all", "--lint-fatal", brokenFile]);
      line(!checked.ok && /DbPoolExhausted|parse error|unclosed/i.test(checked.out), "negative", "DbPoolExhausted with an unbalanced parenthesis: caught by promtool check rules", checked.ok ? ["promtool accepted it"] : []);
      line(!tested.ok && /outbox_oldest_unpublished_seconds.*> 600/.test(tested.out), "negative", "OutboxBacklogAging with its threshold raised to 600: caught by promtool test rules", tested.ok ? ["the unit tests passed"] : []);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`policy: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
