import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "../../../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../../../gen/grpc/reflection/v1/reflection_pb.js";

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.name)) return;
  into.set(file.name, file);
  for (const dep of file.dependencies) collectFiles(dep, into);
}

/**
 * Serves grpc.reflection (v1 and v1alpha) from the protobuf-es descriptors of
 * the given services and every file they import, so grpcurl can list,
 * describe and call without local .proto files.
 */
export function addReflection(server: Server, services: readonly DescService[], extraFiles: readonly DescFile[] = []): void {
  const files = new Map<string, DescFile>();
  for (const service of services) collectFiles(service.file, files);
  for (const file of [file_grpc_health_v1_health, file_grpc_reflection_v1_reflection, ...extraFiles]) {
    collectFiles(file, files);
  }
  const fileDescriptorProtos = [...files.values()].map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  const packageDefinition = { fleetmesh: { fileDescriptorProtos } };
  new ReflectionService(packageDefinition as never, {
    services: [...services.map((s) => s.typeName), "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"],
  }).addToServer(server);
}
