/**
 * The protobuf types of OTLP trace export, loaded once with protobufjs from the `.proto`
 * definitions under `collector/proto/` (the same path from `src/` and from `dist/`).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // google/protobuf/* are bundled with protobufjs; everything else lives in PROTO_DIR.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : PROTO_DIR + target);
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto']);
  root.resolveAll();
  return root;
}

const root = loadRoot();

export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const RpcStatus = root.lookupType('google.rpc.Status');
