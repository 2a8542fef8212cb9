// The initial-JavaScript budget, checked on the build: the scripts index.html loads before the
// app can draw (its entry module and the modules it preloads), measured compressed as served
// (brotli when the build has it, else gzip), must stay within budgetBytes. Run by `npm run
// budget` after `npm run build`; TestInitialJavaScriptBudget (web/budget_test.go) checks the same on CI.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const budgetBytes = 150 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const s of scripts) {
  const p = join(dist, s);
  const size = existsSync(`${p}.br`) ? readFileSync(`${p}.br`).length : gzipSync(readFileSync(p)).length;
  console.log(`${s}: ${(size / 1024).toFixed(1)} KB compressed`);
  total += size;
}
console.log(`initial JavaScript: ${(total / 1024).toFixed(1)} KB compressed (budget ${budgetBytes / 1024} KB)`);
if (scripts.length === 0 || total > budgetBytes) process.exit(1);
