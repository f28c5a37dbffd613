import { describe, expect, it, inject } from 'vitest';
import { AzureTableFactory } from '../../src/core/adapters/azure/tables';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import { EntityExistsError, StaleEtagError, type TableFactory } from '../../src/core/ports/tables';
import { uniqueTableName } from '../support/names';

/** One suite, every adapter: the memory fake must not pass where Table Storage would fail. */
function entityTableContract(name: string, factory: () => TableFactory): void {
  describe(`EntityTable contract: ${name}`, () => {
    const table = async () => {
      const t = factory().table(uniqueTableName('contract'));
      await t.ensure();
      await t.ensure(); // idempotent
      return t;
    };

    it('inserts, reads, refuses a duplicate', async () => {
      const t = await table();
      await t.insert({ partitionKey: 'p', rowKey: 'a', n: 1, s: 'x', b: true, d: new Date('2026-01-02T03:04:05Z') });
      const got = await t.get<{ partitionKey: string; rowKey: string; n: number; s: string; b: boolean; d: Date }>('p', 'a');
      expect(got?.entity).toMatchObject({ partitionKey: 'p', rowKey: 'a', n: 1, s: 'x', b: true });
      expect(new Date(got!.entity.d).toISOString()).toBe('2026-01-02T03:04:05.000Z');
      await expect(t.insert({ partitionKey: 'p', rowKey: 'a' })).rejects.toBeInstanceOf(EntityExistsError);
      expect(await t.get('p', 'missing')).toBeUndefined();
    });

    it('replaces with the current ETag only; deletes with a stale one fail', async () => {
      const t = await table();
      const first = await t.insert({ partitionKey: 'p', rowKey: 'a', v: 1 });
      const second = await t.replace({ partitionKey: 'p', rowKey: 'a', v: 2 }, first.etag);
      await expect(t.replace({ partitionKey: 'p', rowKey: 'a', v: 3 }, first.etag)).rejects.toBeInstanceOf(StaleEtagError);
      expect((await t.get<{ partitionKey: string; rowKey: string; v: number }>('p', 'a'))!.entity.v).toBe(2);
      await expect(t.delete('p', 'a', first.etag)).rejects.toBeInstanceOf(StaleEtagError);
      await t.delete('p', 'a', second.etag);
      await t.delete('p', 'a'); // absent is fine
      expect(await t.get('p', 'a')).toBeUndefined();
    });

    it('queries in RowKey order with bounds, equality filters and continuation', async () => {
      const t = await table();
      for (let i = 0; i < 25; i++) await t.insert({ partitionKey: 'p', rowKey: `r${String(i).padStart(2, '0')}`, kind: i % 3 === 0 ? "it's" : 'other', n: i % 2 });
      await t.insert({ partitionKey: 'q', rowKey: 'r00', kind: "it's" });
      const bounded = await t.query('p', { rowKeyFrom: 'r05', rowKeyTo: 'r10' });
      expect(bounded.items.map((x) => x.entity.rowKey)).toEqual(['r05', 'r06', 'r07', 'r08', 'r09']);
      const filtered = await t.query('p', { where: { kind: "it's" } });
      expect(filtered.items.map((x) => x.entity.rowKey)).toEqual(['r00', 'r03', 'r06', 'r09', 'r12', 'r15', 'r18', 'r21', 'r24']);
      expect((await t.query('p', { where: { n: 1, kind: 'other' } })).items).toHaveLength(8);
      const seen: string[] = [];
      let continuation: string | undefined;
      do {
        const page = await t.query('p', { top: 7, continuation });
        expect(page.items.length).toBeLessThanOrEqual(7);
        seen.push(...page.items.map((x) => x.entity.rowKey));
        continuation = page.continuation;
      } while (continuation);
      expect(seen).toHaveLength(25);
      expect([...seen].sort()).toEqual(seen);
      expect((await t.query(undefined, { where: { kind: "it's" } })).items).toHaveLength(10);
    });
  });
}

entityTableContract('memory', () => new MemoryTableFactory());
entityTableContract('Azure Table Storage (Azurite)', () => AzureTableFactory.fromConnectionString(inject('azurite').connectionString));
