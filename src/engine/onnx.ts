/**
 * ONNX serialisation: ModelProto, GraphProto, NodeProto, TensorProto, AttributeProto and
 * ValueInfoProto, with the field numbers of onnx/onnx.proto (IR version 8, opset 17).
 */
import { ProtoWriter } from './protobuf.js';

/** Element types the engine uses. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DATA_TYPE: Record<DType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };

/** The opset the builder targets: 17 has ScatterND/ScatterElements with reduction and LayerNormalization. */
export const ONNX_OPSET = 17;
/** IR version that goes with opset 17. */
export const ONNX_IR_VERSION = 8;

/** Host data for a constant tensor. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

/** A constant tensor (initializer or attribute value). */
export interface OnnxTensor {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data: TensorData;
}

/** An attribute value: integers are INT, `{ float }` is FLOAT, arrays of integers are INTS. */
export type AttributeValue =
  | number
  | readonly number[]
  | string
  | { float: number }
  | { floats: readonly number[] }
  | { tensor: OnnxTensor };

/** One node of the graph. */
export interface OnnxNode {
  opType: string;
  domain?: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, AttributeValue>>;
}

/** A graph input or output declaration. */
export interface OnnxValueInfo {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/** Everything needed to write a ModelProto. */
export interface OnnxModel {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  /** Extra opset domains, e.g. `com.microsoft` for ONNX Runtime's contrib ops. */
  extraDomains?: readonly { domain: string; version: number }[];
}

function writeTensor(writer: ProtoWriter, tensor: OnnxTensor): void {
  writer.packedInt64Field(1, tensor.shape);
  writer.int64Field(2, ONNX_DATA_TYPE[tensor.dtype]);
  writer.stringField(8, tensor.name);
  // raw_data is little-endian, as are the hosts Node runs on.
  writer.bytesField(9, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
}

function writeAttribute(writer: ProtoWriter, name: string, value: AttributeValue): void {
  writer.stringField(1, name);
  if (typeof value === 'number') {
    writer.int64Field(3, value);
    writer.int64Field(20, 2);
  } else if (typeof value === 'string') {
    writer.stringField(4, value);
    writer.int64Field(20, 3);
  } else if (Array.isArray(value)) {
    writer.packedInt64Field(8, value as readonly number[]);
    writer.int64Field(20, 7);
  } else if ('float' in (value as object)) {
    writer.floatField(2, (value as { float: number }).float);
    writer.int64Field(20, 1);
  } else if ('floats' in (value as object)) {
    writer.packedFloatField(7, (value as { floats: readonly number[] }).floats);
    writer.int64Field(20, 6);
  } else {
    writer.messageField(5, (inner) => writeTensor(inner, (value as { tensor: OnnxTensor }).tensor));
    writer.int64Field(20, 4);
  }
}

function writeValueInfo(writer: ProtoWriter, info: OnnxValueInfo): void {
  writer.stringField(1, info.name);
  writer.messageField(2, (type) =>
    type.messageField(1, (tensorType) => {
      tensorType.int64Field(1, ONNX_DATA_TYPE[info.dtype]);
      tensorType.messageField(2, (shape) => {
        for (const dimension of info.shape) shape.messageField(1, (dim) => dim.int64Field(1, dimension));
      });
    }),
  );
}

/**
 * Serialises a model to ONNX protobuf bytes, ready for `InferenceSession.create(bytes)`.
 *
 * @example
 * const bytes = encodeOnnxModel({ name: 'add', nodes: [{ opType: 'Add', name: 'n0', inputs: ['a', 'b'], outputs: ['c'], attributes: {} }],
 *   initializers: [], inputs: [{ name: 'a', dtype: 'float32', shape: [2] }, { name: 'b', dtype: 'float32', shape: [2] }],
 *   outputs: [{ name: 'c', dtype: 'float32', shape: [2] }] });
 */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const writer = new ProtoWriter();
  writer.int64Field(1, ONNX_IR_VERSION);
  writer.stringField(2, 'o1-embedder');
  writer.stringField(3, '0.1.0');
  writer.messageField(7, (graph) => {
    for (const node of model.nodes) {
      graph.messageField(1, (nodeWriter) => {
        for (const input of node.inputs) nodeWriter.stringField(1, input);
        for (const output of node.outputs) nodeWriter.stringField(2, output);
        nodeWriter.stringField(3, node.name);
        nodeWriter.stringField(4, node.opType);
        for (const [name, value] of Object.entries(node.attributes)) {
          nodeWriter.messageField(5, (attribute) => writeAttribute(attribute, name, value));
        }
        if (node.domain !== undefined && node.domain !== '') nodeWriter.stringField(7, node.domain);
      });
    }
    graph.stringField(2, model.name);
    for (const initializer of model.initializers) graph.messageField(5, (tensor) => writeTensor(tensor, initializer));
    for (const input of model.inputs) graph.messageField(11, (info) => writeValueInfo(info, input));
    for (const output of model.outputs) graph.messageField(12, (info) => writeValueInfo(info, output));
  });
  writer.messageField(8, (opset) => {
    opset.stringField(1, '');
    opset.int64Field(2, ONNX_OPSET);
  });
  for (const extra of model.extraDomains ?? []) {
    writer.messageField(8, (opset) => {
      opset.stringField(1, extra.domain);
      opset.int64Field(2, extra.version);
    });
  }
  return writer.finish();
}
