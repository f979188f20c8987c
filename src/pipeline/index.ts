export { Pipeline, type PipelineEvents } from './pipeline.js';
export { ReportSink, type Envelope, type ReportSinkOptions } from './report-sink.js';
export { openOutputs, type Outputs } from './outputs.js';
export { formatStreamTable } from './summary.js';
export { StreamContexts } from './stream-context.js';
