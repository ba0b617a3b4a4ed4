import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { PeerConfig } from "../config.js";
import { AUTHORIZATION_HEADER, type RequestContext } from "../context.js";
import { openTransactionHere } from "../db.js";
import { createServiceClient, type CallOptions } from "../grpc/client.js";
import { peerErrorToDomain, type Acting } from "./peer-errors.js";
import type { ServiceCredential } from "./service-credential.js";

/**
 * How a call to a peer is made.
 *
 * Whose token it carries is the one rule to get right:
 * - `as: "caller"` (the default inside a request): the end user's own token
 *   travels on, so the peer applies the user's permissions and ownership
 *   rules. A service never lends its own rights to a user (no confused deputy).
 * - `as: "service"`: the service's own credential, for work that has no end
 *   user (event consumers, scheduled jobs, backfills) and, explicitly, for a
 *   check the service makes to keep its own invariants that the user's role
 *   could not make itself (e.g. "does this vehicle exist?" during a customer's
 *   reservation). Never to fetch data that is then handed to the user.
 */
export interface PeerCallOptions {
  /** The inbound call being served: its deadline caps this call's, its request id and trace travel on. */
  readonly ctx?: RequestContext | undefined;
  /** Default: "caller" when `ctx` carries a bearer token, otherwise "service". */
  readonly as?: Acting | undefined;
  readonly idempotencyKey?: string | undefined;
  /** Overrides the peer's default deadline; still capped by `ctx`'s deadline. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type PeerClient<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethod
    ? (request: MessageInitShape<S["method"][K]["input"]>, options?: PeerCallOptions) => Promise<MessageShape<S["method"][K]["output"]>>
    : never;
} & { readonly name: string; close(): void };

/**
 * A typed client for one peer service, on the kit's gRPC client (deadlines,
 * retries, request id, trace context). Failures come back as this service's
 * domain errors (peer-errors.ts), so a use case never sees a transport error.
 */
export function createPeerClient<S extends DescService>(
  name: string,
  service: S,
  peer: Pick<PeerConfig, "address" | "deadlineMs">,
  credential: ServiceCredential | undefined,
): PeerClient<S> {
  const client = createServiceClient(service, peer) as unknown as Record<string, (req: unknown, o: CallOptions) => Promise<unknown>> & {
    close(): void;
  };
  const peerClient: Record<string, unknown> = { name, close: () => client.close() };
  for (const method of service.methods) {
    const call = client[method.localName]!;
    peerClient[method.localName] = async (request: unknown, options: PeerCallOptions = {}) => {
      const callerToken = options.ctx?.metadata.get(AUTHORIZATION_HEADER)[0];
      const acting: Acting = options.as ?? (typeof callerToken === "string" ? "caller" : "service");
      const headers: Record<string, string> = {};
      try {
        // A remote call inside a transaction holds a pooled connection and its
        // row locks for as long as the peer takes: do it in a handler's
        // prepare step (remoteFirst) or before opening the transaction.
        const open = openTransactionHere();
        if (open !== undefined) throw new Error(`${name}.${method.localName} called inside an open ${open} database transaction`);
        if (acting === "service") {
          if (!credential) throw new Error(`${name}: a call as the service needs serviceCredential in the config`);
          headers[AUTHORIZATION_HEADER] = await credential.authorization();
        } else if (typeof callerToken !== "string") {
          throw new Error(`${name}.${method.localName}: a call as the caller needs a request with a bearer token`);
        }
        return await call(request, {
          ctx: options.ctx,
          headers,
          idempotencyKey: options.idempotencyKey,
          timeoutMs: options.timeoutMs,
          signal: options.signal,
        });
      } catch (err) {
        throw peerErrorToDomain(name, err, acting);
      }
    };
  }
  return peerClient as PeerClient<S>;
}
