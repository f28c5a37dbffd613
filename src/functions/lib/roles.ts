/**
 * Who may call what: the one table of the API's app roles. A route is one line, keyed by the name it is
 * registered under (app.http(name, ...)); test/e2e/roles-matrix.test.ts fails for a registered route that has
 * no line here. The roles follow Azure Backup's built-in ones
 * (https://learn.microsoft.com/azure/backup/backup-rbac-rs-vault): Reader sees everything; Operator runs
 * backups, restores to new disks or a new VM, verifies, exports, cancels and stops protection keeping the data;
 * Admin also manages policies, deletes points, replaces disks and stops protection deleting the data.
 */
export const ROLES = ['Reader', 'Operator', 'Admin'] as const;
export type Role = (typeof ROLES)[number];
/** 'authenticated': any signed-in caller or key, whatever its roles (the dashboard asks who it is). */
export type Requirement = 'anonymous' | 'authenticated' | Role;

export const ROUTE_ROLES: Readonly<Record<string, Requirement>> = {
  health: 'anonymous',
  openapi: 'anonymous',
  ui: 'anonymous',
  me: 'authenticated',
  dashboard: 'Reader',
  listVms: 'Reader',
  listItems: 'Reader',
  getItem: 'Reader',
  listRecoveryPoints: 'Reader',
  getRecoveryPoint: 'Reader',
  listPolicies: 'Reader',
  getPolicy: 'Reader',
  previewPolicy: 'Reader',
  listJobs: 'Reader',
  getJob: 'Reader',
  getMount: 'Reader',
  backupReport: 'Reader',
  discover: 'Operator',
  registerVms: 'Operator',
  protectItems: 'Operator',
  backupNow: 'Operator',
  restore: 'Operator', // replaceDisks needs Admin: ACTION_ROLES.restoreReplaceDisks
  verifyRecoveryPoint: 'Operator',
  mountRecoveryPoint: 'Operator', // the restore role: it restores the point's disks, attached to another VM
  unmountRecoveryPoint: 'Operator',
  undeleteRecoveryPoint: 'Operator',
  exportItem: 'Operator',
  importItem: 'Operator',
  cancelJob: 'Operator',
  stopProtection: 'Operator', // deleteData needs Admin: ACTION_ROLES.stopProtectionDeleteData
  createPolicy: 'Admin',
  updatePolicy: 'Admin',
  deletePolicy: 'Admin',
  deleteRecoveryPoint: 'Admin',
};

/** What a route's request body can make more destructive than the route itself, checked in its handler. */
export const ACTION_ROLES: Readonly<Record<string, Role>> = {
  restoreReplaceDisks: 'Admin',
  stopProtectionDeleteData: 'Admin',
  deletePolicy: 'Admin',
};

/** A route missing from the table needs Admin: a forgotten line closes the route rather than opening it. */
export function requirementOf(functionName: string): Requirement {
  return Object.hasOwn(ROUTE_ROLES, functionName) ? ROUTE_ROLES[functionName]! : 'Admin';
}

/** Roles nest: an Admin may do what an Operator may, an Operator what a Reader may. */
export function satisfies(roles: readonly Role[], needed: Requirement): boolean {
  if (needed === 'anonymous' || needed === 'authenticated') return true;
  const rank = (r: Role): number => ROLES.indexOf(r);
  return roles.some((r) => rank(r) >= rank(needed));
}
