// What the explanation service needs to know of a model version, read from its graph.
import type { Shape3 } from '../data/dataset';
import type { SiameseModel } from '../models/siamese';
import { sanityLayers } from './sanity-pair';

/**
 * A model version as the explanation service sees it: the target layers and input shape it
 * validates requests with and decodes images at, read from the loaded model's graph. Plain
 * data (structured-cloneable): computed in a worker when there is a pool, so the thread that
 * serves the UI does not load the model only to learn these.
 */
export interface ModelDescription {
  /** SiameseModel.camLayers(): the valid Grad-CAM targets, input to output */
  camLayers: string[];
  /** SiameseModel.defaultCamLayer(); null when it throws (then `noDefaultCamLayer` is its message) */
  defaultCamLayer: string | null;
  noDefaultCamLayer?: string;
  /** the model's input shape (config.inputShape) */
  inputShape: Shape3;
  /** sanityLayers(): the layers the sanity check randomises, top first */
  sanityLayers: string[];
}

/** The description of a loaded model (no tensor work: its graph and config only). */
export function describeModel(model: SiameseModel): ModelDescription {
  let defaultCamLayer: string | null = null;
  let noDefaultCamLayer: string | undefined;
  try {
    defaultCamLayer = model.defaultCamLayer();
  } catch (e) {
    noDefaultCamLayer = e instanceof Error ? e.message : String(e);
  }
  return {
    camLayers: model.camLayers(),
    defaultCamLayer,
    ...(noDefaultCamLayer !== undefined ? { noDefaultCamLayer } : {}),
    inputShape: [...model.config.inputShape] as Shape3,
    sanityLayers: sanityLayers(model),
  };
}
