/**
 * `x2 up --sidecar 'NAME:ARGS'`: NAME becomes the sidecar's --name, ARGS are the other flags of
 * `x2 sidecar`, split the way a POSIX shell splits words (single quotes, double quotes with
 * backslash escapes, backslash outside quotes; no expansion of any kind). `x2 up` supplies the
 * flags that tie a sidecar to its cluster, so ARGS may not set them.
 */
export type SidecarSpec = { name: string; args: string[] };

export type SidecarSpecResult = { ok: true; spec: SidecarSpec } | { ok: false; problem: string };

/** Flags `x2 up` sets for every sidecar it starts. */
export const SIDECAR_FLAGS_SET_BY_UP = ['--name', '--sequencer', '--river', '--interface', '--metrics-port'] as const;

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const SPEC_CHARS_MAX = 8192;

export function parseSidecarSpec(text: string): SidecarSpecResult {
  if (text.length > SPEC_CHARS_MAX) return { ok: false, problem: `at most ${SPEC_CHARS_MAX} characters` };
  const colon = text.indexOf(':');
  if (colon < 0) return { ok: false, problem: 'NAME:ARGS with a colon after the name' };
  const name = text.slice(0, colon);
  if (!NAME_PATTERN.test(name)) {
    return { ok: false, problem: "a NAME of 1-64 letters, digits, '.', '_' or '-' before the colon" };
  }
  const words = splitShellWords(text.slice(colon + 1));
  if (!words.ok) return words;
  if (words.words.length === 0) return { ok: false, problem: 'the flags of x2 sidecar after the colon' };
  for (const word of words.words) {
    const flag = word.split('=')[0] ?? '';
    if ((SIDECAR_FLAGS_SET_BY_UP as readonly string[]).includes(flag)) {
      return { ok: false, problem: `ARGS without ${flag}, which x2 up sets itself` };
    }
  }
  return { ok: true, spec: { name, args: words.words } };
}

/** Splits like a POSIX shell, without expansions; an unclosed quote is an error. */
export function splitShellWords(text: string): { ok: true; words: string[] } | { ok: false; problem: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, problem: `a closing ' for the quote at character ${i + 1} of ARGS` };
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) return { ok: false, problem: 'a closing " in ARGS' };
        const d = text[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i += 1;
        }
      }
      inWord = true;
      i += 1;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
