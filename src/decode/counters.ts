/**
 * Counter indices of the decoder. Each is an index into a Float64Array so counting is one increment and a
 * report is a read; the *Names arrays give the label of each index for logs, metrics and summaries.
 */

/** Why a packet was skipped as malformed (decoder.malformed[reason]). */
export const MalformedReason = {
  /** Ethernet, SLL, SLL2, NULL/LOOP or PPPoE header shorter than its fixed size. */
  LINK_HEADER: 0,
  /** 802.1Q / QinQ tag cut short. */
  VLAN_HEADER: 1,
  /** MPLS label stack cut short, too deep, or pseudowire control word missing. */
  MPLS_HEADER: 2,
  /** IPv4 header short, wrong version or header length. */
  IPV4_HEADER: 3,
  /** IPv4 total length smaller than its header. */
  IPV4_LENGTH: 4,
  IPV6_HEADER: 5,
  /** IPv6 extension header chain runs past the packet or is too long. */
  IPV6_EXTENSION: 6,
  /** UDP header cut short. */
  UDP_HEADER: 7,
  /** UDP length below 8. */
  UDP_LENGTH: 8,
  /** TCP header cut short or data offset below 20 / beyond the segment. */
  TCP_HEADER: 9,
  GRE_HEADER: 10,
  ERSPAN_HEADER: 11,
  VXLAN_HEADER: 12,
  TZSP_HEADER: 13,
  /** Fragment not usable: cut by the snap length, past 64 KiB, non-final size not a multiple of 8, inconsistent end. */
  FRAGMENT: 14,
  /** More nested tunnels than the decoder follows (protects against crafted recursion). */
  TUNNEL_DEPTH: 15,
  /** GTP-U header, its optional fields or an extension header cut short, or an extension of length 0. */
  GTP_HEADER: 16,
  COUNT: 17,
} as const;

export const malformedReasonNames: readonly string[] = [
  'link_header', 'vlan_header', 'mpls_header', 'ipv4_header', 'ipv4_length', 'ipv6_header', 'ipv6_extension',
  'udp_header', 'udp_length', 'tcp_header', 'gre_header', 'erspan_header', 'vxlan_header', 'tzsp_header',
  'fragment', 'tunnel_depth', 'gtp_header',
];

/** What the decoder saw (decoder.counts[counter]). Layers are counted once per packet and layer instance. */
export const ProtocolCounter = {
  PACKETS: 0,
  IPV4: 1,
  IPV6: 2,
  UDP: 3,
  TCP: 4,
  /** Neither UDP nor TCP in the end (ARP, ICMP, ESP, LLC, unsupported link type...). */
  OTHER: 5,
  VLAN_TAGS: 6,
  MPLS: 7,
  FRAGMENTS: 8,
  REASSEMBLED: 9,
  FRAGMENT_DUPLICATES: 10,
  FRAGMENT_OVERLAPS: 11,
  FRAGMENT_TIMEOUTS: 12,
  /** Chains dropped to stay inside maxFragmentChains / maxFragmentBytes. */
  FRAGMENT_EVICTIONS: 13,
  GRE: 14,
  ERSPAN_I: 15,
  ERSPAN_II: 16,
  ERSPAN_III: 17,
  VXLAN: 18,
  TZSP: 19,
  IP_IN_IP: 20,
  PPPOE: 21,
  /** Payload shorter than its headers say (snap length): delivered with what was captured. */
  TRUNCATED: 22,
  UNKNOWN_LINK_TYPE: 23,
  /** UDP length beyond the IP payload: delivered with the payload cut at the IP end, as Wireshark still dissects it. */
  UDP_LENGTH_CLAMPED: 24,
  /** GTP-U v1 G-PDUs (mobile core user plane) whose inner IP packet was decoded. */
  GTP_U: 25,
  COUNT: 26,
} as const;

export const protocolCounterNames: readonly string[] = [
  'packets', 'ipv4', 'ipv6', 'udp', 'tcp', 'other', 'vlan_tags', 'mpls', 'fragments', 'reassembled',
  'fragment_duplicates', 'fragment_overlaps', 'fragment_timeouts', 'fragment_evictions', 'gre', 'erspan_i',
  'erspan_ii', 'erspan_iii', 'vxlan', 'tzsp', 'ip_in_ip', 'pppoe', 'truncated', 'unknown_link_type', 'udp_length_clamped',
  'gtp_u',
];

/** Value of DecodedPacket.tunnel: the innermost tunnel the payload came out of. */
export const TunnelType = { NONE: 0, GRE: 1, ERSPAN_I: 2, ERSPAN_II: 3, ERSPAN_III: 4, VXLAN: 5, TZSP: 6, IP_IN_IP: 7, MPLS: 8, GTP_U: 9 } as const;
