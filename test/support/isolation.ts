/**
 * Test paths (a folder ends in /) whose files load the Functions app (its `app.http`/`app.storageQueue`
 * registrations are module state) or run the in-process host (which writes its settings into process.env): each
 * of their files needs a fresh process. Every other file shares its worker's modules with the files before it,
 * which saves a process and an import of the Azure SDKs per file. test/unit/layers.test.ts fails for a shared
 * file that reaches the app or the host.
 */
export const ISOLATED_PATHS = ['test/e2e/', 'test/browser/', 'test/integration/host/', 'test/reliability/auth.test.ts', 'test/reliability/host-process.test.ts'];

export const isolatedGlobs = (): string[] => ISOLATED_PATHS.map((p) => (p.endsWith('/') ? `${p}**/*.test.ts` : p));

export const isIsolated = (file: string): boolean => ISOLATED_PATHS.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
