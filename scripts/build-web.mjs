// Copies the dashboard's hand-written files next to its compiled scripts (tsc -p tsconfig.web.json).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const src = path.resolve('src/web');
const out = path.resolve('dist/web');
mkdirSync(out, { recursive: true });
let n = 0;
for (const f of readdirSync(src)) {
  if (!/\.(html|css|svg)$/.test(f)) continue;
  copyFileSync(path.join(src, f), path.join(out, f));
  n++;
}
console.log(`web: ${n} static file(s) copied to dist/web`);
