// Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none, so training a conv
// net on wasm fails without it).
//
// For NHWC, x [N,H,W,Ci], dy [N,Ho,Wo,Co], stride s, forward pads (top pt, left pl):
//   dW[i,j,ci,co] = sum_{n,p,q} x[n, p*s + i - pt, q*s + j - pl, ci] * dy[n,p,q,co]
// which is itself a convolution (the classic trick): take Ci as the batch and N as the channels,
//   X' = transpose(x, [3,1,2,0])   [Ci, H, W, N]
//   F  = transpose(dy, [1,2,0,3])  [Ho, Wo, N, Co]   (dy as the filter)
//   O  = conv2d(X', F, stride 1, dilation s, pads (pt, kh-1+(Ho-1)s+1-H-pt, ...))   [Ci, kh, kw, Co]
//   dW = transpose(O, [1,2,0,3])
// so all the arithmetic runs in wasm's XNNPACK Conv2D (~25-40 GFLOP/s here). Measured against the
// alternatives on the small CNN's layers (64 images): 1.3-1.9x a forward conv; a per-tap matMul
// with transposeA is 3-15x slower (wasm's BatchMatMul with transposeA is not XNNPACK).
// Few input channels (the first layer: grey or RGB images) make that conv inefficient (Ci is its
// batch): there the transposed im2col is cheap and one plain matMul does it,
//   dW[(i,j,ci), co] = sum_k P[(i,j,ci), k] * dy[k, co],  P = taps of transpose(x, [3,0,1,2])
// (64x28x28x1 -> 32: ~6 ms instead of ~15-60 ms).
import * as tf from '@tensorflow/tfjs';
import { type ExplicitPadding, type KernelBackend, type TensorInfo, withScope } from './util';

export interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * The filter gradient of a 2-D convolution, composed of Transpose, Slice and a dilated Conv2D of
 * `backendName`. Exported for the tests and for reuse on other backends lacking the kernel.
 */
export function conv2dBackpropFilterImpl(
  backend: KernelBackend,
  backendName: string,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC')
    throw new Error(`Conv2DBackpropFilter (${backendName}): only NHWC is supported, got ${dataFormat}`);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outChannels: co,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  if (dy.shape[0] !== n || dy.shape[1] !== ho || dy.shape[2] !== wo || dy.shape[3] !== co) {
    throw new Error(`Conv2DBackpropFilter (${backendName}): dy shape ${dy.shape} does not match the forward output [${[n, ho, wo, co]}]`);
  }
  if (ci <= IM2COL_MAX_CHANNELS) return im2col(backend, backendName, x, dy, { n, h, w, ci, co, ho, wo, sh, sw, kh, kw, pt, pl });
  return withScope(backend, backendName, (s) => {
    // Rows/columns of x the forward pass never read (valid padding with a stride) are cropped so
    // that the correlation's output is exactly kh x kw; missing ones are zero-padded.
    const needH = kh + (ho - 1) * sh - pt; // rows of x (from 0) that the output [0, kh) touches
    const needW = kw + (wo - 1) * sw - pl;
    let xt = s.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
    const hUse = Math.min(h, needH);
    const wUse = Math.min(w, needW);
    xt = s.slice(xt, [0, 0, 0, 0], [ci, hUse, wUse, n]);
    const pb = needH - hUse;
    const pr = needW - wUse;
    const f = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
    const padding: ExplicitPadding = [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ];
    const o = s.run('Conv2D', { x: xt, filter: f }, {
      strides: [1, 1],
      pad: padding,
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    } as unknown as tf.NamedAttrMap); // [Ci, kh, kw, Co]
    if (o.shape[1] !== kh || o.shape[2] !== kw) throw new Error(`Conv2DBackpropFilter (${backendName}): internal shape ${o.shape}`);
    return s.transpose(o, [1, 2, 0, 3]);
  });
}

/** Up to this many input channels the im2col + matMul form is used. */
export const IM2COL_MAX_CHANNELS = 4;

function im2col(
  backend: KernelBackend,
  backendName: string,
  x: TensorInfo,
  dy: TensorInfo,
  g: {
    n: number;
    h: number;
    w: number;
    ci: number;
    co: number;
    ho: number;
    wo: number;
    sh: number;
    sw: number;
    kh: number;
    kw: number;
    pt: number;
    pl: number;
  },
): TensorInfo {
  const { n, h, w, ci, co, ho, wo, sh, sw, kh, kw, pt, pl } = g;
  const k = n * ho * wo;
  return withScope(backend, backendName, (s) => {
    const xt = s.transpose(x, [3, 0, 1, 2]); // [Ci, N, H, W]
    const needH = kh + (ho - 1) * sh - pt;
    const needW = kw + (wo - 1) * sw - pl;
    const xp = s.pad(xt, [
      [0, 0],
      [0, 0],
      [pt, Math.max(0, needH - h)],
      [pl, Math.max(0, needW - w)],
    ]);
    const taps: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = s.run(
          'StridedSlice',
          { x: xp },
          {
            begin: [0, 0, i, j],
            end: [ci, n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1],
            strides: [1, 1, sh, sw],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          },
        ); // [Ci, N, Ho, Wo]
        taps.push(s.reshape(tap, [ci, k]));
      }
    }
    const p = taps.length === 1 ? taps[0] : s.run('Concat', taps as unknown as Record<string, TensorInfo>, { axis: 0 }); // [kh*kw*Ci, K]
    const d = s.reshape(dy, [k, co]);
    const out = s.run('BatchMatMul', { a: p, b: d }, { transposeA: false, transposeB: false }); // [kh*kw*Ci, Co]
    return s.run('Reshape', { x: out }, { shape: [kh, kw, ci, co] });
  });
}

export function makeConv2dBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      conv2dBackpropFilterImpl(
        backend as KernelBackend,
        backendName,
        inputs.x as TensorInfo,
        inputs.dy as TensorInfo,
        attrs as unknown as Conv2DBackpropFilterAttrs,
      ),
  };
}
