export { openLiveCapture } from './open.js';
export { listInterfaces, type CaptureInterface } from './interfaces.js';
export { readableWithinMs, type LivePacketSource, type LiveBackendName } from './live-source.js';
export { LIVE_DEFAULTS, resolveLiveOptions, type LiveBackend, type LiveCaptureOptions } from './options.js';
export { liveStatsDelta, type LiveCaptureStats } from './stats.js';
export { loadNativeAddon } from './native-addon.js';
export { readLinkState, type LinkState } from './link-state.js';
export { countLonger, interfaceMtu, longestWireFrame } from './merged-frames.js';
