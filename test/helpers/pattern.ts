/** Expected digests of the services' deterministic byte stream (src/cli/services.ts `patternBytes`). */
import { createHash } from 'node:crypto';
import { patternBytes } from '../../src/cli/services.js';

/** SHA-256 of the first `n` bytes of the pattern, computed in 1 MiB slices. */
export function patternSha(n: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < n; off += 1 << 20) h.update(patternBytes(off, Math.min(1 << 20, n - off)));
  return h.digest('hex');
}
