/**
 * One GET of a metrics (or status) URL on a connection of its own. fetch() pools connections, and
 * a test that blocks its event loop in a synchronous spawn (runX2) longer than the server's 5 s
 * keep-alive finds the pooled connection closed under it ("other side closed").
 */
import { get } from 'node:http';

export function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => resolve(text));
    }).on('error', reject);
  });
}
