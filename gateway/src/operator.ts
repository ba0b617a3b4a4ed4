import { connectNodeAdapter } from "@connectrpc/connect-node";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../../services/platform/src/logger.js";
import { unimplemented } from "./fallback.js";
import { addHealth, type GatewayHealth, type HealthUpstream } from "./health.js";
import { addReflection } from "./reflection.js";
import type { UpstreamProbe } from "./upstreams.js";

type NodeHandler = ReturnType<typeof connectNodeAdapter>;

/**
 * The operator's services on the traffic port, outside the edge pipeline
 * (no token: they reveal only the public contract and health): gRPC server
 * reflection for every routed service and grpc.health.v1. Paths nobody serves
 * end here with UNIMPLEMENTED in the caller's protocol.
 */
export function createOperatorHandler(options: {
  readonly upstreams: readonly HealthUpstream[];
  readonly probe: UpstreamProbe;
  readonly checkTimeoutMs: number;
  readonly log: Logger;
}): { readonly handler: NodeHandler; readonly health: GatewayHealth } {
  let health: GatewayHealth | undefined;
  const handler = connectNodeAdapter({
    routes: (router) => {
      // The google.rpc detail types too, so grpcurl decodes error details instead of printing bytes.
      addReflection(router, [...options.upstreams.map((u) => u.service), Health], [file_google_rpc_error_details]);
      health = addHealth(router, options);
    },
    fallback: unimplemented,
  });
  return { handler, health: health! };
}
