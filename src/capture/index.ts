export { allocateBatch, LinkType, type CaptureStats, type PacketBatch, type PacketSource } from './batch.js';
export { CaptureFileError, openCaptureFile, readCaptureBuffer, type CaptureFileOptions } from './file/index.js';
