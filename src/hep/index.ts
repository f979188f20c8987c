export * from './types.js';
export { encodeHep3, HepEncodeStatus, HepEncodeError, describeHepEncodeStatus } from './encode.js';
export type { HepEncodeStatusCode } from './encode.js';
export { decodeHep3Strict, HepDecodeError } from './decode.js';
export type { HepDecodeErrorCode } from './decode.js';
export { HepStreamDeframer } from './deframe.js';
export { writeIpv4, writeIpv6, formatIpv4, formatIpv6 } from './ip.js';
