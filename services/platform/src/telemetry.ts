import { context, propagation, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { NodeSDK, tracing } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";

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
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const processors: tracing.SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.exporter === "console") processors.push(new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter()));
  if (options.exporter === "otlp") {
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
