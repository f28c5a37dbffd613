import { randomBytes } from 'node:crypto';

/**
 * Unique, Azure-valid resource names so test files can share one Azurite.
 * Containers and queues: lowercase letters, digits, dashes. Tables: letters and digits only.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

export function uniqueTableName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(4).toString('hex')}`;
}
