/**
 * Repair formats (RTX, FEC) are told by their SDP encoding name whatever its case, compared in place; the
 * answer is the one lower-casing the name gives, for every spelling and for names close to them.
 */
import { describe, expect, it } from 'vitest';
import { isRepairEncoding } from '../../src/rtp/index.js';

/** The answer by the lower-cased name: the definition the in-place comparison must keep. */
function byLowerCase(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'rtx' || n === 'ulpfec' || n === 'parityfec' || n === 'flexfec' || n.startsWith('flexfec-');
}

describe('isRepairEncoding', () => {
  it('takes the repair formats in any case, and flexfec drafts', () => {
    for (const n of ['rtx', 'RTX', 'Rtx', 'ulpfec', 'ULPFEC', 'parityfec', 'ParityFEC', 'flexfec', 'FLEXFEC', 'flexfec-03', 'FlexFEC-20']) expect(isRepairEncoding(n), n).toBe(true);
  });

  it('refuses media and names that only look like them', () => {
    for (const n of ['PCMA', 'pcmu', 'opus', 'AMR', 'red', 'telephone-event', 'rtx2', 'rt', 'ulpfe', 'ulpfecx', 'flexfec03', 'flexfe', 'xflexfec', '', 'parityfe\u0063\u0301']) expect(isRepairEncoding(n), n).toBe(false);
    expect(isRepairEncoding(null)).toBe(false);
    expect(isRepairEncoding(undefined)).toBe(false);
  });

  it('answers as the lower-cased name for every case spelling and for characters around ASCII letters', () => {
    const names = ['rtx', 'ulpfec', 'parityfec', 'flexfec', 'flexfec-03'];
    // Characters next to the letters' ranges, and the only non-ASCII ones whose lower case is ASCII.
    const odd = ['@', '[', '`', '{', '\u0130', '\u212a', '\u017f', '\u00c0'];
    let asked = 0;
    for (const base of names) {
      for (let mask = 0; mask < 1 << base.length; mask++) {
        const spelled = [...base].map((c, i) => (mask & (1 << i) ? c.toUpperCase() : c)).join('');
        expect(isRepairEncoding(spelled), spelled).toBe(byLowerCase(spelled));
        asked++;
      }
      for (let i = 0; i < base.length; i++) {
        for (const c of odd) {
          const changed = base.slice(0, i) + c + base.slice(i + 1);
          expect(isRepairEncoding(changed), changed).toBe(byLowerCase(changed));
          asked++;
        }
      }
    }
    expect(asked).toBeGreaterThan(1000);
  });
});
