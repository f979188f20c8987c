/** Report-time formatting of addresses held as 32-bit words (never called per packet). */
import { addressToString, macToString } from '../decode/text.js';

/** Stream addresses are stored as DecodedPacket words, so the decoder's text forms fit. */
export const formatIp = addressToString;

/** "00-04-13-29-64-22", the form HOMER shows. */
export const formatMac = macToString;
