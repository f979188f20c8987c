/** Names of pcap link types (the LINKTYPE_ values of tcpdump.org's link-layer header types list). */
const LINK_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NULL'], [1, 'ETHERNET'], [6, 'IEEE802_5'], [8, 'SLIP'], [9, 'PPP'], [10, 'FDDI'], [12, 'RAW'], [14, 'RAW'],
  [50, 'PPP_HDLC'], [51, 'PPP_ETHER'], [101, 'RAW'], [104, 'C_HDLC'], [105, 'IEEE802_11'], [107, 'FRELAY'],
  [108, 'LOOP'], [113, 'LINUX_SLL'], [119, 'PRISM_HEADER'], [127, 'IEEE802_11_RADIOTAP'], [138, 'APPLE_IP_OVER_IEEE1394'],
  [139, 'MTP2_WITH_PHDR'], [140, 'MTP2'], [141, 'MTP3'], [142, 'SCCP'], [143, 'DOCSIS'], [163, 'IEEE802_11_AVS'],
  [187, 'BLUETOOTH_HCI_H4'], [189, 'USB_LINUX'], [192, 'PPI'], [195, 'IEEE802_15_4_WITHFCS'], [201, 'BLUETOOTH_HCI_H4_WITH_PHDR'],
  [220, 'USB_LINUX_MMAPPED'], [227, 'CAN_SOCKETCAN'], [228, 'IPV4'], [229, 'IPV6'], [239, 'NFLOG'], [240, 'NETANALYZER'],
  [248, 'SCTP'], [249, 'USBPCAP'], [253, 'NETLINK'], [263, 'WATTSTOPPER_DLM'], [276, 'LINUX_SLL2'],
]);

/** A link type's name, e.g. "USER0" for 147, or undefined when it has none here. */
export function linkTypeName(linkType: number): string | undefined {
  // LINKTYPE_USER0 .. USER15: reserved for private use.
  if (linkType >= 147 && linkType <= 162) return `USER${linkType - 147}`;
  return LINK_TYPE_NAMES.get(linkType);
}

/** Link types a warning names one by one; the rest are summed. */
const NAMED_LINK_TYPES = 5;

/**
 * `records` not decoded, by link type, as a warning says it: "12 records of link type 147 (USER0)", or with
 * several "12 records of 3 link types (147 USER0: 6, 239 NFLOG: 4, 300: 2)", the most frequent first, at
 * most NAMED_LINK_TYPES named (the others summed). `byType` may hold fewer records than `records`.
 */
export function undecodedLinkTypesText(records: number, byType: ReadonlyMap<number, number>): string {
  const label = (t: number) => {
    const name = linkTypeName(t);
    return name ? `${t} ${name}` : String(t);
  };
  if (byType.size === 1) {
    const [t] = byType.keys();
    const name = linkTypeName(t!);
    return `${records} records of link type ${t}${name ? ` (${name})` : ''}`;
  }
  const ranked = [...byType].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const named = ranked.slice(0, NAMED_LINK_TYPES);
  const rest = records - named.reduce((sum, [, n]) => sum + n, 0);
  const parts = named.map(([t, n]) => `${label(t)}: ${n}`);
  if (rest > 0) parts.push(`others: ${rest}`);
  return `${records} records of ${byType.size} link types (${parts.join(', ')})`;
}
