import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_TYPES } from '../../src/core/domain/model';
import { KINDS } from '../../src/core/workflows/kinds';
import { QUEUES } from '../../src/core/config';

describe('the one list of job kinds', () => {
  it('has one kind per job type, and nothing else', () => {
    expect(KINDS.kinds.map((k) => k.type).sort()).toEqual([...JOB_TYPES].sort());
  });

  it('gives every queue exactly one step, and every named queue a step', () => {
    expect(new Set(KINDS.queues).size).toBe(KINDS.queues.length);
    for (const q of Object.values(QUEUES)) expect(KINDS.queues).toContain(q);
    const names = KINDS.kinds.flatMap((k) => k.steps.map((s) => s.name));
    expect(new Set(names).size).toBe(names.length);
  });

  it("is the dashboard's job-type filter (the web imports nothing, so the list is read from its source)", () => {
    const src = readFileSync('src/web/pages/jobs.ts', 'utf8');
    const m = /export const TYPES = \[([^\]]*)\]/.exec(src);
    expect(m, 'src/web/pages/jobs.ts declares TYPES').toBeTruthy();
    const types = [...m![1]!.matchAll(/'([A-Za-z]+)'/g)].map((x) => x[1]);
    expect(types.sort()).toEqual([...JOB_TYPES].sort());
  });
});
