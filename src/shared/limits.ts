// Numeric bounds shared by the contract's argument validators, the services and the
// CLI, so that each is written once.

/** The largest seed accepted anywhere (pairs, training, metrics): 2^31 - 1, a positive int32. */
export const SEED_MAX = 2 ** 31 - 1;
