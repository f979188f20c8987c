/**
 * Text from the wire (Call-IDs, codec names) written to a terminal: control characters (C0, DEL, C1:
 * ESC sequences that clear the screen, set the window title or recolour the text; newlines that add
 * rows) are shown as \xNN, and Unicode's invisible direction and layout controls (bidi overrides and
 * isolates, which reorder what follows on the line: a Call-ID could make the MOS beside it read
 * backwards; zero-width and line / paragraph separators) as \u{NNNN}, so a hostile peer cannot rewrite
 * the operator's screen.
 */
export function printable(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
