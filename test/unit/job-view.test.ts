import { describe, expect, it } from 'vitest';
import { jobView } from '../../src/core/views/queries';
import type { Job } from '../../src/core/domain/model';

describe('jobView', () => {
  it('shows the job parameters a caller sent, not the step leases kept beside them', () => {
    const now = new Date('2026-11-23T10:00:00Z');
    const job: Job = {
      jobId: 'j',
      type: 'Restore',
      status: 'InProgress',
      createdAt: now,
      startedAt: now,
      bytesTotal: 0,
      bytesDone: 0,
      segmentsTotal: 0,
      segmentsDone: 0,
      warnings: [],
      result: {},
      params: { pointId: 'p', mode: 'newDisks', redrives: 1 },
      leases: { planner: { holder: 'a', until: 1 }, runner: { holder: 'b', until: 2 } },
    };
    const view = jobView(job, now);
    expect(view.params).toEqual({ pointId: 'p', mode: 'newDisks', redrives: 1 });
    expect(view).not.toHaveProperty('leases');
  });
});
