// Precompresses the build: a .gz and a .br beside every text asset in dist, which the Go
// server (internal/httpapi/webapp.go) serves with Content-Encoding to browsers that accept it.
// Brotli at quality 11 and gzip at level 9 run once here instead of on every request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(js|mjs|css|html|svg|json|txt|map)$/;
const minBytes = 1024; // smaller files gain nothing worth a second request header

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

let count = 0;
for (const file of files(dist)) {
  if (!compressible.test(file)) continue;
  const data = readFileSync(file);
  if (data.length < minBytes) continue;
  writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
  writeFileSync(
    `${file}.br`,
    brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
  );
  count++;
}
console.log(`precompressed ${count} files in dist (gzip, brotli)`);
