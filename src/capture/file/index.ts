export { CaptureFileError, type CaptureFileProblem } from './error.js';
export { CaptureCursor } from './cursor.js';
export { openCaptureFile, readCaptureBuffer, type CaptureFileOptions, type CaptureFileReader } from './reader.js';
export { inputProblem, regularFileSize, STDIN, zstdAvailable } from './input.js';
export { compileBpf, FilterError, PacketFilter, LINKTYPE_ETHERNET } from './bpf.js';
export { undecodedLinkTypesText } from './link-types.js';
export { InputTimeline } from './order.js';
