export { Pipeline, callTrackerOptions, type CallViewFactory, type PipelineEvents, type RtcpFacts, type RtcpLookup } from './pipeline.js';
export type { CallView, CallViewHooks } from './call-view.js';
export { ReportSink, type Envelope, type ReportTarget } from './report-sink.js';
export { openOutputs, type Outputs, type OpenOutputsOptions, type OutputDestinationStats } from './outputs.js';
export { formatStreamTable, StreamTable, TABLE_FORMATS, type StreamSelection, type TableFormat } from './summary.js';
export { StreamContexts } from './stream-context.js';
export { MediaFaultMonitor, mediaFaultLimits, type MediaFaultLimits } from './media-faults.js';
