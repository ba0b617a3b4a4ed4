import type { DescService } from "@bufbuild/protobuf";
import { IdentityService } from "../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import type { ServiceConfig } from "../config.js";
import { createServiceClient } from "../grpc/client.js";
import type { Logger } from "../logger.js";
import { createPeerClient, type PeerClient } from "./peer-client.js";
import { createServiceCredential, identityTokenSource, type ServiceCredential } from "./service-credential.js";

export interface Peers {
  /** The service's own credential, when `serviceCredential` is configured. */
  readonly credential: ServiceCredential | undefined;
  /** A client for the peer configured under `name`; the same instance for every ask. */
  client<S extends DescService>(name: string, service: S): PeerClient<S>;
  close(): void;
}

/** The peers a service's config names, and its credential to call them as itself. */
export function createPeers(config: Pick<ServiceConfig, "peers" | "serviceCredential">, log: Logger): Peers {
  const closers: Array<() => void> = [];
  let credential: ServiceCredential | undefined;
  const sc = config.serviceCredential;
  if (sc) {
    const issuerPeer = config.peers[sc.issuer];
    if (!issuerPeer) throw new Error(`serviceCredential.issuer names peer "${sc.issuer}", which is not in peers`);
    const identity = createServiceClient(IdentityService, issuerPeer);
    closers.push(() => identity.close());
    credential = createServiceCredential(identityTokenSource(identity, sc.clientId, sc.clientSecret), {
      refreshBeforeExpiryMs: sc.refreshBeforeExpirySec * 1000,
      log: log.child({ component: "service-credential" }),
    });
  }
  const clients = new Map<string, PeerClient<DescService>>();
  return {
    credential,
    client<S extends DescService>(name: string, service: S): PeerClient<S> {
      const existing = clients.get(name);
      if (existing) return existing as unknown as PeerClient<S>;
      const peer = config.peers[name];
      if (!peer?.enabled) throw new Error(`peer "${name}" is not configured (peers.${name}.address)`);
      const client = createPeerClient(name, service, peer, credential);
      clients.set(name, client as unknown as PeerClient<DescService>);
      closers.push(() => client.close());
      return client;
    },
    close() {
      for (const close of closers.splice(0)) close();
      clients.clear();
    },
  };
}
