/**
 * What the CI test draws from: the scenario kinds, encapsulations and IPv6 share on which the probe
 * equals tshark today. `npm run difftest` draws from every kind by default.
 */
import { FIELD_KINDS, WRAPS, type FieldKind } from '../../src/gen/index.js';
import type { Selection } from './run.js';

/** Kinds left out of CI, each with the behaviour that makes it differ from tshark. */
export const KNOWN_DIFFERENCES: Partial<Record<FieldKind, string>> = {
  'reorder-first': 'a timestamp older than the first packet\'s is taken as unsigned: jitter of millions of ms',
  'events-nosdp': 'unsignalled RFC 4733 events are measured as audio (jitter)',
  'dyn-16k': 'unsignalled dynamic payload types are measured at 8 kHz (jitter)',
  'dyn-48k': 'unsignalled dynamic payload types are measured at 8 kHz (jitter)',
  'dyn-90k': 'unsignalled dynamic payload types are measured at 8 kHz (jitter)',
  'after-bye': 'RTP in flight after the BYE is lost (packets)',
  'rejected-reinvite': 'a rejected re-INVITE moves the media: the stream is split in two reports',
  b2bua: 'legs sharing media addresses: one direction reported under the other leg\'s Call-ID',
  'unsignalled-odd-port': 'the heuristic takes even ports only: unsignalled RTP on odd ports is missed',
  'unsignalled-duplicates': 'SPAN duplicates keep an unsignalled stream in probation forever: missed',
};

export const CI_SELECTION: Selection = {
  kinds: FIELD_KINDS.filter((k) => KNOWN_DIFFERENCES[k] === undefined),
  wraps: WRAPS,
  ipv6Share: 0.25,
};
