// `npm start`: says what it is doing while it builds, then starts the local stack and the app (src/local/start.ts).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const t0 = Date.now();
const say = (step) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${step}`);
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const run = (args) => {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
say('building the app (tsc)...');
run([tsc, '-p', 'tsconfig.json']);
say('building the dashboard...');
run([tsc, '-p', 'tsconfig.web.json']);
run([path.resolve('scripts/build-web.mjs')]);
process.env.VMBACKUP_START_T0 = String(t0);
require(path.resolve('dist/src/local/start.js'));
