import { SpanKind } from "@opentelemetry/api";
import { tracing } from "@opentelemetry/sdk-node";
import { create, toBinary } from "@bufbuild/protobuf";
import test from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { startTelemetry } from "../../services/platform/src/telemetry.js";
import { sampleAttributes, uniquePlate } from "../../services/fleet/test/support.js";
import { startMesh } from "./support.js";

test("one trace crosses the gateway and fleet, continuing the caller's trace context", async (t) => {
  const exporter = new tracing.InMemorySpanExporter();
  const telemetry = await startTelemetry({
    serviceName: "trace-test",
    exporter: "none",
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });
  const mesh = await startMesh();
  try {
    const headers = (traceId: string) => ({
      authorization: mesh.fleet.as().headers["authorization"]!,
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const register = FleetService.method.registerVehicle;
    const message = () => toBinary(register.input, create(register.input, { plateNumber: uniquePlate(), attributes: sampleAttributes }));
    const lanes: Array<[string, string, () => Promise<Response>]> = [
      ["Connect JSON (Connect's handler)", "4bf92f3577b34da6a3ce929d0e0e4736", () => fetch(`${mesh.baseUrl}/fleetmesh.fleet.v1.FleetService/RegisterVehicle`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers("4bf92f3577b34da6a3ce929d0e0e4736") },
        body: JSON.stringify({ plateNumber: uniquePlate(), attributes: sampleAttributes }),
      })],
      ["Connect binary (the raw lane)", "5cf92f3577b34da6a3ce929d0e0e4737", () => fetch(`${mesh.baseUrl}/fleetmesh.fleet.v1.FleetService/RegisterVehicle`, {
        method: "POST",
        headers: { "content-type": "application/proto", ...headers("5cf92f3577b34da6a3ce929d0e0e4737") },
        body: message(),
      })],
    ];
    for (const [lane, traceId, send] of lanes) {
      const res = await send();
      t.is(res.status, 200, lane);
      const spans = exporter.getFinishedSpans()
        .filter((s) => s.name === "fleetmesh.fleet.v1.FleetService/RegisterVehicle" && s.spanContext().traceId === traceId);
      const edge = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes["rpc.system"] === "connect");
      const outbound = spans.find((s) => s.kind === SpanKind.CLIENT);
      const service = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes["rpc.system"] === "grpc");
      t.truthy(edge && outbound && service, `${lane}: spans: ${spans.map((s) => `${s.kind}:${s.name}`).join(", ")}`);
      t.is(edge!.parentSpanContext?.spanId, "00f067aa0ba902b7", `${lane}: the edge span continues the browser's trace`);
      t.is(outbound!.parentSpanContext?.spanId, edge!.spanContext().spanId, lane);
      t.is(service!.parentSpanContext?.spanId, outbound!.spanContext().spanId, `${lane}: fleet's span is a child of the gateway's call`);
    }
  } finally {
    await mesh.stop();
    await telemetry.shutdown();
  }
});
