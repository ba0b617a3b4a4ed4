// GET /v1/reports/snapshots/{id}.csv: a report snapshot's canonical CSV as one
// download. The gateway forwards the caller's Authorization header to the
// ledger's ReportingService (which checks reports.read), then streams
// ExportReportSnapshotCsv pages one after another into a chunked text/csv
// response, fetching the next page only once the client has taken the last
// one (backpressure): the file is never buffered whole. Failures before the
// first byte get their HTTP status and a small JSON body; a failure after it
// can only abort the transfer (the client sees an incomplete download).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { ReportingService } from "../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { AUTHORIZATION_HEADER, REQUEST_ID_HEADER } from "../../services/platform/src/context.js";
import { GrpcCallError, type ServiceClient } from "../../services/platform/src/grpc/client.js";
import { findDetail } from "../../services/platform/src/grpc/status.js";
import type { Logger } from "../../services/platform/src/logger.js";

export const REPORT_CSV_PATH = /^\/v1\/reports\/snapshots\/([^/]+)\.csv$/;
/** Bytes asked per upstream page (the RPC's default). */
export const CSV_PAGE_BYTES = 1024 * 1024;
/** Deadline of each page call. */
const PAGE_TIMEOUT_MS = 30_000;

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

const HTTP_STATUS_OF: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.FAILED_PRECONDITION]: 412,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
};

function sendJson(res: Res, status: number, body: Record<string, string>, requestId: string): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Request-Id", requestId);
  if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="fleetmesh"');
  res.end(text);
}

/** The HTTP status and JSON body of a failed page call. */
export function httpErrorOf(err: unknown): { status: number; body: Record<string, string> } {
  if (err instanceof GrpcCallError) {
    const answered = err.status !== undefined;
    const info = err.status === undefined ? undefined : findDetail(err.status, ErrorInfoSchema);
    const code = GrpcStatus[err.code] ?? "UNKNOWN";
    if (!answered && (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED)) {
      return { status: 503, body: { code, reason: "DEPENDENCY_UNAVAILABLE", message: "the ledger service is unavailable; retry later" } };
    }
    return {
      status: HTTP_STATUS_OF[err.code] ?? 500,
      body: { code, reason: info?.reason ?? code, message: err.status?.message ?? err.message },
    };
  }
  return { status: 500, body: { code: "INTERNAL", reason: "INTERNAL", message: "internal error" } };
}

const waitForDrain = (res: Res): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });

/**
 * The route's handler: true when it took the request. `client` is the
 * gateway's ReportingService upstream (undefined when none is configured).
 */
export function createReportCsvEndpoint(
  client: ServiceClient<typeof ReportingService> | undefined,
  log: Logger,
  options: { readonly pageBytes?: number } = {},
) {
  const pageBytes = options.pageBytes ?? CSV_PAGE_BYTES;
  return (req: Req, res: Res): boolean => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const match = REPORT_CSV_PATH.exec(path);
    if (match === null) return false;
    const incoming = req.headers[REQUEST_ID_HEADER];
    const requestId = typeof incoming === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      sendJson(res, 405, { code: "METHOD_NOT_ALLOWED", reason: "METHOD_NOT_ALLOWED", message: "use GET" }, requestId);
      return true;
    }
    if (client === undefined) {
      sendJson(res, 503, { code: "UNAVAILABLE", reason: "DEPENDENCY_UNAVAILABLE", message: "reports are not routed by this gateway" }, requestId);
      return true;
    }
    let snapshotId: string;
    try {
      snapshotId = decodeURIComponent(match[1] ?? "");
    } catch {
      snapshotId = match[1] ?? "";
    }
    void stream(client, snapshotId, pageBytes, req, res, requestId, log);
    return true;
  };
}

async function stream(client: ServiceClient<typeof ReportingService>, snapshotId: string, pageBytes: number, req: Req, res: Res, requestId: string, log: Logger): Promise<void> {
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
  const authorization = req.headers[AUTHORIZATION_HEADER];
  if (typeof authorization === "string") headers[AUTHORIZATION_HEADER] = authorization;
  const page = (pageToken: string) =>
    client.exportReportSnapshotCsv({ snapshotId, pageToken, maxBytes: pageBytes }, { headers, signal: abort.signal, timeoutMs: PAGE_TIMEOUT_MS });

  let first;
  try {
    first = await page("");
  } catch (err) {
    const { status, body } = httpErrorOf(err);
    if (status >= 500) log.warn({ err: (err as Error).message, requestId }, "report CSV export failed");
    if (!res.headersSent && !abort.signal.aborted) sendJson(res, status, body, requestId);
    return;
  }
  res.statusCode = 200;
  res.setHeader("Content-Type", "text/csv; charset=utf-8");
  res.setHeader("Content-Disposition", `attachment; filename="report-${snapshotId}.csv"`);
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Request-Id", requestId);
  if (first.metadata !== undefined) {
    res.setHeader("X-Content-SHA256", first.metadata.contentSha256);
    res.setHeader("X-Ledger-Position", first.metadata.ledgerPosition.toString());
  }
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  let current = first;
  try {
    for (;;) {
      if (abort.signal.aborted) return;
      if (current.csv.length > 0 && !(res as ServerResponse).write(current.csv)) await waitForDrain(res);
      if (current.nextPageToken === "" || abort.signal.aborted) break;
      current = await page(current.nextPageToken);
    }
    res.end();
  } catch (err) {
    // Headers and some bytes are out: only aborting tells the client the file is incomplete.
    log.warn({ err: (err as Error).message, requestId }, "report CSV export failed mid-stream");
    res.destroy(err as Error);
  }
}
