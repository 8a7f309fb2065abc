/**
 * A token shown on its own (a bar chart's axis, a list): never blank. Space markers and newlines
 * as `displayToken` shows them in text; a token that would still show nothing (spaces only, empty,
 * zero-width characters) spells its characters out (`␣`, `<empty>`, `\u200B`); control characters
 * are written as bytes (`<0x0D>`), as the server writes a lone byte of a character (`<0xE2>`,
 * core/data/decoding.py `token_labels`).
 */
import { displayToken } from "../components/TokenText";

const INVISIBLE = /^[\s\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff]*$/u;

export function tokenLabel(token: string): string {
  if (token === "") return "<empty>";
  // eslint-disable-next-line no-control-regex
  const shown = displayToken(token).replace(/[\u0000-\u001f\u007f]/g, (c) => `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}>`);
  if (!INVISIBLE.test(shown)) return shown;
  return [...shown].map((c) => (c === " " ? "␣" : `\\u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`)).join("");
}
