import { SpanKind } from "@opentelemetry/api";
import { tracing } from "@opentelemetry/sdk-node";
import test from "ava";
import { startTelemetry } from "../../services/platform/src/telemetry.js";
import { sampleAttributes, uniquePlate } from "../../services/fleet/test/support.js";
import { startMesh } from "./support.js";

test("one trace crosses the gateway and fleet, continuing the caller's trace context", async (t) => {
  const exporter = new tracing.InMemorySpanExporter();
  const telemetry = startTelemetry({
    serviceName: "trace-test",
    exporter: "none",
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });
  const mesh = await startMesh();
  try {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${mesh.baseUrl}/fleetmesh.fleet.v1.FleetService/RegisterVehicle`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: mesh.fleet.as().headers["authorization"]!,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ plateNumber: uniquePlate(), attributes: sampleAttributes }),
    });
    t.is(res.status, 200);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === "fleetmesh.fleet.v1.FleetService/RegisterVehicle");
    const edge = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes["rpc.system"] === "connect");
    const outbound = spans.find((s) => s.kind === SpanKind.CLIENT);
    const service = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes["rpc.system"] === "grpc");
    t.truthy(edge && outbound && service, `spans: ${spans.map((s) => `${s.kind}:${s.name}`).join(", ")}`);
    for (const span of [edge!, outbound!, service!]) t.is(span.spanContext().traceId, traceId);
    t.is(edge!.parentSpanContext?.spanId, "00f067aa0ba902b7", "the edge span continues the browser's trace");
    t.is(outbound!.parentSpanContext?.spanId, edge!.spanContext().spanId);
    t.is(service!.parentSpanContext?.spanId, outbound!.spanContext().spanId, "fleet's span is a child of the gateway's call");
  } finally {
    await mesh.stop();
    await telemetry.shutdown();
  }
});
