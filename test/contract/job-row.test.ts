import { describe, expect, it, inject } from 'vitest';
import { AzureTableFactory } from '../../src/core/adapters/azure/tables';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import type { Job } from '../../src/core/domain/model';
import type { TableFactory } from '../../src/core/ports/tables';
import { createRepos } from '../../src/core/store/repos';
import { uniqueTableName } from '../support/names';

const job = (over: Partial<Job> = {}): Job => ({
  jobId: 'j1',
  type: 'Backup',
  status: 'InProgress',
  itemKey: 'i',
  createdAt: new Date('2026-01-02T03:04:05Z'),
  bytesTotal: 0,
  bytesDone: 0,
  segmentsTotal: 0,
  segmentsDone: 0,
  warnings: [],
  params: { slot: '2026-01-02T00:00:00.000Z' },
  result: {},
  ...over,
});

/** The job row over every table adapter: leases in their own column, and rows of the older shape still read. */
function jobRowContract(name: string, factory: () => TableFactory): void {
  describe(`job rows: ${name}`, () => {
    const repos = async () => {
      const r = createRepos(factory(), uniqueTableName('jobrow'));
      await r.ensure();
      return r;
    };

    it('stores leases in their own column, not in the document or the params', async () => {
      const r = await repos();
      await r.jobs.insert(job({ leases: { planner: { holder: 'a', until: 1_000 } } }));
      const raw = (await r.jobs.table.get('job', 'j1'))!.entity;
      expect(JSON.parse(String(raw.leases))).toEqual({ planner: { holder: 'a', until: 1_000 } });
      expect(String(raw.doc)).not.toContain('planner');
      const read = (await r.jobs.get('j1'))!.doc;
      expect(read.leases).toEqual({ planner: { holder: 'a', until: 1_000 } });
      expect(read.params).toEqual({ slot: '2026-01-02T00:00:00.000Z' });
    });

    it('reads a row written with leases inside params as leases, and rewrites it in the new shape', async () => {
      const r = await repos();
      const old = job({ params: { slot: '2026-01-02T00:00:00.000Z', planner: 'old-delivery', plannerUntil: 5_000, runner: 'r', runnerUntil: 7_000 } });
      // The entity exactly as the previous version wrote it: the whole job in `doc`, no leases column.
      await r.jobs.table.insert({ partitionKey: 'job', rowKey: 'j1', type: 'Backup', status: 'InProgress', itemKey: 'i', doc: JSON.stringify(old), doc2: '' });
      const read = (await r.jobs.get('j1'))!.doc;
      expect(read.leases).toEqual({ planner: { holder: 'old-delivery', until: 5_000 }, runner: { holder: 'r', until: 7_000 } });
      expect(read.params).toEqual({ slot: '2026-01-02T00:00:00.000Z' });
      await r.jobs.update('j1', (j) => {
        j.phase = 'Snapshot';
      });
      const raw = (await r.jobs.table.get('job', 'j1'))!.entity;
      expect(String(raw.doc)).not.toContain('plannerUntil');
      expect(JSON.parse(String(raw.leases)).planner).toEqual({ holder: 'old-delivery', until: 5_000 });
    });

    it('writes an empty column when no lease is held', async () => {
      const r = await repos();
      await r.jobs.insert(job());
      expect((await r.jobs.table.get('job', 'j1'))!.entity.leases).toBe('');
      expect((await r.jobs.get('j1'))!.doc.leases).toBeUndefined();
    });
  });
}

jobRowContract('memory', () => new MemoryTableFactory());
jobRowContract('Azure Table Storage (Azurite)', () => AzureTableFactory.fromConnectionString(inject('azurite').connectionString));
