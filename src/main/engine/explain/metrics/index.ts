export * from './spearman';
export * from './localization';
export * from './deletion';
export * from './sanity';
export * from './aggregate';
export * from './impute';
