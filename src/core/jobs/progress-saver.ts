/**
 * Saves progress beside a copy without holding it up: `poke()` schedules a save at most every `everyMs`,
 * saves run one after another, and the first failure is raised by `flush()` once the copy is done (so a lost
 * row update fails the step instead of vanishing). Paced by monotonic process time: it limits writes.
 */
export function progressSaver(save: () => Promise<void>, everyMs: number): { poke(): void; flush(): Promise<void>; saveNow(): Promise<void> } {
  let last = performance.now();
  let chain: Promise<void> = Promise.resolve();
  let error: unknown;
  const run = (): Promise<void> => {
    last = performance.now();
    return save();
  };
  return {
    poke() {
      if (performance.now() - last < everyMs) return;
      last = performance.now();
      chain = chain.then(run).catch((e: unknown) => {
        error ??= e;
      });
    },
    async flush() {
      await chain;
      if (error) throw error;
    },
    async saveNow() {
      await chain;
      if (error) throw error;
      await run();
    },
  };
}
