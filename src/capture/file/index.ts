export { CaptureFileError } from './error.js';
export { CaptureCursor } from './cursor.js';
export { openCaptureFile, readCaptureBuffer, type CaptureFileOptions } from './reader.js';
