// `node scripts/roles.mjs`: writes the README's table of the permissions the app's identity gets from the custom
// roles in infra/azuredeploy.json, actions and data actions (the roles test/infra/roles.test.ts derives from the
// app's ARM calls and the data requests of Entra-only disks).
// `--check` only says whether the README is in step (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';

const WHEN = {
  backup: 'always: on every scope in `protectedSubscriptions` / `protectedResourceGroups`',
  runCommand: 'with `enableRunCommand` (policies with FileSystemConsistent or ApplicationConsistent)',
  replaceDisks: 'with `enableReplaceDisks` (restores with mode replaceDisks)',
  newVm: 'with `enableNewVm` (restores with mode newVm)',
  mount: 'with `enableMount` (file recovery: mount and unmount on a helper VM)',
  entraDisks: "with `enableEntraDisks` (disks with `dataAccessAuthMode` `AzureActiveDirectory`); data actions, checked on the disks' data requests",
};
const template = JSON.parse(readFileSync('infra/azuredeploy.json', 'utf8'));
const rows = template.variables.customRoles.flatMap((r) => [...r.actions, ...r.dataActions].map((a, i) => `| \`${r.key}\` | \`${a}\` | ${i === 0 ? (WHEN[r.key] ?? '') : ''} |`));
const table = ['| Role | Permission | Assigned |', '| --- | --- | --- |', ...rows].join('\n');
const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(/(<!-- roles:start -->)[\s\S]*?(<!-- roles:end -->)/, `$1\n${table}\n$2`);
if (!/<!-- roles:start -->/.test(readme)) throw new Error('README.md has no <!-- roles:start --> ... <!-- roles:end --> section');
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md permission table is out of date: run node scripts/roles.mjs');
    process.exit(1);
  }
} else if (next !== readme) writeFileSync('README.md', next);
