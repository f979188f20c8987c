export { CallReportRecorder, DEFAULT_CALL_REPORT_LIMITS, LADDER_TEXT_LIMITS, LIVE_CALL_REPORT_LIMITS, parseSipHead, sdpSummary, type CallReportLimits, type SipRecord } from './recorder.js';
export { LIVE_PAGE_REFRESH_MS, renderCallReportHtml, renderLivePageHtml } from './html.js';
export type { CallReportData, LadderMessage, ReportCall, ReportStream, StreamSeries } from './model.js';
export { packCallReport, unpackCallReport, type PackedCallReport } from './pack.js';
