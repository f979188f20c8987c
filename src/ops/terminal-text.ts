/**
 * Text from the wire (Call-IDs, codec names) written to a terminal: control characters (C0, DEL, C1:
 * ESC sequences that clear the screen, set the window title or recolour the text; newlines that add
 * rows) are shown as \xNN, so a hostile peer cannot rewrite the operator's screen.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
