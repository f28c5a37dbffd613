import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LocalKeys {
  /** The function key: every route but health, openapi and the dashboard's static files. */
  function: string;
  /** The master (admin) key: also VMBACKUP_ADMIN_KEY, so it skips every confirmation step. */
  master: string;
}

/**
 * The local stack's keys, made once per data folder and kept in it (mode 0600), so curl lines saved from one
 * `npm start` still work after the next one. Deleting the folder (or keys.json) makes new ones.
 */
export function loadOrCreateKeys(dataDir: string): LocalKeys {
  const file = path.join(dataDir, 'keys.json');
  if (existsSync(file)) {
    const k = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalKeys>;
    if (typeof k.function === 'string' && k.function.length >= 16 && typeof k.master === 'string' && k.master.length >= 16) return { function: k.function, master: k.master };
  }
  const keys: LocalKeys = { function: randomBytes(24).toString('base64url'), master: randomBytes(24).toString('base64url') };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return keys;
}
