import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../http-util';
import { Router, sendJson } from '../http-util';
import { ArmError } from './errors';
import { EmulatorState, type NicRecord, type VmRecord, type VnetRecord } from './state';
import { skuNotAvailable, type SkuCatalog } from './skus';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
type Body = Record<string, any>;

const NET = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network';
const netId = (sub: string, rg: string, type: string, name: string): string => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/${type}/${name}`;
const same = (a?: string, b?: string): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** ARM's 404 for a missing top-level resource, as Compute's (errors.ts notFound) with the Network namespace. */
const missing = (type: string, name: string, rg: string): ArmError =>
  new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Network/${type}/${name}' under resource group '${rg}' was not found.`);

/**
 * The Microsoft.Network subset a restore to a new VM needs (api-version 2024-05-01):
 * - Virtual Networks - Create Or Update / Get (https://learn.microsoft.com/rest/api/virtualnetwork/virtual-networks/create-or-update)
 *   with their subnets, and Subnets - Get (.../subnets/get); a subnet has no location, its vnet's is the region;
 * - Network Interfaces - Create Or Update / Get / Delete (.../network-interfaces/create-or-update, get, delete).
 *   A NIC must name an existing subnet of a vnet in its own region: otherwise 400 InvalidResourceReference with
 *   the message Azure answers (quoted in MicrosoftDocs/azure-docs#81734 and Azure/azure-cli#1237). A NIC
 *   attached to a VM (`virtualMachine.id`) cannot be deleted: 400 NicInUse (message quoted in
 *   hashicorp/terraform-provider-azurerm#8105). PUT and DELETE answer with an Azure-AsyncOperation to poll.
 */
export class NetworkResources {
  constructor(
    readonly state: EmulatorState,
    readonly skus: SkuCatalog,
  ) {}

  putVnet(sub: string, rg: string, name: string, body: Body): { vnet: VnetRecord; created: boolean } {
    if (!body.location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    const id = netId(sub, rg, 'virtualNetworks', name);
    const created = !this.state.vnets.has(EmulatorState.key(id));
    const p = body.properties ?? {};
    const vnet: VnetRecord = {
      id,
      name,
      resourceGroup: rg,
      subscriptionId: sub,
      location: String(body.location),
      tags: body.tags ?? {},
      addressPrefixes: p.addressSpace?.addressPrefixes ?? ['10.0.0.0/16'],
      subnets: (p.subnets ?? []).map((s: Body) => ({ name: String(s.name), addressPrefix: String(s.properties?.addressPrefix ?? '10.0.0.0/24') })),
    };
    this.state.vnets.set(EmulatorState.key(id), vnet);
    return { vnet, created };
  }

  requireVnet(sub: string, rg: string, name: string): VnetRecord {
    const v = this.state.vnets.get(EmulatorState.key(netId(sub, rg, 'virtualNetworks', name)));
    if (!v) throw missing('virtualNetworks', name, rg);
    return v;
  }

  /** The vnet and subnet an id names, or undefined (a subnet id is `<vnet id>/subnets/<name>`). */
  subnet(id: string): { vnet: VnetRecord; subnet: VnetRecord['subnets'][number] } | undefined {
    const m = /^(.*)\/subnets\/([^/]+)$/i.exec(id);
    const vnet = m ? this.state.vnets.get(EmulatorState.key(m[1]!)) : undefined;
    const subnet = vnet?.subnets.find((s) => same(s.name, m![2]));
    return vnet && subnet ? { vnet, subnet } : undefined;
  }

  putNic(sub: string, rg: string, name: string, body: Body): { nic: NicRecord; created: boolean } {
    if (!body.location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    const id = netId(sub, rg, 'networkInterfaces', name);
    const ipc = (body.properties?.ipConfigurations ?? [])[0];
    const subnetId = String(ipc?.properties?.subnet?.id ?? '');
    if (!ipc) throw new ArmError(400, 'InvalidRequestFormat', `Network interface ${id} must have at least one IP configuration.`);
    const found = this.subnet(subnetId);
    if (!found || !same(found.vnet.location, body.location)) {
      throw new ArmError(
        400,
        'InvalidResourceReference',
        `Resource ${subnetId} referenced by resource ${id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
      );
    }
    const existing = this.state.nics.get(EmulatorState.key(id));
    const taken = [...this.state.nics.values()].filter((n) => same(n.subnetId, subnetId)).length;
    const nic: NicRecord = {
      id,
      name,
      resourceGroup: rg,
      subscriptionId: sub,
      location: String(body.location),
      subnetId: `${found.vnet.id}/subnets/${found.subnet.name}`,
      // Azure keeps the first four addresses of a subnet for itself (virtual-networks-faq.md): the first NIC gets .4.
      privateIPAddress: existing?.privateIPAddress ?? `${found.subnet.addressPrefix.split('/')[0]!.split('.').slice(0, 3).join('.')}.${4 + taken}`,
      virtualMachineId: existing?.virtualMachineId,
      tags: body.tags ?? {},
    };
    this.state.nics.set(EmulatorState.key(id), nic);
    return { nic, created: !existing };
  }

  requireNic(sub: string, rg: string, name: string): NicRecord {
    const n = this.state.nics.get(EmulatorState.key(netId(sub, rg, 'networkInterfaces', name)));
    if (!n) throw missing('networkInterfaces', name, rg);
    return n;
  }

  deleteNic(n: NicRecord): void {
    if (n.virtualMachineId) {
      throw new ArmError(
        400,
        'NicInUse',
        `Network Interface ${n.id} is used by existing resource ${n.virtualMachineId}. In order to delete the network interface, it must be dissociated from the resource.`,
      );
    }
    this.state.nics.delete(EmulatorState.key(n.id));
  }

  /**
   * What a VM create checks of its network profile and size before anything is made: at least one NIC ("A VM
   * must have at least one network interface attached to it", virtual-network-network-interface-vm.md), each an
   * existing NIC in the VM's region and subscription that no other VM has, and a size the region offers in the
   * VM's zone (skus.ts). Azure's codes for the NIC refusals are not documented; the messages here are our own.
   */
  checkVmCreate(vmId: string, sub: string, body: Body): NicRecord[] {
    const refs: Body[] = body.properties?.networkProfile?.networkInterfaces ?? [];
    if (refs.length === 0) throw new ArmError(400, 'InvalidParameter', "Required parameter 'networkProfile' is missing (null): a VM needs at least one network interface.");
    const nics = refs.map((r) => {
      const n = this.state.nics.get(EmulatorState.key(String(r.id ?? '')));
      if (!n) throw new ArmError(400, 'NotFound', `Resource ${String(r.id)} not found.`);
      if (!same(n.location, body.location) || !same(n.subscriptionId, sub))
        throw new ArmError(400, 'InvalidParameter', `Network interface ${n.id} is in ${n.location}; a VM in ${String(body.location)} can use only network interfaces of its region and subscription.`);
      if (n.virtualMachineId && !same(n.virtualMachineId, vmId)) throw new ArmError(400, 'NicInUse', `Network Interface ${n.id} is used by existing resource ${n.virtualMachineId}.`);
      return n;
    });
    const zone = (body.zones ?? [])[0] as string | undefined;
    if (this.skus.refusal(String(body.location), String(body.properties?.hardwareProfile?.vmSize ?? 'Standard_D2s_v5'), zone)) throw skuNotAvailable(vmId, String(body.location), zone, sub);
    return nics;
  }

  attach(vm: VmRecord, body: Body): void {
    const refs: Body[] = body.properties?.networkProfile?.networkInterfaces ?? [];
    vm.networkInterfaces = refs.map((r) => {
      const n = this.state.nics.get(EmulatorState.key(String(r.id)))!;
      n.virtualMachineId = vm.id;
      // NetworkInterfaceReference carries primary and deleteOption under `properties` on the wire
      // (https://learn.microsoft.com/rest/api/compute/virtual-machines/create-or-update, NetworkInterfaceReference).
      const p = r.properties ?? {};
      return { id: n.id, ...(p.primary !== undefined ? { primary: p.primary === true } : {}), ...(p.deleteOption ? { deleteOption: String(p.deleteOption) } : {}) };
    });
  }

  /** A deleted VM lets go of its NICs; those with deleteOption Delete go with it (virtualMachines networkProfile docs). */
  detach(vm: VmRecord): void {
    for (const ref of vm.networkInterfaces ?? []) {
      const n = this.state.nics.get(EmulatorState.key(ref.id));
      if (!n) continue;
      n.virtualMachineId = undefined;
      if (ref.deleteOption === 'Delete') this.state.nics.delete(EmulatorState.key(n.id));
    }
  }
}

export function vnetJson(v: VnetRecord): Record<string, unknown> {
  return {
    id: v.id,
    name: v.name,
    type: 'Microsoft.Network/virtualNetworks',
    location: v.location,
    tags: v.tags,
    properties: { provisioningState: 'Succeeded', addressSpace: { addressPrefixes: v.addressPrefixes }, subnets: v.subnets.map((s) => subnetJson(v, s)) },
  };
}

function subnetJson(v: VnetRecord, s: VnetRecord['subnets'][number]): Record<string, unknown> {
  return { id: `${v.id}/subnets/${s.name}`, name: s.name, type: 'Microsoft.Network/virtualNetworks/subnets', properties: { provisioningState: 'Succeeded', addressPrefix: s.addressPrefix } };
}

export function nicJson(n: NicRecord): Record<string, unknown> {
  return {
    id: n.id,
    name: n.name,
    type: 'Microsoft.Network/networkInterfaces',
    location: n.location,
    tags: n.tags,
    properties: {
      provisioningState: 'Succeeded',
      ipConfigurations: [
        {
          id: `${n.id}/ipConfigurations/ipconfig1`,
          name: 'ipconfig1',
          properties: { provisioningState: 'Succeeded', primary: true, privateIPAddress: n.privateIPAddress, privateIPAllocationMethod: 'Dynamic', subnet: { id: n.subnetId } },
        },
      ],
      ...(n.virtualMachineId ? { virtualMachine: { id: n.virtualMachineId } } : {}),
    },
  };
}

/** The Microsoft.Network routes; PUT and DELETE finish through an Azure-AsyncOperation that is done at once. */
export function networkRouter(net: NetworkResources, origin: () => string): Router {
  const ops = new Set<string>();
  const async = (c: RequestContext): Record<string, string> => {
    const id = randomUUID();
    ops.add(id);
    return { 'azure-asyncoperation': `${origin()}/subscriptions/${c.params.sub}/providers/Microsoft.Network/locations/local/operations/${id}?api-version=${c.url.searchParams.get('api-version')}` };
  };
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON of any shape
  const json = (c: RequestContext): Record<string, any> => {
    try {
      return c.body.length ? JSON.parse(c.body.toString('utf8')) : {};
    } catch {
      throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.');
    }
  };
  return new Router()
    .add('GET', '/subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/operations/{id}', (c) => {
      if (!ops.has(c.params.id!)) throw new ArmError(404, 'NotFound', 'The operation was not found.');
      sendJson(c.res, 200, { status: 'Succeeded' });
    })
    .add('PUT', `${NET}/virtualNetworks/{name}`, (c) => {
      const { vnet, created } = net.putVnet(c.params.sub!, c.params.rg!, c.params.name!, json(c));
      sendJson(c.res, created ? 201 : 200, vnetJson(vnet), async(c));
    })
    .add('GET', `${NET}/virtualNetworks/{name}`, (c) => sendJson(c.res, 200, vnetJson(net.requireVnet(c.params.sub!, c.params.rg!, c.params.name!))))
    .add('GET', `${NET}/virtualNetworks/{name}/subnets/{subnet}`, (c) => {
      const v = net.requireVnet(c.params.sub!, c.params.rg!, c.params.name!);
      const s = v.subnets.find((x) => same(x.name, c.params.subnet));
      if (!s) throw new ArmError(404, 'NotFound', `Resource ${v.id}/subnets/${c.params.subnet} not found.`);
      sendJson(c.res, 200, subnetJson(v, s));
    })
    .add('PUT', `${NET}/networkInterfaces/{name}`, (c) => {
      const { nic, created } = net.putNic(c.params.sub!, c.params.rg!, c.params.name!, json(c));
      sendJson(c.res, created ? 201 : 200, nicJson(nic), async(c));
    })
    .add('GET', `${NET}/networkInterfaces/{name}`, (c) => sendJson(c.res, 200, nicJson(net.requireNic(c.params.sub!, c.params.rg!, c.params.name!))))
    .add('DELETE', `${NET}/networkInterfaces/{name}`, (c) => {
      const n = net.state.nics.get(EmulatorState.key(netId(c.params.sub!, c.params.rg!, 'networkInterfaces', c.params.name!)));
      if (!n) {
        c.res.writeHead(204);
        c.res.end();
        return;
      }
      net.deleteNic(n);
      sendJson(c.res, 202, undefined, async(c));
    });
}
