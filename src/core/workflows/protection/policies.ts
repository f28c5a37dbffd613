import { ConflictError, policyNotFound, ValidationError } from '../../errors';
import { parsePolicy, type Policy } from '../../domain/policy';
import { EntityExistsError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { reapplyRetention } from '../backup/expiry';

function validPolicy(input: unknown): Policy {
  const r = parsePolicy(input);
  if (!r.ok) throw new ValidationError(`The policy is invalid: ${r.issues.join('; ')}`.slice(0, 1000), 'Correct the fields listed and send the policy again.', { issues: r.issues });
  return r.policy;
}

export async function createPolicy(deps: Deps, input: unknown): Promise<Policy> {
  const policy = validPolicy(input);
  try {
    await deps.repos.policies.insert(policy);
  } catch (err) {
    if (err instanceof EntityExistsError) throw new ConflictError('PolicyExists', `A policy named '${policy.name}' already exists.`, 'Pick another name, or update the existing policy with PUT.');
    throw err;
  }
  return policy;
}

export async function getPolicy(deps: Deps, name: string): Promise<Policy> {
  const p = await deps.repos.policies.get(name);
  if (!p) throw policyNotFound(name);
  return p.doc;
}

export async function updatePolicy(deps: Deps, name: string, input: unknown): Promise<Policy> {
  const policy = validPolicy(input);
  if (policy.name !== name)
    throw new ValidationError(`The body names policy '${policy.name}' but the URL names '${name}'.`, 'Send the same name in both; to rename, create a new policy and protect the items with it.');
  const cur = await deps.repos.policies.get(name);
  if (!cur) throw policyNotFound(name);
  await deps.repos.policies.replace(policy, cur.etag);
  for (const item of await deps.repos.items.all({ where: { policyName: name } })) await reapplyRetention(deps, item.itemKey, policy);
  return policy;
}

export async function deletePolicy(deps: Deps, name: string): Promise<void> {
  await getPolicy(deps, name);
  const users = (await deps.repos.items.all()).filter((i) => i.policyName === name);
  if (users.length > 0) {
    throw new ConflictError(
      'PolicyInUse',
      `Policy '${name}' protects ${users.length} item(s) (${users
        .slice(0, 3)
        .map((i) => i.vmName)
        .join(', ')}${users.length > 3 ? ', ...' : ''}).`,
      'Protect those items with another policy or stop their protection first.',
    );
  }
  const cur = await deps.repos.policies.get(name);
  if (cur) await deps.repos.policies.delete(cur.doc, cur.etag);
}
