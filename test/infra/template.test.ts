import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, SETTING_NAMES } from '../../src/core/config';
import { evaluate, evaluateVariables, isExpression, resolveParameters, type ArmScope } from './arm-expr';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const template: Json = JSON.parse(readFileSync('infra/azuredeploy.json', 'utf8'));
const hostJson: Json = JSON.parse(readFileSync('host.json', 'utf8'));
const functionsSource = readdirSync('src/functions')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(path.join('src/functions', f), 'utf8'))
  .join('\n');

/** Settings loadConfig reads that a deployment to Azure must not set: local development only, or replaced by the identity. */
const NOT_DEPLOYED = {
  VMBACKUP_STORAGE: 'a connection string; the deployment uses the identity-based VMBACKUP_STORAGE__*ServiceUri settings',
  VMBACKUP_ARM_ENDPOINT: 'the local compute emulator only',
  VMBACKUP_ARM_CA_FILE: 'the local compute emulator only',
  VMBACKUP_ARM_TIME_SCALE: 'the local compute emulator only',
  VMBACKUP_LOCAL_PRINCIPAL_KEY: 'the local stack only: signs test principals (VMBACKUP_AUTH_MODE=local, which Azure refuses)',
} as const;

const parameters = resolveParameters(template);
const variables = evaluateVariables(template, parameters);
const scope: ArmScope = { parameters, variables };
const byType = (type: string): Json[] => template.resources.filter((r: Json) => r.type === type);
const named = (type: string, name: string): Json => byType(type).find((r: Json) => evaluate(r.name, scope) === name);
const site: Json = byType('Microsoft.Web/sites')[0];
const appSettings = (): Record<string, unknown> => Object.fromEntries(site.properties.siteConfig.appSettings.map((s: Json) => [s.name, evaluate(s.value, scope)]));

describe('infra/azuredeploy.json', () => {
  it('is an ARM deployment template whose every expression parses and names only declared parameters and variables', () => {
    expect(template.$schema).toMatch(/deploymentTemplate\.json#$/);
    expect(template.contentVersion).toBe('1.0.0.0');
    // Outer-scope expressions are evaluated; nested templates have their own parameters and are only parsed here.
    const walk = (v: unknown, inner: boolean): void => {
      if (typeof v === 'string' && isExpression(v)) {
        if (inner) evaluateSyntaxOnly(v);
        else evaluate(v, scope);
      } else if (Array.isArray(v)) v.forEach((x) => walk(x, inner));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, inner || k === 'template');
    };
    const skipCopy = (r: Json): Json => {
      const { copy: _c, ...rest } = r;
      return rest;
    };
    for (const r of template.resources) {
      if (r.copy) continue; // copyIndex() needs its loop; checked below through the resource's own evaluation
      walk(r.condition === undefined ? r : skipCopy(r), false);
    }
    walk(template.outputs, false);
  });

  it('sets every setting loadConfig reads, except the local-only ones, and loadConfig accepts them as an identity-based deployment', () => {
    const env = appSettings();
    const missing = SETTING_NAMES.filter((n) => !(n in env) && !(n in NOT_DEPLOYED));
    expect(missing).toEqual([]);
    for (const n of Object.keys(NOT_DEPLOYED)) expect(env, n).not.toHaveProperty(n);
    // No VMBACKUP_ setting the app does not know (a typo would be silently ignored by the host).
    const known = new Set<string>([...SETTING_NAMES]);
    expect(Object.keys(env).filter((k) => k.startsWith('VMBACKUP_') && !known.has(k))).toEqual([]);
    const config = loadConfig(env as Record<string, string>);
    expect(config.storage).toEqual({
      kind: 'identity',
      blobUrl: `https://${variables.backupAccount}.blob.core.windows.net`,
      queueUrl: `https://${variables.backupAccount}.queue.core.windows.net`,
      tableUrl: `https://${variables.backupAccount}.table.core.windows.net`,
    });
    expect(config.subscriptionIds).toEqual(parameters.subscriptionIds);
    expect(config.confirmationSecret?.length).toBeGreaterThanOrEqual(16);
  });

  it("sets what the Functions host binds by name: the timers' schedules, the queue trigger connection, host storage, telemetry", () => {
    const env = appSettings();
    const bound = [...functionsSource.matchAll(/%(\w+)%/g)].map((m) => m[1]!);
    expect(bound.length).toBeGreaterThanOrEqual(4);
    for (const name of bound) expect(env[name], name).toMatch(/^\S+(\s+\S+){5}$/);
    // Identity-based trigger connections read <connection>__queueServiceUri
    // (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
    const connections = new Set([...functionsSource.matchAll(/connection:\s*'(\w+)'/g)].map((m) => m[1]!));
    expect(connections.size).toBeGreaterThan(0);
    for (const c of connections) expect(env[`${c}__queueServiceUri`], c).toMatch(/^https:\/\//);
    expect(env.AzureWebJobsStorage__accountName).toBe(variables.hostAccount);
    expect(env.APPLICATIONINSIGHTS_CONNECTION_STRING).toMatch(/^InstrumentationKey=/);
    // The step's last delivery fails the job cleanly only when the app knows host.json's count.
    expect(env.VMBACKUP_MAX_DEQUEUE_COUNT).toBe(String(hostJson.extensions.queues.maxDequeueCount));
    // Flex Consumption takes the runtime from functionAppConfig and refuses FUNCTIONS_WORKER_RUNTIME
    // (https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
    expect(env).not.toHaveProperty('FUNCTIONS_WORKER_RUNTIME');
  });

  it("runs on a Flex Consumption plan with Node 20, the system-assigned identity and the host's function timeout within the plan's limit", () => {
    const plan = byType('Microsoft.Web/serverfarms')[0];
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(site.identity).toEqual({ type: 'SystemAssigned' });
    expect(site.kind).toBe('functionapp,linux');
    const cfg = site.properties.functionAppConfig;
    expect(cfg.runtime).toEqual({ name: 'node', version: '20' });
    expect(JSON.parse(readFileSync('package.json', 'utf8')).engines.node).toMatch(/^>=20/);
    expect(cfg.deployment.storage.authentication.type).toBe('SystemAssignedIdentity');
    expect(evaluate(cfg.deployment.storage.value, scope)).toBe(`https://${variables.hostAccount}.blob.core.windows.net/${variables.deploymentContainer}`);
    // Flex Consumption: default 30 minutes, no maximum (includes/functions-timeout-duration.md); host.json asks 10.
    const [h, m] = String(hostJson.functionTimeout).split(':').map(Number);
    expect(h! * 60 + m!).toBeLessThanOrEqual(30);
  });

  it('keeps backups in a StorageV2 account without hierarchical namespace (page blobs), with blob and container soft delete', () => {
    const account = named('Microsoft.Storage/storageAccounts', variables.backupAccount as string);
    expect(account.kind).toBe('StorageV2');
    expect(account.properties.isHnsEnabled).toBe(false);
    expect(evaluate(account.location, scope)).toBe(parameters.backupLocation);
    expect(evaluate(account.sku.name, scope)).toMatch(/^Standard_/);
    const blob = named('Microsoft.Storage/storageAccounts/blobServices', `${variables.backupAccount}/default`);
    expect(blob.properties.deleteRetentionPolicy.enabled).toBe(true);
    expect(evaluate(blob.properties.deleteRetentionPolicy.days, scope)).toBeGreaterThanOrEqual(1);
    expect(blob.properties.containerDeleteRetentionPolicy.enabled).toBe(true);
    // Version-level immutability (VMBACKUP_IMMUTABILITY) needs versioning and support enabled on the account,
    // which Azure allows only at creation (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies).
    expect(account.properties.immutableStorageWithVersioning).toEqual({ enabled: true });
    expect(blob.properties.isVersioningEnabled).toBe(true);
    expect(appSettings().VMBACKUP_IMMUTABILITY).toBe('Unlocked');
    // Versioning keeps every overwritten or deleted block blob (checkpoints, grants) as a previous version: a
    // lifecycle rule deletes those; one still under an immutability policy is left alone by the service.
    const lifecycle = named('Microsoft.Storage/storageAccounts/managementPolicies', `${variables.backupAccount}/default`);
    expect(lifecycle.properties.policy.rules[0].definition.actions.version.delete.daysAfterCreationGreaterThan).toBeDefined();
    for (const a of byType('Microsoft.Storage/storageAccounts')) {
      expect(a.properties.allowBlobPublicAccess).toBe(false);
      expect(a.properties.minimumTlsVersion).toBe('TLS1_2');
    }
  });

  it('grants the identity the storage data roles on the accounts it uses', () => {
    const roles = byType('Microsoft.Authorization/roleAssignments').map((r: Json) => ({
      scope: evaluate(r.scope, scope) as string,
      role: String(evaluate(r.properties.roleDefinitionId, scope)).split('/').pop(),
      principal: r.properties.principalId,
    }));
    const on = (account: unknown) =>
      roles
        .filter((r: { scope: string }) => r.scope.endsWith(`/storageAccounts/${account}`))
        .map((r: { role?: string }) => r.role)
        .sort();
    const b = variables.builtInRoles as Record<string, string>;
    expect(on(variables.backupAccount)).toEqual([b.storageBlobDataContributor, b.storageQueueDataContributor, b.storageTableDataContributor].sort());
    expect(on(variables.hostAccount)).toEqual([b.storageBlobDataOwner]);
    for (const r of roles) expect(r.principal).toMatch(/identity\.principalId\]$/);
  });

  it('sends telemetry to Application Insights on a Log Analytics workspace and alerts on failed jobs', () => {
    const insights = byType('Microsoft.Insights/components')[0];
    expect(evaluate(insights.properties.WorkspaceResourceId, scope)).toMatch(/Microsoft\.OperationalInsights\/workspaces\//);
    const rules = byType('Microsoft.Insights/scheduledQueryRules');
    expect(rules.length).toBeGreaterThanOrEqual(1);
    const failed = rules.find((r: Json) => /failed-jobs/.test(String(evaluate(r.name, scope))));
    const query = String(evaluate(failed.properties.criteria.allOf[0].query, scope));
    // The rule looks for the line the app writes when a job ends Failed: keep them in step.
    const phrase = /has '([^']+)'/.exec(query)![1]!;
    expect(readFileSync('src/core/jobs/run-step.ts', 'utf8')).toContain(phrase);
    expect(evaluate(failed.properties.scopes[0], scope)).toMatch(/Microsoft\.Insights\/components\//);
    expect(failed.properties.criteria.allOf[0]).toMatchObject({ operator: 'GreaterThan', threshold: 0 });
  });

  it('assigns the backup role on every named scope, and the optional roles only when asked', () => {
    const guids = variables.roleGuids as Record<string, string>;
    const assigned = (given: Record<string, unknown>) => evaluateVariables(template, resolveParameters(template, given)).assignedRoleGuids;
    expect(assigned({})).toEqual([guids.backup]);
    expect(assigned({ enableRunCommand: true })).toEqual([guids.backup, guids.runCommand]);
    expect(assigned({ enableReplaceDisks: true, enableRunCommand: true })).toEqual([guids.backup, guids.runCommand, guids.replaceDisks]);
    expect(assigned({ enableNewVm: true })).toEqual([guids.backup, guids.newVm]);
    expect(assigned({ enableMount: true })).toEqual([guids.backup, guids.mount]);
    expect(assigned({ enableEntraDisks: true })).toEqual([guids.backup, guids.entraDisks]);
    expect(assigned({ enableEntraDisks: true, enableMount: true, enableNewVm: true })).toEqual([guids.backup, guids.newVm, guids.mount, guids.entraDisks]);
    // Every role the template defines has its guid, and each guid is its own role.
    const keys = (variables.customRoles as { key: string }[]).map((r) => r.key);
    expect(Object.keys(guids).sort()).toEqual([...keys].sort());
    expect(new Set(Object.values(guids)).size).toBe(keys.length);
    for (const p of ['enableRunCommand', 'enableReplaceDisks', 'enableNewVm', 'enableMount', 'enableEntraDisks']) {
      expect(template.parameters[p], p).toMatchObject({ type: 'bool', defaultValue: false });
    }
    const deployments = byType('Microsoft.Resources/deployments');
    const loops = deployments.filter((d: Json) => d.copy).map((d: Json) => d.copy.count);
    expect(loops).toEqual(["[length(parameters('protectedSubscriptions'))]", "[length(parameters('protectedResourceGroups'))]"]);
    const withScopes = evaluateVariables(template, resolveParameters(template, { subscriptionIds: ['a', 'b'] }));
    expect(withScopes.assignableScopes).toEqual(['/subscriptions/a', '/subscriptions/b']);
  });
});

describe('the Entra Disks role', () => {
  // The built-in role Azure documents for Entra-only disk data ("Data Operator for Managed Disks", id
  // 959f8984-c045-4866-89c7-12bf9737be2e, https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute#data-operator-for-managed-disks;
  // azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md: that role "or a custom role
  // with the following permissions"). Its data actions, of which the custom role takes what the app uses.
  const DATA_OPERATOR = [
    'Microsoft.Compute/disks/download/action',
    'Microsoft.Compute/disks/upload/action',
    'Microsoft.Compute/snapshots/download/action',
    'Microsoft.Compute/snapshots/upload/action',
  ];
  const role = (variables.customRoles as Json[]).find((r) => r.key === 'entraDisks');

  it('holds data actions only, each one of the built-in Data Operator for Managed Disks', () => {
    expect(role.actions).toEqual([]);
    expect(role.dataActions.length).toBeGreaterThan(0);
    for (const a of role.dataActions) expect(DATA_OPERATOR).toContain(a);
    expect(String(evaluate(role.roleName, scope))).toMatch(/^vmbackup Entra Disks \(/);
  });

  it("reaches Azure: the role definitions pass each role's dataActions, and only the Entra Disks role has any", () => {
    const defs = byType('Microsoft.Resources/deployments').find((d: Json) => !d.copy && d.properties.template.resources.some((r: Json) => r.type === 'Microsoft.Authorization/roleDefinitions'));
    const permissions = defs.properties.template.resources[0].properties.permissions[0];
    expect(permissions.dataActions).toBe("[parameters('roles')[copyIndex()].dataActions]");
    expect(permissions.notDataActions).toEqual([]);
    for (const r of variables.customRoles as Json[]) expect(Array.isArray(r.dataActions), r.key).toBe(true);
    expect((variables.customRoles as Json[]).filter((r) => r.dataActions.length > 0).map((r) => r.key)).toEqual(['entraDisks']);
  });
});

/** Nested templates are evaluated by ARM in their own scope; here only their syntax is checked. */
function evaluateSyntaxOnly(v: string): void {
  const anything = new Proxy({}, { has: () => true, get: () => 'x' });
  try {
    evaluate(v, { parameters: anything as Record<string, unknown>, variables: anything as Record<string, unknown> });
  } catch (err) {
    if (/unknown function|expected|unexpected|unterminated|trailing/.test((err as Error).message)) throw err;
  }
}
