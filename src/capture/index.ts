export { allocateBatch, LinkType, type CaptureStats, type PacketBatch, type PacketSource } from './batch.js';
export { CaptureFileError, openCaptureFile, readCaptureBuffer, type CaptureFileOptions, inputProblem, regularFileSize, STDIN, zstdAvailable, compileBpf, FilterError, PacketFilter, undecodedLinkTypesText, InputTimeline } from './file/index.js';
