/**
 * HOST:PORT parsing for river addresses (--sequencer, --listen, --group, peer addresses). Returns
 * null on anything malformed so the CLI can name the flag and the value.
 */
export type HostPort = { host: string; port: number };

export function tryParseHostPort(text: string): HostPort | null {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  const host = match[1] || '0.0.0.0';
  return { host, port };
}

export function parseHostPort(text: string): HostPort {
  const parsed = tryParseHostPort(text);
  if (!parsed) throw new Error(`bad address ${JSON.stringify(text)}: expected HOST:PORT`);
  return parsed;
}

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

export function isMulticastIPv4(text: string): boolean {
  if (!isIPv4(text)) return false;
  const first = Number(text.split('.')[0]);
  return first >= 224 && first <= 239;
}
