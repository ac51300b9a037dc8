// SKELETON: preload, to be implemented.
export {};
