/**
 * hep-js, sipcapture's HEP library (untyped), as the independent decoder the HEP tests compare the
 * probe's packets with: its `decapsulate`, typed as what it returns (each chunk it knows, under its name).
 */
import { createRequire } from 'node:module';

export interface HepJsDecoded {
  rcinfo: {
    protocolFamily?: number;
    protocol?: number;
    srcIp?: string;
    dstIp?: string;
    srcPort?: number;
    dstPort?: number;
    timeSeconds?: number;
    timeUseconds?: number;
    payloadType?: number;
    captureId?: number;
    capturePass?: string;
    correlation_id?: string;
    hepNodeName?: string;
    mos?: number;
    transaction_type?: number;
  };
  /** The payload chunk as UTF-8 text. */
  payload?: string;
}

const hepjs = createRequire(import.meta.url)('hep-js') as { decapsulate(packet: Buffer): HepJsDecoded | false | undefined };

/** hep-js's decoding of `packet`; throws where it gives up (it returns false, or nothing without a payload). */
export function hepJsDecode(packet: Buffer): HepJsDecoded {
  const d = hepjs.decapsulate(packet);
  if (!d) throw new Error(`hep-js could not decode the packet ${packet.subarray(0, 16).toString('hex')}...`);
  return d;
}
