/**
 * What a HuggingFace Hub repo id looks like: `name` or `namespace/name`. The Hub's canonical repos
 * have no namespace (`gpt2`, `bert-base-uncased`, `wikitext`), so both forms are ids. The rule is
 * huggingface_hub's `validate_repo_id`, as the server applies it (src/mistudio/core/hub_ids.py):
 * letters, digits, `-`, `_`, `.`; each part at most 96 characters, not starting or ending with `-`
 * or `.`; no `--` or `..`; not ending in `.git`.
 */

const PART = /^(?![-.])[\p{L}\p{N}_.-]{1,96}(?<![-.])$/u;

/** Why `text` cannot be a Hub id, or null when it can. */
export function hubIdProblem(text: string): string | null {
  if (!text) return "a Hub id is empty";
  const parts = text.split("/");
  if (parts.length > 2) return `"${text}" has more than one "/" (a Hub id is name or namespace/name)`;
  if (!parts.every((p) => PART.test(p)))
    return `"${text}" is not a Hub id: use letters, digits, "-", "_" and ".", not starting or ending with "-" or "."`;
  if (text.includes("--") || text.includes("..")) return `"${text}" is not a Hub id: it has "--" or ".."`;
  if (text.endsWith(".git")) return `"${text}" is not a Hub id: it ends with ".git"`;
  return null;
}

export const isHubId = (text: string) => hubIdProblem(text) === null;

/** A model source that names a local path (absolute, relative, home, or a .gguf file) rather than a Hub id. */
export const isLocalPath = (text: string) => /^[./~]/.test(text) || /\.gguf$/i.test(text);
