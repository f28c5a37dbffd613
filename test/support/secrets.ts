import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DEV_KEY } from '../../src/local/azurite';

/** What must never appear in logs, rows, errors or responses: SAS signatures, account keys, tokens. */
export const SECRET = [/sig=[A-Za-z0-9%]/, /AccountKey=/i, /Bearer\s+\S/, /SharedAccessSignature=/i, new RegExp(DEV_KEY.slice(0, 20).replace(/[+/]/g, '\\$&'))];

/** Every row of every table of the account, as JSON: what a secret scan reads. */
export async function allTableRows(connectionString: string): Promise<string[]> {
  const rows: string[] = [];
  const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
  for await (const t of service.listTables()) {
    const table = TableClient.fromConnectionString(connectionString, t.name!, { allowInsecureConnection: true });
    for await (const e of table.listEntities()) rows.push(JSON.stringify(e));
  }
  return rows;
}

/**
 * Telemetry as a secret scan reads it: every span's name, attributes, status and events, and every metric
 * point's name and attributes, one JSON text each (what an exporter would send to Application Insights).
 */
export function telemetryTexts(spans: readonly { name: string; attributes: unknown; status: unknown; events: readonly unknown[] }[], metrics: readonly unknown[]): string[] {
  return [...spans.map((s) => JSON.stringify({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })), ...metrics.map((m) => JSON.stringify(m))];
}

/** The texts that match a secret pattern, with the pattern: an empty list is a clean scan. */
export function secretsIn(texts: readonly string[]): string[] {
  return texts.flatMap((t) => SECRET.filter((re) => re.test(t)).map((re) => `${re}: ${t.slice(0, 300)}`));
}
