import type { Deps } from '../jobs/deps';

export interface Health {
  status: 'Healthy' | 'Unhealthy';
  storage: { reachable: boolean; error?: string };
  compute: { reachable: boolean; error?: string };
}

function short(err: unknown): string {
  const e = err as { statusCode?: number; code?: string; name?: string };
  return [e.name, e.code, e.statusCode].filter(Boolean).join(' ') || 'unreachable';
}

/** Cheap reads that prove the dependencies answer; errors are summarised, never echoed. */
export async function checkHealth(deps: Deps): Promise<Health> {
  const storage = await deps.repos.policies.list({ top: 1 }).then(
    () => ({ reachable: true }),
    (e) => ({ reachable: false, error: short(e) }),
  );
  const sub = deps.config.subscriptionIds[0]!;
  const probeId = `/subscriptions/${sub}/resourceGroups/vmbackup-health/providers/Microsoft.Compute/virtualMachines/probe`;
  const compute = await deps.compute.getVm(probeId).then(
    () => ({ reachable: true }),
    (e) => ({ reachable: false, error: short(e) }),
  );
  return { status: storage.reachable && compute.reachable ? 'Healthy' : 'Unhealthy', storage, compute };
}
