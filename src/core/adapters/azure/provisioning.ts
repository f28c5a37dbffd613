import { ComputeManagementClient, type ComputeManagementClientOptionalParams, type DataDisk, type VirtualMachine } from '@azure/arm-compute';
import { withArmThrottle } from './arm-throttle';
import type { TokenCredential } from '@azure/core-auth';
import { createPipelineRequest, RestError, type PipelineResponse } from '@azure/core-rest-pipeline';
import { parseResourceId } from '../../ports/compute';
import { parseArmId, type NewVmSpec, type NicInfo, type ProvisioningPort, type SubnetInfo, type VmSizeOffer } from '../../ports/provisioning';
import { ignore404 } from './arm-status';

/**
 * Microsoft.Network is not among the SDKs the app ships, so its three operations are plain ARM REST calls sent
 * through the Compute client's own core-rest-pipeline pipeline (the same credential, endpoint, TLS options,
 * retries and extra policies as every other ARM call):
 * - Network Interfaces - Create Or Update, PUT .../Microsoft.Network/networkInterfaces/{name}
 *   (https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/create-or-update), a long-running
 *   operation answered 200/201 with an Azure-AsyncOperation header to poll;
 * - Network Interfaces - Get and Delete (.../network-interfaces/get, .../delete: 200/202/204);
 * - Subnets - Get (.../subnets/get) and Virtual Networks - Get (.../virtual-networks/get), whose `location` is
 *   the subnet's region (a subnet has none of its own).
 */
export const NETWORK_API_VERSION = '2024-05-01';

export interface ArmProvisioningOptions {
  credential: TokenCredential;
  endpoint?: string;
  clientOptions?: ComputeManagementClientOptionalParams;
  pollIntervalMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: ARM JSON of any shape
type Json = Record<string, any>;

export class ArmProvisioningAdapter implements ProvisioningPort {
  private clients = new Map<string, ComputeManagementClient>();

  constructor(private readonly o: ArmProvisioningOptions) {}

  private client(subscriptionId: string): ComputeManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      c = new ComputeManagementClient(this.o.credential, subscriptionId, { ...withArmThrottle(this.o.clientOptions), ...(this.o.endpoint ? { endpoint: this.o.endpoint } : {}) });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  private base(): string {
    return (this.o.endpoint ?? 'https://management.azure.com').replace(/\/$/, '');
  }

  /** One ARM REST call through the pipeline; ARM's error body becomes a RestError with its code and status. */
  private async call(subscriptionId: string, method: 'GET' | 'PUT' | 'DELETE', pathOrUrl: string, body?: unknown): Promise<PipelineResponse & { json?: Json }> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base()}${pathOrUrl}?api-version=${NETWORK_API_VERSION}`;
    const req = createPipelineRequest({ url, method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    req.headers.set('content-type', 'application/json');
    const res = await this.client(subscriptionId).sendRequest(req);
    const json = res.bodyAsText ? (JSON.parse(res.bodyAsText) as Json) : undefined;
    if (res.status >= 400) {
      throw new RestError(String(json?.error?.message ?? `ARM answered ${res.status}`), { statusCode: res.status, code: json?.error?.code, request: req, response: res });
    }
    return { ...res, json };
  }

  private async getOrUndefined(id: string): Promise<Json | undefined> {
    try {
      return (await this.call(parseArmId(id).subscriptionId, 'GET', id)).json;
    } catch (err) {
      if ((err as RestError).statusCode === 404) return undefined;
      throw err;
    }
  }

  async getSubnet(subnetId: string): Promise<SubnetInfo | undefined> {
    const subnet = await this.getOrUndefined(subnetId);
    if (!subnet) return undefined;
    const vnet = await this.getOrUndefined(subnetId.replace(/\/subnets\/[^/]+$/i, ''));
    return vnet ? { id: String(subnet.id ?? subnetId), location: String(vnet.location) } : undefined;
  }

  async getNic(nicId: string): Promise<NicInfo | undefined> {
    const nic = await this.getOrUndefined(nicId);
    return nic ? nicInfo(nic) : undefined;
  }

  async createNic(a: Parameters<ProvisioningPort['createNic']>[0]): Promise<NicInfo> {
    const id = `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.Network/networkInterfaces/${a.name}`;
    const res = await this.call(a.subscriptionId, 'PUT', id, {
      location: a.location,
      tags: a.tags,
      properties: { ipConfigurations: [{ name: 'ipconfig1', properties: { primary: true, privateIPAllocationMethod: 'Dynamic', subnet: { id: a.subnetId } } }] },
    });
    const poll = res.headers.get('azure-asyncoperation');
    if (poll) await this.waitFor(a.subscriptionId, poll);
    const nic = await this.getOrUndefined(id);
    if (!nic) throw new RestError(`The network interface '${a.name}' was not there after its creation.`, { statusCode: 404, code: 'NotFound' });
    return nicInfo(nic);
  }

  /** Polls an Azure-AsyncOperation URL until its status is terminal ("Succeeded", "Failed", "Canceled"). */
  private async waitFor(subscriptionId: string, url: string): Promise<void> {
    for (;;) {
      const op = await this.call(subscriptionId, 'GET', url);
      const status = String(op.json?.status ?? 'Succeeded');
      if (status === 'Succeeded') return;
      if (status === 'Failed' || status === 'Canceled') {
        throw new RestError(String(op.json?.error?.message ?? `The operation ended ${status}.`), { statusCode: 409, code: op.json?.error?.code ?? status });
      }
      const after = Number(op.headers.get('retry-after') ?? 1) * 1000;
      await new Promise((r) => setTimeout(r, this.o.pollIntervalMs ?? after));
    }
  }

  async deleteNic(nicId: string): Promise<void> {
    const res = await this.call(parseArmId(nicId).subscriptionId, 'DELETE', nicId).catch((err: RestError) => {
      if (err.statusCode === 404) return undefined;
      throw err;
    });
    const poll = res?.headers.get('azure-asyncoperation');
    if (poll) await this.waitFor(parseArmId(nicId).subscriptionId, poll);
  }

  /**
   * Resource Skus - List with `$filter=location eq '<region>'` (https://learn.microsoft.com/rest/api/compute/resource-skus/list):
   * each VM size with `locationInfo[].zones` and `restrictions` (type Location or Zone, reasonCode
   * NotAvailableForSubscription or QuotaId).
   */
  async vmSizeOffer(subscriptionId: string, location: string, vmSize: string): Promise<VmSizeOffer | undefined> {
    const loc = location.toLowerCase();
    for await (const s of this.client(subscriptionId).resourceSkus.list({ filter: `location eq '${location}'` })) {
      if (s.resourceType !== 'virtualMachines' || s.name?.toLowerCase() !== vmSize.toLowerCase()) continue;
      if (!(s.locations ?? []).some((l) => l.toLowerCase() === loc)) continue;
      const info = (s.locationInfo ?? []).find((l) => l.location?.toLowerCase() === loc);
      const restrictions = (s.restrictions ?? []).filter((r) => (r.restrictionInfo?.locations ?? r.values ?? []).some((l) => l.toLowerCase() === loc));
      const whole = restrictions.find((r) => r.type === 'Location');
      const zonal = restrictions.filter((r) => r.type === 'Zone').flatMap((r) => r.restrictionInfo?.zones ?? []);
      const maxDisks = Number((s.capabilities ?? []).find((c) => c.name === 'MaxDataDiskCount')?.value);
      return {
        zones: [...(info?.zones ?? [])].sort(),
        ...(maxDisks > 0 ? { maxDataDisks: maxDisks } : {}),
        ...(whole ? { restricted: whole.reasonCode ?? 'Restricted' } : {}),
        ...(zonal.length ? { restrictedZones: zonal } : {}),
      };
    }
    return undefined;
  }

  async createVm(s: NewVmSpec): Promise<{ id: string }> {
    const dataDisks: DataDisk[] = s.dataDisks.map((d) => ({
      lun: d.lun,
      createOption: 'Attach',
      managedDisk: { id: d.diskId },
      name: parseResourceId(d.diskId).name,
      ...(d.caching ? { caching: d.caching as DataDisk['caching'] } : {}),
      ...(d.writeAcceleratorEnabled !== undefined ? { writeAcceleratorEnabled: d.writeAcceleratorEnabled } : {}),
      ...(d.deleteOption ? { deleteOption: d.deleteOption } : {}),
    }));
    const vm: VirtualMachine = {
      location: s.location,
      tags: s.tags,
      ...(s.zone ? { zones: [s.zone] } : {}),
      hardwareProfile: { vmSize: s.vmSize },
      storageProfile: {
        // A VM on an existing OS disk: createOption Attach, no image and no osProfile (attach-os-disk in
        // https://learn.microsoft.com/azure/virtual-machines/windows/create-vm-specialized).
        osDisk: {
          osType: s.osType,
          createOption: 'Attach',
          name: parseResourceId(s.os.diskId).name,
          managedDisk: { id: s.os.diskId },
          ...(s.os.caching ? { caching: s.os.caching as DataDisk['caching'] } : {}),
          ...(s.os.writeAcceleratorEnabled !== undefined ? { writeAcceleratorEnabled: s.os.writeAcceleratorEnabled } : {}),
          ...(s.os.deleteOption ? { deleteOption: s.os.deleteOption } : {}),
        },
        dataDisks,
      },
      networkProfile: { networkInterfaces: [{ id: s.nicId, primary: true }] },
      ...(s.securityType === 'TrustedLaunch' ? { securityProfile: { securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } } } : {}),
    };
    const made = await this.client(s.subscriptionId).virtualMachines.beginCreateOrUpdateAndWait(
      s.resourceGroup,
      s.name,
      vm,
      this.o.pollIntervalMs !== undefined ? { updateIntervalInMs: this.o.pollIntervalMs } : {},
    );
    return { id: made.id! };
  }

  async deleteVm(vmId: string): Promise<void> {
    const r = parseResourceId(vmId);
    await ignore404(
      this.client(r.subscriptionId).virtualMachines.beginDeleteAndWait(r.resourceGroup, r.name, this.o.pollIntervalMs !== undefined ? { updateIntervalInMs: this.o.pollIntervalMs } : {}),
    );
  }
}

function nicInfo(n: Json): NicInfo {
  const ip = (n.properties?.ipConfigurations ?? [])[0];
  return {
    id: String(n.id),
    location: String(n.location),
    tags: n.tags ?? {},
    ...(ip?.properties?.subnet?.id ? { subnetId: String(ip.properties.subnet.id) } : {}),
    ...(n.properties?.virtualMachine?.id ? { virtualMachineId: String(n.properties.virtualMachine.id) } : {}),
  };
}
