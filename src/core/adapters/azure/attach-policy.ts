import type { Pipeline, PipelinePolicy } from '@azure/core-rest-pipeline';

type AddPolicyOptions = Parameters<Pipeline['addPolicy']>[1];

/**
 * Adds a policy to a storage client's pipeline (and so to every client derived from it). The storage SDKs add
 * `additionalPolicies` twice and then refuse the pipeline, so this goes through the client's own pipeline.
 * A policy may say where it belongs (`placement`), e.g. below the retry policy to stand in for the service.
 */
export function attachPolicy(client: object, policy: PipelinePolicy): void {
  const core = ((client as { pipeline?: unknown }).pipeline as { _corePipeline?: { addPolicy(p: PipelinePolicy, o?: AddPolicyOptions): void; getOrderedPolicies(): PipelinePolicy[] } })._corePipeline;
  if (!core) throw new Error('this storage SDK version keeps its pipeline elsewhere; update attachPolicy');
  if (!core.getOrderedPolicies().some((p) => p.name === policy.name)) core.addPolicy(policy, (policy as { placement?: AddPolicyOptions }).placement);
}
