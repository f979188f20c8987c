export { CaptureFileError } from './error.js';
export { CaptureCursor } from './cursor.js';
export { openCaptureFile, readCaptureBuffer, type CaptureFileOptions, type CaptureFileReader } from './reader.js';
