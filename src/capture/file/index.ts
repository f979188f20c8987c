export { CaptureFileError } from './error.js';
export { openCaptureFile, readCaptureBuffer, type CaptureFileOptions } from './reader.js';
