import { Server, ServerCredentials, status as GrpcStatus, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { FleetService } from "../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { serverDefinitionOf } from "../grpc/service-definition.js";

// Tests only: a stand-in peer for tests of outbound calls: it records what
// each call carried and answers NOT_FOUND after a delay.

/** A FleetService whose every method records what it received and answers after `delayMs`. */
export async function startStubFleet(delayMs: number, onCall: () => void = () => {}) {
  const seen: Array<{ authorization: unknown; deadlineMs: number }> = [];
  const server = new Server();
  const handlers: Record<string, unknown> = {};
  for (const m of FleetService.methods) {
    handlers[m.localName] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const deadline = call.getDeadline();
      onCall();
      seen.push({ authorization: call.metadata.get("authorization")[0], deadlineMs: (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now() });
      setTimeout(() => callback({ code: GrpcStatus.NOT_FOUND, details: "vehicle not found" }), delayMs);
    };
  }
  server.addService(serverDefinitionOf(FleetService), handlers as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, seen, stop: () => server.forceShutdown() };
}

