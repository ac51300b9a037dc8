// DepthwiseConv2dNativeBackpropFilter / BackpropInput for the wasm backend (tfjs-backend-wasm 4.22
// has neither, so training MobileNetV2 on wasm fails without them).
//
// x [N,H,W,C], filter [kh,kw,C,M], dy [N,Ho,Wo,C*M], stride s, dilation d (s or d is 1):
//   y[n,p,q,c*M+m] = sum_{i,j} x[n, p*s + i*d - pt, q*s + j*d - pl, c] * w[i,j,c,m]
//
// Filter gradient: dW[i,j,c,m] = sum_{n,p,q} x[n, p*s + i*d - pt, ...] * dy[n,p,q,c*M+m].
// Folding the batch into the channels turns it into ONE depthwise convolution with dy as the
// filter (the depthwise form of the Conv2DBackpropFilter trick):
//   X' = reshape(transpose(x, [1,2,0,3]), [1, H, W, N*C])
//   F  = reshape(transpose(dy, [1,2,0,3]), [Ho, Wo, N*C, M])
//   O  = depthwiseConv2d(X', F, stride d, dilation s, pads)   [1, kh, kw, N*C*M]
//   dW = sum over n of reshape(O, [kh, kw, N, C*M])  -> [kh, kw, C, M]
// Input gradient: a depthwise correlation of dy with the 180-degree-rotated filter (multiplier M
// flattened into the channels, then summed), by phases when strided (see conv2d-backprop-input).
import * as tf from '@tensorflow/tfjs';
import { phased } from './conv2d-backprop-input';
import { type ExplicitPadding, type KernelBackend, type TensorInfo, pair, withScope } from './util';

export interface DepthwiseBackpropAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
export interface DepthwiseBackpropFilterAttrs extends DepthwiseBackpropAttrs {
  filterShape: [number, number, number, number];
}
export interface DepthwiseBackpropInputAttrs extends DepthwiseBackpropAttrs {
  inputShape: [number, number, number, number];
}

function geometry(xShape: number[], filterShape: number[], attrs: DepthwiseBackpropAttrs) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const [dh, dw] = pair(attrs.dilations ?? 1);
  return { info, dh, dw };
}

export function depthwiseBackpropFilterImpl(
  backend: KernelBackend,
  backendName: string,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: DepthwiseBackpropFilterAttrs,
): TensorInfo {
  const { info, dh, dw } = geometry(x.shape, attrs.filterShape, attrs);
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const m = attrs.filterShape[3];
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(backend, backendName, (s) => {
    // Rows of x needed for output rows [0, kh) of the correlation (stride d, dilation s).
    const needH = (kh - 1) * dh + (ho - 1) * sh + 1 - pt;
    const needW = (kw - 1) * dw + (wo - 1) * sw + 1 - pl;
    const hUse = Math.min(h, needH);
    const wUse = Math.min(w, needW);
    let xs = x;
    if (n > 1) xs = s.transpose(x, [1, 2, 0, 3]); // [H, W, N, C]
    xs = s.reshape(xs, [1, h, w, n * c]);
    xs = s.slice(xs, [0, 0, 0, 0], [1, hUse, wUse, n * c]);
    let f = dy;
    if (n > 1) f = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, C*M]
    f = s.reshape(f, [ho, wo, n * c, m]);
    const padding: ExplicitPadding = [
      [0, 0],
      [pt, needH - hUse],
      [pl, needW - wUse],
      [0, 0],
    ];
    const o = s.run('DepthwiseConv2dNative', { x: xs, filter: f }, {
      strides: [dh, dw],
      pad: padding,
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    } as unknown as tf.NamedAttrMap);
    if (o.shape[1] !== kh || o.shape[2] !== kw)
      throw new Error(`DepthwiseConv2dNativeBackpropFilter (${backendName}): internal shape ${o.shape}`);
    if (n === 1) return s.run('Reshape', { x: o }, { shape: [kh, kw, c, m] });
    const r = s.reshape(o, [kh, kw, n, c * m]);
    const sum = s.run('Sum', { x: r }, { axis: [2], keepDims: false }); // [kh, kw, C*M]
    return s.run('Reshape', { x: sum }, { shape: [kh, kw, c, m] });
  });
}

export function depthwiseBackpropInputImpl(
  backend: KernelBackend,
  backendName: string,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: DepthwiseBackpropInputAttrs,
): TensorInfo {
  const { info, dh, dw } = geometry(attrs.inputShape, filter.shape, attrs);
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const m = filter.shape[3];
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(backend, backendName, (s) => {
    const flat = s.reshape(filter, [kh, kw, c * m, 1]); // channel c*M+m, like dy's
    let dxm: TensorInfo; // [N, H, W, C*M]
    if (sh === 1 && sw === 1) {
      const rev = s.run('Reverse', { x: flat }, { dims: [0, 1] });
      const padding: ExplicitPadding = [
        [0, 0],
        [(kh - 1) * dh - pt, h - ho + pt],
        [(kw - 1) * dw - pl, w - wo + pl],
        [0, 0],
      ];
      dxm = s.run('DepthwiseConv2dNative', { x: dy, filter: rev }, {
        strides: [1, 1],
        pad: padding,
        dilations: [dh, dw],
        dimRoundingMode: undefined,
      } as unknown as tf.NamedAttrMap);
    } else {
      if (dh !== 1 || dw !== 1) throw new Error(`DepthwiseConv2dNativeBackpropInput (${backendName}): strides and dilations both > 1`);
      dxm = phased(s, dy, flat, { n, h, w, ci: c * m, ho, wo, sh, sw, kh, kw, pt, pl }, 'depthwise');
    }
    if (m === 1) return dxm;
    const r = s.reshape(dxm, [n, h, w, c, m]);
    return s.run('Sum', { x: r }, { axis: [4], keepDims: false });
  });
}

export function makeDepthwiseBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      depthwiseBackpropFilterImpl(
        backend as KernelBackend,
        backendName,
        inputs.x as TensorInfo,
        inputs.dy as TensorInfo,
        attrs as unknown as DepthwiseBackpropFilterAttrs,
      ),
  };
}

export function makeDepthwiseBackpropInputConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      depthwiseBackpropInputImpl(
        backend as KernelBackend,
        backendName,
        inputs.dy as TensorInfo,
        inputs.filter as TensorInfo,
        attrs as unknown as DepthwiseBackpropInputAttrs,
      ),
  };
}
