import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import path from 'node:path';
import { startHost, type RunningHost } from '../../../src/local/host/host';
import { uniqueName } from '../../support/names';

// Azure Functions' catch-all route segment ({*path}), which serves the dashboard's files: it takes the rest of
// the path with its slashes, and may be empty, with or without the trailing slash.
describe('local Functions host: catch-all route parameters', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({
      appDir: path.join(__dirname, '../../fixtures/host-app'),
      settings: {
        AzureWebJobsStorage: inject('azurite').connectionString,
        ECHO_IN: uniqueName('ca-in'),
        ECHO_OUT: uniqueName('ca-out'),
        FAIL_IN: uniqueName('ca-fail'),
        HANG_IN: uniqueName('ca-hang'),
        TICK: '0 0 0 1 1 *',
      },
      port: 0,
      log: () => {},
    });
  });
  afterAll(async () => host?.stop());

  const get = async (p: string) => {
    const res = await fetch(`${host.url}/api/${p}`, { redirect: 'manual' });
    return { status: res.status, body: (await res.json()) as { path: string | null; url: string; error?: { code: string } } };
  };

  it('passes the rest of the path, slashes included and decoded, as the parameter', async () => {
    expect((await get('files/a.css')).body.path).toBe('a.css');
    expect((await get('files/pages/deep/x.js')).body.path).toBe('pages/deep/x.js');
    expect((await get('files/with%20space.txt')).body.path).toBe('with space.txt');
    expect((await get('files/q.js?v=1')).body.path).toBe('q.js');
  });

  it('matches the bare prefix, with or without a trailing slash, with no parameter', async () => {
    const bare = await get('files');
    expect(bare.status).toBe(200);
    expect(bare.body.path).toBeNull();
    expect(new URL(bare.body.url).pathname).toBe('/api/files');
    const slash = await get('files/');
    expect(slash.body.path).toBeNull();
    expect(new URL(slash.body.url).pathname).toBe('/api/files/');
  });

  it('does not match a longer first segment', async () => {
    const r = await get('filesystem/x');
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe('NotFound');
  });
});
