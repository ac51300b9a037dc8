// Why a model cannot be exported to ONNX. The layer and its class are fields as well as in the
// message, so the caller that falls back to tfjs can show the reason (issue #12: app.info).

export class OnnxExportError extends Error {
  constructor(
    message: string,
    /** The tfjs layer that stopped the export, if one did. */
    readonly layerName?: string,
    /** Its tfjs class name (getClassName()), e.g. 'UpSampling2D'. */
    readonly className?: string,
  ) {
    super(message);
    this.name = 'OnnxExportError';
  }
}

/** The error for a layer, or a layer setting, the exporter does not convert. */
export function unsupported(layerName: string, className: string, what: string): OnnxExportError {
  return new OnnxExportError(`ONNX export: layer "${layerName}" (class ${className}) ${what}`, layerName, className);
}
