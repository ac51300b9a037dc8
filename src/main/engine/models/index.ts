export * from './config';
export { SiameseModel, buildSiamese, saveSiamese, loadSiamese, SIAMESE_JSON } from './siamese';
export { loadBackbone, buildFromBackbone, backboneBlocks, defaultCutLayer, savedModelInputShape } from './pretrained';
export { cutPointLayers } from './layers-util';
