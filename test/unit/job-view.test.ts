import { describe, expect, it } from 'vitest';
import { jobView } from '../../src/core/views/queries';
import type { Job } from '../../src/core/domain/model';

describe('jobView', () => {
  it('shows the job parameters a caller sent, not the step leases kept in them', () => {
    const now = new Date('2026-11-23T10:00:00Z');
    const job: Job = {
      jobId: 'j', type: 'Restore', status: 'InProgress', createdAt: now, startedAt: now, bytesTotal: 0, bytesDone: 0, segmentsTotal: 0, segmentsDone: 0, warnings: [], result: {},
      params: { pointId: 'p', mode: 'newDisks', planner: 'a', plannerUntil: 1, runner: 'b', runnerUntil: 2, redrives: 1 },
    };
    expect(jobView(job, now).params).toEqual({ pointId: 'p', mode: 'newDisks', redrives: 1 });
  });
});
