// Reordering the axes of a row-major array in plain JS: converts tfjs kernels to ONNX's layout
// at export time without touching a tfjs backend (no tensors to dispose, the same on every backend).

/**
 * out = transpose(data, perm): out's axis i is the input's axis perm[i] (numpy.transpose semantics).
 * `shape` is the input's shape; returns the permuted data and its shape.
 */
export function permuteAxes(
  data: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw new Error(`permuteAxes: [${perm.join(', ')}] is not a permutation of the ${rank} axes of shape [${shape.join(', ')}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`permuteAxes: shape [${shape.join(', ')}] holds ${size} values, got ${data.length}`);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  // Stride in the input of a step along each output axis.
  const strideOfOut = perm.map((p) => inStrides[p]);
  const out = new Float32Array(size);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let dst = 0; dst < size; dst++) {
    out[dst] = data[src];
    // Odometer increment over the output's index, tracking the input offset.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      src += strideOfOut[axis];
      if (index[axis] < outShape[axis]) break;
      src -= strideOfOut[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return { data: out, shape: outShape };
}
