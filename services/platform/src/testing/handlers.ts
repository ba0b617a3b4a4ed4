// Tests only: a service's gRPC handlers driven without a server, over a
// recording fake of its use cases, for the adapter unit tests (no database,
// no network). Shared by every service whose adapter tests check requests.
import { create, type DescMessage, type DescMethod, type MessageInitShape } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import type { ExecutionContext } from "ava";
import type { Caller } from "../auth.js";
import type { RequestContext } from "../context.js";
import { DomainError } from "../errors.js";
import type { RemoteFirstHandler, ServiceBinding, UnaryHandler } from "../grpc/server.js";
import { capturedLogger } from "./captured-logger.js";

export interface RecordedCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** What a two-phase use case answers: its result once run. */
export const prepared = <R>(value: R) => ({ run: async () => value });

/**
 * A T whose every method records its call and answers from `answers`
 * (a method without an answer rejects, so a test sees what it did not expect).
 */
export function recordingFake<T extends object>(answers: Partial<Record<keyof T, unknown>>): { fake: T; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const fake = new Proxy({} as T, {
    get(_target, property) {
      if (typeof property !== "string") return undefined;
      return (...args: unknown[]) => {
        calls.push({ method: property, args });
        if (!(property in answers)) return Promise.reject(new Error(`fake use case ${property} has no answer`));
        return Promise.resolve(answers[property as keyof T]);
      };
    },
  });
  return { fake, calls };
}

/** The context the kit's server would hand a handler of `method` for `caller`. */
export const contextFor = (method: DescMethod, caller: Caller): RequestContext => ({
  method,
  requestId: "test-request",
  caller,
  deadline: undefined,
  idempotencyKey: undefined,
  metadata: new Metadata(),
  signal: new AbortController().signal,
  log: capturedLogger().log,
});

/**
 * Calls the binding's handler of `localName` as `caller`. A remoteFirst
 * handler runs as the kit's server runs it: prepare (validation, peer reads),
 * then handle with what prepare returned.
 */
export async function callHandler(binding: ServiceBinding, localName: string, request: unknown, caller: Caller): Promise<unknown> {
  const handler: UnaryHandler | undefined = binding.handlers[localName];
  const method = binding.service.methods.find((m) => m.localName === localName);
  if (handler === undefined || method === undefined) throw new Error(`no handler ${localName}`);
  const ctx = contextFor(method, caller);
  const twoPhase = handler as unknown as Partial<RemoteFirstHandler>;
  if (twoPhase.prepare && twoPhase.handle) return twoPhase.handle(request as never, ctx, await twoPhase.prepare(request as never, ctx));
  return handler(request as never, ctx);
}

/** A binding over a fresh recording fake, and call(localName, request) as one caller. */
export interface FakeHandlers {
  readonly binding: ServiceBinding;
  readonly calls: RecordedCall[];
  call(localName: string, request: unknown): Promise<unknown>;
}

/** Binds `bind`'s handlers over a recording fake answering from `answers`; calls are made as `caller`. */
export function fakeHandlers<T extends object>(
  bind: (useCases: T) => ServiceBinding,
  answers: Partial<Record<keyof T, unknown>>,
  caller: Caller,
): FakeHandlers {
  const { fake, calls } = recordingFake<T>(answers);
  const binding = bind(fake);
  return { binding, calls, call: (localName, request) => callHandler(binding, localName, request, caller) };
}

/** Request-check assertions over fresh fake handlers from `handlers` (one set per assertion). */
export function requestChecks(handlers: () => FakeHandlers) {
  return {
    /** Calls `method` and asserts INVALID_ARGUMENT with exactly these violations (field -> reason), and no use-case call. */
    async expectViolations<D extends DescMessage>(
      t: ExecutionContext,
      method: string,
      schema: D,
      init: MessageInitShape<D>,
      expected: Record<string, string>,
    ): Promise<void> {
      const { call, calls } = handlers();
      const err = await t.throwsAsync(call(method, create(schema, init)), { instanceOf: DomainError });
      t.is(err?.kind, "invalid_argument");
      t.is(err?.reason, "INVALID_ARGUMENT");
      const got = Object.fromEntries((err?.fieldViolations ?? []).map((v) => [v.field, v.reason ?? ""]));
      t.deepEqual(got, expected, `${method}: ${err?.message}`);
      t.deepEqual(calls, [], "no use case was called");
    },

    /** Calls `method` and asserts it reached exactly one use case; returns that call. */
    async expectAccepted<D extends DescMessage>(
      t: ExecutionContext,
      method: string,
      schema: D,
      init: MessageInitShape<D>,
    ): Promise<RecordedCall> {
      const { call, calls } = handlers();
      await call(method, create(schema, init));
      t.is(calls.length, 1, `${method} reached its use case`);
      return calls[0]!;
    },
  };
}
