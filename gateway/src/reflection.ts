import { toBinary, type DescEnum, type DescFile, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { status as GrpcStatus } from "@grpc/grpc-js";
import {
  ServerReflection as ServerReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type ReflectionResponse = Exclude<MessageInitShape<typeof ServerReflectionResponseSchema>, { $typeName: string }>;
type ReflectionAnswer = NonNullable<ReflectionResponse["messageResponse"]>;
type ReflectionQuery = Pick<ServerReflectionRequest, "host" | "messageRequest">;

/**
 * What reflection knows: every file the listed services need (transitively),
 * indexed by file name, by fully-qualified symbol (messages, fields, oneofs,
 * enums, enum values, services, methods, extensions) and by extension.
 */
export interface ReflectionIndex {
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** `${extendee}#${number}` -> the file declaring that extension. */
  readonly extensions: ReadonlyMap<string, DescFile>;
  readonly extensionNumbers: ReadonlyMap<string, readonly number[]>;
}

export function reflectionIndexOf(services: readonly DescService[], extraFiles: readonly DescFile[] = []): ReflectionIndex {
  // Keyed by the .proto path (DescFile.name drops the ".proto" suffix).
  const files = new Map<string, DescFile>();
  const collect = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) collect(dep);
  };
  for (const s of services) collect(s.file);
  for (const f of extraFiles) collect(f);

  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, DescFile>();
  const extensionNumbers = new Map<string, number[]>();
  const addEnum = (e: DescEnum): void => {
    symbols.set(e.typeName, e.file);
    // Enum values are scoped like siblings of their enum (C++ scoping rules).
    const scope = e.typeName.slice(0, e.typeName.lastIndexOf(".") + 1);
    for (const v of e.values) symbols.set(scope + v.name, e.file);
  };
  const addExtension = (x: { typeName: string; file: DescFile; extendee: DescMessage; number: number }): void => {
    symbols.set(x.typeName, x.file);
    extensions.set(`${x.extendee.typeName}#${x.number}`, x.file);
    extensionNumbers.set(x.extendee.typeName, [...(extensionNumbers.get(x.extendee.typeName) ?? []), x.number]);
  };
  const addMessage = (m: DescMessage): void => {
    symbols.set(m.typeName, m.file);
    for (const f of m.fields) symbols.set(`${m.typeName}.${f.name}`, m.file);
    for (const o of m.oneofs) symbols.set(`${m.typeName}.${o.name}`, m.file);
    m.nestedMessages.forEach(addMessage);
    m.nestedEnums.forEach(addEnum);
    m.nestedExtensions.forEach(addExtension);
  };
  for (const file of files.values()) {
    file.messages.forEach(addMessage);
    file.enums.forEach(addEnum);
    file.extensions.forEach(addExtension);
    for (const s of file.services) {
      symbols.set(s.typeName, file);
      for (const m of s.methods) symbols.set(`${s.typeName}.${m.name}`, file);
    }
  }
  return { services: services.map((s) => s.typeName), files, symbols, extensions, extensionNumbers };
}

/** A file and everything it imports, the file first (what reflection clients expect). */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile): void => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const dep of f.dependencies) visit(dep);
  };
  visit(file);
  return out;
}

const notFound = (message: string): ReflectionAnswer =>
  ({ case: "errorResponse", value: { errorCode: GrpcStatus.NOT_FOUND, errorMessage: message } });

const files = (file: DescFile | undefined, what: string): ReflectionAnswer =>
  file ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file) } } : notFound(`${what} not found`);

/** Answers one reflection request (the same for v1 and v1alpha, whose messages match field for field). */
export function answerReflection(index: ReflectionIndex, request: ReflectionQuery): ReflectionResponse {
  const q = request.messageRequest;
  let messageResponse: ReflectionAnswer;
  switch (q.case) {
    case "listServices":
      messageResponse = { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
      break;
    case "fileByFilename":
      messageResponse = files(index.files.get(q.value), `file ${q.value}`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.symbols.get(q.value.replace(/^\./, "")), `symbol ${q.value}`);
      break;
    case "fileContainingExtension":
      messageResponse = files(index.extensions.get(`${q.value.containingType}#${q.value.extensionNumber}`),
        `extension ${q.value.extensionNumber} of ${q.value.containingType}`);
      break;
    case "allExtensionNumbersOfType":
      messageResponse = index.symbols.has(q.value)
        ? { case: "allExtensionNumbersResponse", value: { baseTypeName: q.value, extensionNumber: [...(index.extensionNumbers.get(q.value) ?? [])] } }
        : notFound(`type ${q.value} not found`);
      break;
    default:
      messageResponse = { case: "errorResponse", value: { errorCode: GrpcStatus.INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
  }
  return { validHost: request.host, originalRequest: request as never, messageResponse };
}

/**
 * Serves grpc.reflection.v1 and v1alpha on a Connect router, answered by the
 * gateway from its own descriptors (gen/), so it needs no upstream. Lists the
 * given services plus reflection v1 (not v1alpha, which is still answered),
 * as the services' own reflection (services/platform/src/grpc/reflection.ts) does.
 */
export function addReflection(router: ConnectRouter, services: readonly DescService[], extraFiles: readonly DescFile[] = []): void {
  const index = reflectionIndexOf([...services, ServerReflectionV1], extraFiles);
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answerReflection(index, request);
    },
  });
  router.service(ServerReflectionV1Alpha, {
    async *serverReflectionInfo(requests) {
      // v1alpha's messages are v1's under another package name: same fields, same numbers.
      for await (const request of requests) yield answerReflection(index, request as unknown as ReflectionQuery) as never;
    },
  });
}
