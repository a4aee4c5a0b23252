/** The segment engine: pure functions, clock as a parameter. docs/segments.md explains the model. */
export { DEFAULT_ENGINE, DEFAULT_RFM, DAY, type EngineConfig, type RfmConfig } from './config.ts';
export {
  emptyProfile,
  upgradeProfile,
  type Profile,
  type EngineEvent,
  type WindowEntry,
  type Purchases,
} from './profile.ts';
export { applyEvent } from './apply.ts';
export { shares } from './affinity.ts';
export { evaluate, matches, type Subject, type Extras } from './evaluate.ts';
export { activeWithin } from './active.ts';
export { stableUntil } from './stable.ts';
export { mergeProfiles } from './merge.ts';
export {
  compileRules,
  FACTS,
  type CompiledRule,
  type RuleDefinition,
  type RuleProblem,
} from './rules.ts';
export { quintileRanks, rfmLabel, rfmOf, type RfmBreakpoints } from './rfm.ts';
export { diffSegments, type SegmentChange } from './history.ts';
