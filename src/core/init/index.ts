// `sembridge init` and its building blocks (also used by `compare`, `demo` and the extension worker).
export {
  prepareTransfer,
  computeInit,
  writeInitOutput,
  runInit,
  INIT_CODE_VERSION,
  type InitOptions,
  type InitSummary,
  type PreparedTransfer,
  type ComputedInit,
  type RunControl,
  type WriteOutputOptions,
} from './runInit';
export { buildMapping, mappingEntries, mappingToJsonl, matchCounts, supportSummary, writeMappingJsonl, MAPPING_MAX_SOURCES, type SupportSummary, type MappingSummary } from './mapping';
export { PROBE_SENTENCES, pickProbeLanguage, probeDiagnostics, type ProbeDiagnostics } from './probe';
export { readSourceWeights, classifySafetensors, type SourceWeights } from './sourceWeights';
