import { sendJson, Router } from '../http-util';
import { ArmError } from './errors';
import { maxDataDisks } from './vm-sizes';

/**
 * Compute resource SKUs (Resource Skus - List, https://learn.microsoft.com/rest/api/compute/resource-skus/list):
 * each VM size per region with the availability zones it is offered in (`locationInfo[].zones`) and what the
 * subscription may not use (`restrictions`: type Location or Zone, reasonCode NotAvailableForSubscription).
 * Regions without availability zones answer no zones (https://learn.microsoft.com/azure/reliability/
 * availability-zones-region-support lists which have them). A VM create checks its size and zone against this
 * (SkuNotAvailable, https://learn.microsoft.com/troubleshoot/azure/virtual-machines/error-code-skunotavailable).
 */
export class SkuCatalog {
  /** Region (lower case) -> its zones and the VM sizes it offers. */
  readonly regions = new Map<string, { zones: string[]; sizes: string[] }>();
  /** `region|size` -> restricted zones ([] = the whole region). */
  readonly restrictions = new Map<string, string[]>();

  constructor() {
    const sizes = ['Standard_B1s', 'Standard_B2s', 'Standard_B4ms', 'Standard_D2s_v3', 'Standard_D2s_v5', 'Standard_D4s_v5', 'Standard_E4s_v5', 'Standard_M8ms'];
    for (const r of ['westeurope', 'northeurope', 'eastus', 'eastus2', 'westus2', 'swedencentral']) this.regions.set(r, { zones: ['1', '2', '3'], sizes });
    // West US and North Central US have no availability zones.
    for (const r of ['westus', 'northcentralus']) this.regions.set(r, { zones: [], sizes });
  }

  /** Tests: the subscription may not use `size` in `region` (in these zones, or anywhere there). */
  restrict(region: string, size: string, zones: string[] = []): void {
    this.restrictions.set(`${region.toLowerCase()}|${size.toLowerCase()}`, zones);
  }

  /** Why a VM of this size cannot be created in this region and zone, or undefined when it can. */
  refusal(region: string, size: string, zone?: string): string | undefined {
    const r = this.regions.get(region.toLowerCase());
    const offered = r?.sizes.some((s) => s.toLowerCase() === size.toLowerCase());
    const restricted = this.restrictions.get(`${region.toLowerCase()}|${size.toLowerCase()}`);
    if (!r || !offered || (restricted && restricted.length === 0)) return 'size';
    if (zone && (!r.zones.includes(zone) || restricted?.includes(zone))) return 'zone';
    return undefined;
  }

  json(region: string | undefined): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const [loc, r] of this.regions) {
      if (region && region.toLowerCase() !== loc) continue;
      for (const name of r.sizes) {
        const restricted = this.restrictions.get(`${loc}|${name.toLowerCase()}`);
        out.push({
          resourceType: 'virtualMachines',
          name,
          tier: 'Standard',
          size: name.replace(/^Standard_/, ''),
          locations: [loc],
          locationInfo: [{ location: loc, zones: r.zones, zoneDetails: [] }],
          // Resource SKUs - List answers each size's limits as capabilities (learn.microsoft.com rest/api/compute/resource-skus/list).
          capabilities: maxDataDisks(name) ? [{ name: 'MaxDataDiskCount', value: String(maxDataDisks(name)) }] : [],
          restrictions:
            restricted === undefined
              ? []
              : [
                  restricted.length
                    ? { type: 'Zone', values: [loc], restrictionInfo: { locations: [loc], zones: restricted }, reasonCode: 'NotAvailableForSubscription' }
                    : { type: 'Location', values: [loc], restrictionInfo: { locations: [loc] }, reasonCode: 'NotAvailableForSubscription' },
                ],
        });
      }
    }
    return out;
  }
}

/** GET .../providers/Microsoft.Compute/skus; only the location filter is supported, as in Azure ("Only location filter is supported currently"). */
export function skuRouter(catalog: SkuCatalog): Router {
  return new Router().add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/skus', (c) => {
    const filter = c.url.searchParams.get('$filter');
    const m = filter ? /^location eq '([^']+)'$/i.exec(filter.trim()) : null;
    if (filter && !m) throw new ArmError(400, 'InvalidFilter', `The filter '${filter}' is not supported; only location eq '<region>' is.`);
    sendJson(c.res, 200, { value: catalog.json(m?.[1]) });
  });
}

/** The message Azure answers for a size or zone it cannot give the subscription (error-code-skunotavailable). */
export function skuNotAvailable(vmId: string, location: string, zone: string | undefined, sub: string): ArmError {
  return new ArmError(
    409,
    'SkuNotAvailable',
    `The requested size for resource '${vmId}' is currently not available in location '${location}'${zone ? ` zones '${zone}'` : ''} for subscription '${sub}'. Please try another size or deploy to a different location or zones. See https://aka.ms/azureskunotavailable for details.`,
  );
}
