import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAULT_MODES, needsConsistentPolicy, seededRandom, selectModes, TIGHT_ARM_BUCKETS } from './faults';
import { startReliabilityStack } from './stack';
import { backupRestoreCycle, newTally, registerVm, type Tally } from './cycle';
import { addInjected, addStackCounters, newInjected, soakProfile, type Injected } from './report';

/**
 * `npm run soak -- --runs 1000 --seed 42 [--per-stack 25] [--modes a,b] [--time-scale 10] [--fragments 200]
 * [--ranges-per-answer 64] [--out soak-result.json]`
 * (or SOAK_RUNS, SOAK_SEED, SOAK_MODES, SOAK_TIME_SCALE): N backup + restore cycles of a small VM under seeded random
 * faults, on the strict profile (both sides page and throttle as Azure does), every invariant checked after each.
 * Prints what was injected. Exits non-zero when anything was lost, corrupt, leaked or orphaned.
 */
async function main(): Promise<void> {
  const arg = (name: string, env: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : (process.env[env] ?? def);
  };
  const runs = Number(arg('runs', 'SOAK_RUNS', '100'));
  const seed = Number(arg('seed', 'SOAK_SEED', '1'));
  const perStack = Number(arg('per-stack', 'SOAK_PER_STACK', '25'));
  const out = arg('out', 'SOAK_OUT', '');
  const workers = Number(arg('workers', 'SOAK_WORKERS', '1'));
  const { on: modes, notAvailable } = selectModes(arg('modes', 'SOAK_MODES', ''));
  // 10: the per-blob targets become 6 MiB/s and 50 requests/s, which the soak's 20-24 MiB disks meet.
  const timeScale = Number(arg('time-scale', 'SOAK_TIME_SCALE', '10'));
  // 200 fragments of 4 KiB per disk: listings of over 64 ranges, and more requests per blob than the caps allow.
  const fragments = Number(arg('fragments', 'SOAK_FRAGMENTS', '200'));
  // Ranges per Get Page Ranges answer before a cut: 64 as in the suite; 10000 (Azure's maxresults ceiling) is a
  // control run that tells paging findings from the others.
  const rangesPerAnswer = Number(arg('ranges-per-answer', 'SOAK_RANGES_PER_ANSWER', '64'));
  const total: Tally = newTally();
  const injected: Injected = newInjected();
  const started = Date.now();
  if (workers > 1) {
    // The cycles mostly wait (retry back-off, redelivery): a few processes share the runs, each on its own stack.
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-soak-'));
    console.log(`soak: ${workers} workers writing to ${dir}`);
    await Promise.all(
      Array.from(
        { length: workers },
        (_, w) =>
          new Promise<void>((resolve) => {
            const n = Math.floor(runs / workers) + (w < runs % workers ? 1 : 0);
            const child = spawn(
              process.execPath,
              [
                process.argv[1]!,
                '--runs',
                String(n),
                '--seed',
                String(seed * 100 + w),
                '--per-stack',
                String(perStack),
                '--modes',
                [...modes, ...notAvailable].join(','),
                '--time-scale',
                String(timeScale),
                '--fragments',
                String(fragments),
                '--ranges-per-answer',
                String(rangesPerAnswer),
                '--out',
                path.join(dir, `w${w}.json`),
              ],
              { stdio: ['ignore', 'inherit', 'inherit'] },
            );
            child.on('exit', () => resolve());
          }),
      ),
    );
    for (let w = 0; w < workers; w++) {
      let part: Tally & { injected: Injected };
      try {
        part = JSON.parse(readFileSync(path.join(dir, `w${w}.json`), 'utf8')) as Tally & { injected: Injected };
      } catch {
        total.problems.push(`worker ${w} wrote no result`);
        continue;
      }
      // A worker that stopped part way (it threw) left only its chunks so far: say so, the runs it missed count.
      const missing = part as { partial?: boolean; runsDone?: number };
      if (missing.partial) total.problems.push(`worker ${w} stopped after ${missing.runsDone ?? 0} runs of its share (see its error above)`);
      addInjected(injected, part.injected);
      for (const k of Object.keys(total) as (keyof Tally)[]) {
        if (k === 'problems') total.problems.push(...part.problems);
        else total[k] += part[k];
      }
    }
  }
  for (let first = 0; workers <= 1 && first < runs; first += perStack) {
    // A fresh stack now and then keeps the in-memory stores small over a long soak.
    const s = await startReliabilityStack({
      profile: soakProfile(modes, seed * 1000 + first, timeScale, rangesPerAnswer),
      emulator: modes.has('arm429Buckets') ? { fidelity: { throttle: TIGHT_ARM_BUCKETS } } : undefined,
    });
    try {
      const item = await registerVm(s, `soak${first}`, [20, 24], fragments, needsConsistentPolicy(modes));
      for (let n = first; n < Math.min(runs, first + perStack); n++) {
        const runSeed = seed * 100_000 + n;
        const t = newTally();
        await backupRestoreCycle(s, item, seededRandom(runSeed), runSeed, t, { restore: true, faults: true, modes });
        for (const k of Object.keys(total) as (keyof Tally)[]) {
          if (k === 'problems') total.problems.push(...t.problems);
          else total[k] += t[k];
        }
      }
    } finally {
      addStackCounters(injected, s);
      await s.stop();
    }
    const done = Math.min(runs, first + perStack);
    console.log(`soak: ${done}/${runs} runs, ${Math.round((Date.now() - started) / 1000)} s, problems ${total.problems.length}`);
    // Written after every chunk, so an interrupted soak still says how far it got and what it found.
    if (out) writeFileSync(out, JSON.stringify({ partial: done < runs, runsDone: done, ...total, injected }, null, 2));
  }
  const summary = {
    runs,
    seed,
    workers,
    timeScale,
    fragments,
    rangesPerAnswer,
    seconds: Math.round((Date.now() - started) / 1000),
    modes: [...modes],
    notAvailable: Object.fromEntries(notAvailable.map((m) => [m, FAULT_MODES[m].what])),
    injected,
    ...total,
    problems: total.problems.slice(0, 50),
  };
  console.log(JSON.stringify(summary, null, 2));
  if (out) writeFileSync(out, JSON.stringify(summary, null, 2));
  const bad = total.lostPoints + total.corruptRestores + total.http500 + total.leakedSas + total.orphans + total.stuckLocks + total.failedJobs + total.frozenGuests + total.problems.length;
  process.exit(bad === 0 ? 0 : 1);
}

void main().catch((err) => {
  console.error(err);
  process.exit(2);
});
