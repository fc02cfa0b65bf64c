// Public API of the ONNX layer: load/save (with external data), locate and rewrite the vocabulary
// tensors, build graphs from config.json + safetensors, open a model folder for inference.
export { DataType, type ModelProto, type TensorProto, type NodeProto, type GraphProto } from './onnxProto';
export {
  loadOnnxModel,
  decodeOnnxModel,
  saveOnnxModel,
  encodeOnnxModel,
  readTensorAsFloat32,
  findInitializer,
  EXTERNAL_DATA_THRESHOLD_BYTES,
  externalDataFiles,
  hasExternalTensors,
  tensorDataBytes,
  type LoadOnnxOptions,
  type OnnxModel,
  type SaveOnnxOptions,
} from './modelIO';
export {
  findVocabTensors,
  readEmbeddingMatrix,
  readDecoderMatrix,
  readDecoderBias,
  transposeMatrix,
  type VocabTensors,
} from './vocabTensors';
export { rewriteVocabulary, type VocabularyRewrite, type VocabularyRewriteResult } from './rewriteVocabulary';
export { buildOnnxFromConfig, graphInputNames, findSafetensors, BUILD_OPSET, type BuildOnnxOptions, type ModelHead } from './buildFromConfig';
export {
  loadModelGraph,
  loadModelForInference,
  createSession,
  onnxPathOf,
  type LoadedModel,
  type InferenceModel,
  type LoadModelOptions,
} from './inference';
export { float32ToFloat16Bits, float16BitsToFloat32 } from './tensors';
