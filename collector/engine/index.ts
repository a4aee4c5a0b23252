/** The segment engine: pure functions, clock as a parameter. */
export { DEFAULT_ENGINE, DAY, type EngineConfig } from './config.ts';
export { emptyProfile, type Profile, type EngineEvent } from './profile.ts';
export { applyEvent } from './apply.ts';
export { evaluate, type Subject } from './evaluate.ts';
