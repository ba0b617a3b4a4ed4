import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, status as GrpcStatus } from "@grpc/grpc-js";
import test from "ava";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { toConnectError, transportFailureOf, upstreamOfTransportFailure } from "../src/errors.js";

// Pure: which upstream failures the gateway rewrites for its clients, and
// which pass through untouched.

const refused = (): GrpcCallError =>
  new GrpcCallError(GrpcStatus.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50061", undefined, new Metadata());

const domainStatus = (code: GrpcStatus, reason: string, message: string) => ({
  code,
  message,
  details: [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason, domain: "fleetmesh", metadata: { dependency: "redis" } }))]
    .map((a) => ({ typeUrl: a.typeUrl, value: a.value })),
});

test("a peer that cannot be reached: UNAVAILABLE in plain words, DEPENDENCY_UNAVAILABLE, cause kept for the log", (t) => {
  const cause = refused();
  const err = transportFailureOf("fleet", cause)!;
  t.is(err.code, Code.Unavailable);
  t.is(err.rawMessage, "fleet service unavailable");
  t.is(err.cause, cause);
  t.is(upstreamOfTransportFailure(err), "fleet");
  const info = err.findDetails(ErrorInfoSchema)[0];
  t.is(info?.reason, "DEPENDENCY_UNAVAILABLE");
  t.is(info?.domain, "fleetmesh");
  t.deepEqual(info?.metadata, { dependency: "fleet" });
  t.is(toConnectError(err), err, "the edge's mapping keeps it");
  t.is(transportFailureOf("fleet", err), err, "rewriting twice changes nothing");
});

test("the gRPC client's own deadline: DEADLINE_EXCEEDED (the outcome is unknown, so not UNAVAILABLE), no address", (t) => {
  const err = transportFailureOf("identity", new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED,
    "Deadline exceeded after 5.001s,LB pick: 0.000s,remote_addr=10.0.3.7:50064", undefined, new Metadata()))!;
  t.is(err.code, Code.DeadlineExceeded);
  t.is(err.rawMessage, "identity service did not answer in time");
  t.is(err.findDetails(ErrorInfoSchema)[0]?.reason, "DEADLINE_EXCEEDED");
});

test("an upstream's own errors pass through, UNAVAILABLE with a google.rpc.Status included", (t) => {
  const redisDown = new GrpcCallError(GrpcStatus.UNAVAILABLE, "rate limiter unavailable",
    domainStatus(GrpcStatus.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE", "rate limiter unavailable"), new Metadata());
  t.is(transportFailureOf("identity", redisDown), undefined);
  const passed = toConnectError(redisDown);
  t.is(passed.rawMessage, "rate limiter unavailable");
  t.deepEqual(passed.findDetails(ErrorInfoSchema)[0]?.metadata, { dependency: "redis" });
  const notFound = new GrpcCallError(GrpcStatus.NOT_FOUND, "vehicle v-1 not found",
    domainStatus(GrpcStatus.NOT_FOUND, "VEHICLE_NOT_FOUND", "vehicle v-1 not found"), new Metadata());
  t.is(transportFailureOf("fleet", notFound), undefined);
  // Other transport codes are not reachability failures.
  t.is(transportFailureOf("fleet", new GrpcCallError(GrpcStatus.RESOURCE_EXHAUSTED, "Received message larger than max", undefined, undefined)), undefined);
});

test("raw forwarding's failures: socket errors, timeouts and detail-less Connect errors", (t) => {
  const econnrefused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:50061"), { code: "ECONNREFUSED" });
  t.is(transportFailureOf("fleet", econnrefused)?.code, Code.Unavailable);
  t.is(transportFailureOf("fleet", new DOMException("The operation timed out.", "TimeoutError"))?.code, Code.DeadlineExceeded);
  t.is(transportFailureOf("fleet", new ConnectError("read ECONNRESET 10.0.0.1:50061", Code.Unavailable))?.rawMessage, "fleet service unavailable");
  const answered = new ConnectError("shutting down", Code.Unavailable, undefined,
    [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "DEPENDENCY_UNAVAILABLE", domain: "fleetmesh" }) }]);
  t.is(transportFailureOf("fleet", answered), undefined);
  t.is(transportFailureOf("fleet", new Error("boom")), undefined);
  t.is(transportFailureOf("fleet", "not an error"), undefined);
});
