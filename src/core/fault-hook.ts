/**
 * Called by multi-step operations between their steps with the name of the
 * step just done. Production code passes none; a test passes one that throws at
 * a chosen step, standing in for a crash there, to prove that every crash point
 * leaves a consistent state. Throwing inside a registry transaction rolls it back.
 */
export type FaultHook = (step: string) => void | Promise<void>;
