import { z } from 'zod';
import { JOB_TYPES } from '../../core/domain/model';

/** Request and query shapes: they validate the requests and generate the OpenAPI document. */
const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, "-" and "_"');
export const ItemKey = z
  .string()
  .min(4)
  .max(400)
  .regex(/^vm;[^/\\#?\u0000-\u001f]+$/, 'is not an item key (vm;<subscription>;<resource group>;<vm name>)');
export const PointId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[0-9]{16}-[A-Za-z0-9]+$/, 'is not a recovery point id');
export const JobId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[0-9]{16}-[A-Za-z0-9]+$/, 'is not a job id');
export const PolicyName = name;
const VmId = z
  .string()
  .max(400)
  .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/[^/]+$/i, 'is not a virtual machine resource id');
const ResourceGroup = z
  .string()
  .min(1)
  .max(90)
  .regex(/^[-\w._()]+$/, 'is not a valid resource group name');
const Token = z.string().max(200).optional();

export const RegisterBody = z.strictObject({ vmIds: z.array(VmId).min(1).max(100), policyName: PolicyName.optional() });
export const ProtectBody = z.strictObject({ itemKeys: z.array(ItemKey).min(1).max(100), policyName: PolicyName });
export const BackupNowBody = z.strictObject({ retainUntil: z.iso.datetime({ offset: true }).optional() });
export const StopProtectionBody = z.strictObject({ deleteData: z.boolean(), confirmationToken: Token });
const SubnetId = z
  .string()
  .max(600)
  .regex(
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i,
    'is not a subnet resource id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)',
  );
const NEW_VM_ONLY = ['subnetId', 'vmSize', 'targetSubscriptionId', 'targetLocation'] as const;
export const RestoreBody = z
  .strictObject({
    mode: z.enum(['newDisks', 'replaceDisks', 'newVm']).describe('newDisks: disks only; replaceDisks: swapped into the original VM; newVm: a new VM on the restored disks with a NIC in subnetId.'),
    targetResourceGroup: ResourceGroup.optional(),
    confirmationToken: Token,
    source: z
      .enum(['auto', 'snapshot', 'vault'])
      .optional()
      .describe(
        "Where the disks come from. snapshot: created from the point's source snapshots (instant restore, no data copied; 409 InstantRestoreUnavailable when they are gone: see the point's instantRestore and instantRestoreUntil); vault: the data copied from the backup storage; auto: the snapshots while they exist, else the vault. Default: auto.",
      ),
    subnetId: SubnetId.optional().describe("mode newVm (required): the subnet the new VM's network interface goes into; it must be in the target subscription and region."),
    vmSize: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_]+$/, 'is not a VM size (e.g. Standard_D2s_v5)')
      .optional()
      .describe("mode newVm: the new VM's size. Default: the original VM's."),
    targetSubscriptionId: z
      .string()
      .regex(/^[0-9a-fA-F-]{36}$/, 'is not a subscription id')
      .optional()
      .describe("mode newVm: the subscription of the new VM and its disks (one of VMBACKUP_SUBSCRIPTION_IDS; needs targetResourceGroup). Default: the original's."),
    targetLocation: z
      .string()
      .min(2)
      .max(40)
      .regex(/^[a-z0-9]+$/, 'is not a region name (e.g. westeurope)')
      .optional()
      .describe("mode newVm: the region of the new VM and its disks. Default: the original's."),
  })
  .superRefine((b, ctx) => {
    if (b.mode === 'newVm' && !b.subnetId) ctx.addIssue({ code: 'custom', path: ['subnetId'], message: 'is required with mode newVm' });
    if (b.mode !== 'newVm') for (const k of NEW_VM_ONLY) if (b[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'applies to mode newVm only' });
    if (b.targetSubscriptionId && !b.targetResourceGroup) ctx.addIssue({ code: 'custom', path: ['targetResourceGroup'], message: 'is required with targetSubscriptionId' });
  });
export const MountBody = z.strictObject({
  helperVmId: VmId.describe('The VM the disks are attached to: running or stopped, in the region of the protected VM (and the zone of its zonal disks), with a free LUN per disk.'),
  durationMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional()
    .describe('How long the disks stay attached once mounted; default 60, at most 10080 (7 days). Unmount ends it earlier.'),
});
export const DeletePolicyQuery = z.strictObject({ confirmationToken: Token, code: z.string().optional() });

const JobType = z.enum(JOB_TYPES);
const JobStatus = z.enum(['Queued', 'InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelling', 'Cancelled']);
export const JobsQuery = z.strictObject({
  type: JobType.optional(),
  status: JobStatus.optional(),
  itemKey: ItemKey.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  top: z.coerce.number().int().min(1).max(200).default(50),
  continuation: z.string().max(400).optional(),
  code: z.string().optional(),
});
export const PageQuery = z.strictObject({ code: z.string().optional(), includeDeleted: z.enum(['true', 'false']).optional() });

/** A package in a container of the backup account; the location is a name, never a URL or a key. */
const ContainerName = z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a container name (3-63 lowercase letters, digits, dashes)');
const PackagePrefix = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a relative path of letters, digits, ".", "_", "-"')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');
export const ExportBody = z.strictObject({ container: ContainerName, prefix: PackagePrefix.optional(), pointId: PointId.optional() });
export const ImportBody = z.strictObject({ container: ContainerName, prefix: PackagePrefix.optional() });
