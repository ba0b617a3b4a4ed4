import { fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

export const methodPath = (method: DescMethod): string => `/${method.parent.typeName}/${method.name}`;

const passThrough = (buf: Buffer): Buffer => buf;

const encoded = new WeakMap<object, Buffer>();

/**
 * A response's bytes, encoded once per message object: the idempotency layer
 * stores the bytes that grpc-js then sends. Responses are built per call and
 * not changed once returned, so the bytes stay the message's.
 */
export function encodeOnce<S extends DescMessage>(schema: S, message: MessageShape<S>): Buffer {
  let bytes = encoded.get(message);
  if (bytes === undefined) {
    const u8 = toBinary(schema, message);
    bytes = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    encoded.set(message, bytes);
  }
  return bytes;
}

/**
 * A grpc-js service definition straight from a protobuf-es descriptor: no
 * second code generator. Requests arrive as raw bytes and are decoded by the
 * handler, so that a malformed message becomes INVALID_ARGUMENT rather than
 * grpc-js's generic INTERNAL.
 */
export function serverDefinitionOf(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Buffer, unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") throw new Error(`${methodPath(method)}: only unary RPCs are supported`);
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: false,
      responseStream: false,
      originalName: method.name,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: (msg) => encodeOnce(method.output, msg as never),
      responseDeserialize: (buf: Buffer) => fromBinary(method.output, buf),
    };
  }
  return definition as ServiceDefinition;
}

/** Client-side definition: typed messages both ways. */
export function clientDefinitionOf(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: false,
      responseStream: false,
      originalName: method.name,
      requestSerialize: (msg) => Buffer.from(toBinary(method.input, msg as never)),
      requestDeserialize: (buf: Buffer) => fromBinary(method.input, buf),
      responseSerialize: (msg) => encodeOnce(method.output, msg as never),
      responseDeserialize: (buf: Buffer) => fromBinary(method.output, buf),
    };
  }
  return definition as ServiceDefinition;
}
