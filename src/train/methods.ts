/**
 * Where the CLI's method factory lived before the registry: src/peft/registry.ts builds every method now.
 * Kept as re-exports because src/train/adapter-dir.ts imports `buildMethod` and `MethodSettings` from here.
 */
import { METHOD_SPECS, type MethodName } from '../peft/registry.js';

export { buildMethod } from '../peft/registry.js';
export type { MethodSettings } from '../peft/spec.js';

/** Each method's default learning rate (its spec's `lr`). */
export const DEFAULT_LR = Object.fromEntries(METHOD_SPECS.map((s) => [s.name, s.lr])) as Record<MethodName, number>;
