// SKELETON: browser-mode entry, to be implemented.
export {};
