import { context, propagation, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { tracing } from "@opentelemetry/sdk-node";

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly exporter: "none" | "console" | "otlp";
  readonly otlpEndpoint?: string | undefined;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  readonly spanProcessors?: readonly tracing.SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK. Spans are always created so that trace
 * ids appear in logs and W3C trace context travels onward even when nothing
 * is exported (the default); exporting is opt-in by configuration.
 *
 * The SDK is imported here, not at the top: loading it (with the exporters,
 * propagators and metrics SDK it pulls in) costs about 0.6 CPU-seconds, which
 * every module that only creates spans or reads trace context through the API
 * would otherwise pay, in every process and test worker (measured 2026-12-03).
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const [{ NodeSDK, tracing }, { W3CTraceContextPropagator }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/core"),
  ]);
  const processors: tracing.SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.exporter === "console") processors.push(new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter()));
  if (options.exporter === "otlp") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    processors.push(new tracing.BatchSpanProcessor(new OTLPTraceExporter(
      options.otlpEndpoint ? { url: options.otlpEndpoint } : {},
    )));
  }
  // With nothing to export, spans are not recorded unless the caller's trace
  // context asks for it: ids still propagate and reach the logs, at a
  // fraction of the cost of recording.
  const recordRoots = processors.length > 0;
  // NodeSDK installs no tracer provider without a processor; this one keeps
  // a real provider (ids, propagation) while exporting nothing.
  if (processors.length === 0) processors.push(new tracing.NoopSpanProcessor());
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    sampler: new tracing.ParentBasedSampler({ root: recordRoots ? new tracing.AlwaysOnSampler() : new tracing.AlwaysOffSampler() }),
    spanProcessors: processors,
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    // Metrics are served by prom-client on the ops port; logs go through pino.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

export const tracer = (): Tracer => trace.getTracer("fleetmesh");

/** Reads W3C trace context from any string-keyed header source. */
export function extractContext(get: (key: string) => string | undefined): Context {
  return propagation.extract(context.active(), undefined, {
    get: (_carrier, key) => get(key),
    keys: () => ["traceparent", "tracestate"],
  });
}

/** Writes the active W3C trace context through `set`. */
export function injectContext(set: (key: string, value: string) => void, ctx: Context = context.active()): void {
  propagation.inject(ctx, undefined, { set: (_carrier, key, value) => set(key, value) });
}

export const traceIdOf = (span: Span | undefined): string | undefined => {
  const id = span?.spanContext().traceId;
  return id && id !== "00000000000000000000000000000000" ? id : undefined;
};
