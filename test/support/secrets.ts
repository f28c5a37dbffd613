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
