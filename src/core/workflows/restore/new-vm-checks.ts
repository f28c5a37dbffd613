import { ConflictError, NotFoundError, ValidationError } from '../../errors';
import type { ProtectedItem, RecoveryPoint } from '../../domain/model';
import { parseArmId, type ProvisioningPort } from '../../ports/provisioning';
import type { Deps } from '../../jobs/deps';

/** What the caller asks of a new VM; everything absent comes from the point and the original VM. */
export interface NewVmRequest {
  subnetId: string;
  vmSize?: string;
  targetSubscriptionId?: string;
  targetLocation?: string;
}

/** The new VM as fixed at request time (job.params.newVm). Names are derived from the job id at step time. */
export interface NewVmPlan {
  subnetId: string;
  vmSize: string;
  zone?: string;
}

const NEW_DISKS = 'or restore with mode newDisks and build the VM yourself';
const same = (a?: string, b?: string): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/**
 * Every refusal a new-VM restore can get, at request time and before any disk is made: a 409 (or 404 for a
 * subnet that does not exist) whose message says what to change. The rules are Azure's: a NIC and its subnet's
 * virtual network are in one region and subscription ("The NIC, subnet, and VNet must all exist in the same
 * region and subscription", Azure/azure-content#7670; InvalidResourceReference otherwise), a VM's size must be
 * offered in its region and zone (Resource SKUs `locationInfo[].zones` and `restrictions`,
 * https://learn.microsoft.com/rest/api/compute/resource-skus/list; SkuNotAvailable otherwise,
 * https://learn.microsoft.com/troubleshoot/azure/virtual-machines/error-code-skunotavailable), and a VM on an
 * existing OS disk needs that disk (createOption Attach).
 */
export async function planNewVm(deps: Deps, item: ProtectedItem, point: RecoveryPoint, req: NewVmRequest): Promise<NewVmPlan> {
  if (!req.subnetId) throw new ValidationError('A restore with mode newVm needs subnetId.', "Pass subnetId: the resource id of the subnet the new VM's network interface goes into.");
  const net = requirePort(deps);
  const os = point.disks.find((d) => d.lun < 0);
  if (!os) throw new ConflictError('NewVmNoOsDisk', `Recovery point '${point.pointId}' holds no OS disk, so no VM can be created from it.`, `Choose a point that includes the OS disk, ${NEW_DISKS}.`);
  if (os.profile?.securityType?.startsWith('ConfidentialVM')) {
    throw new ConflictError(
      'NewVmConfidentialUnsupported',
      `The OS disk of recovery point '${point.pointId}' belongs to a Confidential VM, whose keys a restore cannot carry to a new VM.`,
      `Restore with mode newDisks and create the Confidential VM with its disk encryption set yourself.`,
    );
  }
  const subscriptionId = req.targetSubscriptionId ?? item.subscriptionId;
  if (!deps.config.subscriptionIds.some((s) => same(s, subscriptionId))) {
    throw new ConflictError(
      'TargetSubscriptionNotConfigured',
      `Subscription '${subscriptionId}' is not one this app is configured for (VMBACKUP_SUBSCRIPTION_IDS).`,
      "Add the subscription to VMBACKUP_SUBSCRIPTION_IDS and grant the app's identity its roles there, or restore into a configured subscription.",
    );
  }
  const location = req.targetLocation ?? item.location;
  const subnet = await net.getSubnet(req.subnetId);
  if (!subnet) throw new NotFoundError('SubnetNotFound', `Subnet '${req.subnetId}' does not exist.`, 'Pass the full resource id of an existing subnet (…/virtualNetworks/<vnet>/subnets/<subnet>).');
  if (!same(parseArmId(subnet.id).subscriptionId, subscriptionId)) {
    throw new ConflictError(
      'SubnetSubscriptionMismatch',
      `Subnet '${req.subnetId}' is in another subscription than the new VM (${subscriptionId}); Azure puts a NIC only in a subnet of its own subscription.`,
      "Choose a subnet of the target subscription, or set targetSubscriptionId to the subnet's.",
    );
  }
  if (!same(subnet.location, location)) {
    throw new ConflictError(
      'SubnetRegionMismatch',
      `Subnet '${req.subnetId}' is in region ${subnet.location} but the new VM would be in ${location}; Azure puts a NIC only in a subnet of its own region.`,
      `Choose a subnet in ${location}, or set targetLocation to ${subnet.location}.`,
    );
  }
  const vmSize = req.vmSize ?? (await deps.compute.getVm(item.vmId))?.size;
  if (!vmSize) throw new ConflictError('VmSizeUnknown', `The original VM '${item.vmName}' no longer exists, so its size is unknown.`, 'Pass vmSize (for example Standard_D2s_v5).');
  const zone = zoneOf(os.profile);
  await checkOffer(net, subscriptionId, location, vmSize, zone);
  return { subnetId: subnet.id, vmSize, ...(zone ? { zone } : {}) };
}

function requirePort(deps: Deps): ProvisioningPort {
  if (!deps.provisioning)
    throw new ConflictError('NewVmUnsupported', 'This deployment cannot create network interfaces, so it cannot restore to a new VM.', `Restore with mode newDisks, ${NEW_DISKS.replace(/^or /, '')}.`);
  return deps.provisioning;
}

/** The original's zone: its OS disk's (a ZRS disk is in every zone, so it says none). */
function zoneOf(p: RecoveryPoint['disks'][number]['profile']): string | undefined {
  if (!p?.zones?.length || /_zrs$/i.test(p.sku ?? '')) return undefined;
  return p.zones[0];
}

async function checkOffer(net: ProvisioningPort, subscriptionId: string, location: string, vmSize: string, zone: string | undefined): Promise<void> {
  const offer = await net.vmSizeOffer(subscriptionId, location, vmSize);
  if (!offer || offer.restricted) {
    const why = offer?.restricted ? ` (restriction ${offer.restricted})` : '';
    throw new ConflictError(
      'VmSizeNotAvailable',
      `VM size ${vmSize} is not available in region ${location} for subscription ${subscriptionId}${why}.`,
      `Pass another vmSize offered in ${location} (see az vm list-skus --location ${location}), or another targetLocation.`,
    );
  }
  if (zone && (!offer.zones.includes(zone) || offer.restrictedZones?.includes(zone))) {
    const where = offer.zones.length ? `only in zone(s) ${offer.zones.join(', ')}` : 'in no availability zone';
    throw new ConflictError(
      'ZoneNotAvailable',
      `The original VM was in zone ${zone}, but region ${location} offers VM size ${vmSize} ${where}.`,
      `Restore to a region with zone ${zone} for this size, pass another vmSize, ${NEW_DISKS}.`,
    );
  }
}
