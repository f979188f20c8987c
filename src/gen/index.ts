export * from './packets.js';
export * from './pcap-writer.js';
export * from './rtcp.js';
export * from './tunnels.js';
export * from './sip.js';
export * from './scenario.js';
export * from './sip-scenarios.js';
