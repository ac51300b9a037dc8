// A small builder for an ONNX graph over the onnx-proto schema (ONNX 1.10's onnx.proto):
// unique value names, nodes, initializers (weights as raw little-endian bytes), the graph's
// inputs and outputs, and the final ModelProto bytes. It knows nothing about tfjs; the layer
// converters (layers.ts) and the graph walk (export.ts) use it.
import { onnx } from 'onnx-proto';

/** An attribute value with its ONNX type made explicit (1 as an INT and 1 as a FLOAT differ). */
export type OnnxAttribute =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string };

export const attr = {
  int: (value: number): OnnxAttribute => ({ type: 'int', value }),
  ints: (value: readonly number[]): OnnxAttribute => ({ type: 'ints', value }),
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
};

/** A dimension of a graph input or output: a size, or a symbolic name such as 'batch'. */
export type OnnxDim = number | string;

/** The onnx opset the exporter writes (operators as of ONNX 1.8) and the IR version that goes with it. */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

function toAttributeProto(name: string, a: OnnxAttribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(name: string, dims: readonly OnnxDim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The bytes of a typed array as raw_data wants them: little-endian, which is the byte order of every platform Node runs on. */
function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

function checkSize(base: string, dims: readonly number[], length: number): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) throw new Error(`ONNX initializer "${base}": shape [${dims.join(', ')}] holds ${size} values, got ${length}`);
}

export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();

  /** `reserved` names are never handed out by uniqueName (the graph's input and output names). */
  constructor(reserved: readonly string[] = []) {
    for (const n of reserved) this.usedNames.add(n);
  }

  /** `base` if no value or node has that name yet, else base_1, base_2, ... */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  /** A float32 constant (a weight) of shape `dims`; returns its value name. */
  addFloatInitializer(base: string, dims: readonly number[], data: Float32Array): string {
    checkSize(base, dims, data.length);
    const name = this.uniqueName(base);
    this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: rawBytes(data) });
    return name;
  }

  /** An int64 constant (axes, indices, shapes); returns its value name. */
  addInt64Initializer(base: string, dims: readonly number[], values: readonly number[]): string {
    checkSize(base, dims, values.length);
    const name = this.uniqueName(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, rawData: rawBytes(data) });
    return name;
  }

  /** A float32 scalar constant. */
  addScalar(base: string, value: number): string {
    return this.addFloatInitializer(base, [], Float32Array.of(value));
  }

  /**
   * Appends a node with one output and returns the output's name (`output` exactly if given,
   * else a fresh name from `base`). Nodes must be added in topological order.
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttribute> = {},
    base = opType,
    output?: string,
  ): string {
    const out = output ?? this.uniqueName(base);
    if (output !== undefined) this.usedNames.add(output);
    this.nodes.push({
      opType,
      name: this.uniqueName(`${base}/${opType}`),
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attributes).map(([n, a]) => toAttributeProto(n, a)),
    });
    return out;
  }

  /** Declares a float graph input (its name must have been reserved or be unused). */
  addGraphInput(name: string, dims: readonly OnnxDim[]): string {
    this.usedNames.add(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares a float graph output: a value some node produces under exactly this name. */
  addGraphOutput(name: string, dims: readonly OnnxDim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** The serialised ModelProto (the bytes of a .onnx file). */
  encodeModel(meta: { graphName: string; producerVersion: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'SimLens',
      producerVersion: meta.producerVersion,
      docString: meta.docString ?? '',
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    const problem = onnx.ModelProto.verify(model);
    if (problem) throw new Error(`ONNX export built an invalid ModelProto: ${problem}`);
    return onnx.ModelProto.encode(model).finish();
  }
}
