/** ARM answers by status code: 404 means absent for a read, done for a delete. */
export const status = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;

export async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (status(err) === 404) return undefined;
    throw err;
  }
}

export async function ignore404(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (status(err) !== 404) throw err;
  }
}
