import { ArmError } from './errors';
import { EmulatorState } from './state';
import { hasGuestState } from './disk-props';
import { seededBytes } from '../guest';
import type { MemoryDiskStore } from '../disk/store';

/**
 * The VM guest state (UEFI variables and vTPM) of a Trusted Launch or Confidential VM disk. Azure keeps it
 * beside the disk and hands it out only through `getSecureVMGuestStateSAS: true`, answered as
 * `securityDataAccessSAS` ("A SAS uri for accessing a VM guest state", AccessUri; Disks - Grant Access and
 * Snapshots - Grant Access, https://learn.microsoft.com/rest/api/compute/disks/grant-access, examples "get sas on
 * managed disk and VM guest state"). An upload with `createOption: UploadPreparedSecure` writes it through the
 * same kind of SAS ("upload using write token in disk, VM guest state and VM metadata", DiskCreateOption,
 * https://learn.microsoft.com/dotnet/api/azure.resourcemanager.compute.models.diskcreateoption.uploadpreparedsecure).
 *
 * Here it is a page blob in the store under `<resource id>/guestState`. Its size is not documented; 4 MiB is this
 * emulator's choice. A new Trusted Launch disk gets seeded bytes (the platform initialises the state at creation),
 * so a test can tell a carried guest state from an empty one.
 */
export const GUEST_STATE_BYTES = 4 * 1024 * 1024;

/** Where a Trusted Launch / CVM disk's or snapshot's VM guest state is kept (store key and grant resource). */
export const guestStateId = (id: string): string => `${id}/guestState`;
export const isGuestStateId = (id: string): boolean => /\/guestState$/i.test(id);
export const guestStateOwner = (id: string): string => id.replace(/\/guestState$/i, '');

const keyOf = (id: string): string => EmulatorState.key(guestStateId(id));

/**
 * "GetSecureVMGuestStateSAS can be set only for disk with SecurityProfile." with 400 BadRequest: the answer for
 * a disk or snapshot without a security type (Azure/azure-powershell PR #24635, ChangeLog of Grant-AzDiskAccess).
 */
export function guestStateRefused(): ArmError {
  return new ArmError(400, 'BadRequest', 'GetSecureVMGuestStateSAS can be set only for disk with SecurityProfile.');
}

export function hasStoredGuestState(store: MemoryDiskStore, id: string): boolean {
  return store.get(keyOf(id)) !== undefined;
}

/** A new disk's guest state by how it was created: seeded (Empty), copied (Copy) or blank for the uploader. */
export function createGuestState(store: MemoryDiskStore, id: string, securityType: string | undefined, how: { seed?: number; from?: string }): void {
  if (!hasGuestState(securityType)) return;
  const key = keyOf(id);
  if (how.from && hasStoredGuestState(store, how.from)) return void store.copyDisk(key, keyOf(how.from));
  store.createDisk(key, GUEST_STATE_BYTES);
  if (how.seed !== undefined) store.write(key, 0, seededBytes(GUEST_STATE_BYTES, how.seed));
}

export function deleteGuestState(store: MemoryDiskStore, id: string): void {
  if (hasStoredGuestState(store, id)) store.deleteResource(keyOf(id));
}

/** A stable seed per disk instance, so the same disk always starts with the same guest state. */
export function seedOf(uniqueId: string): number {
  let h = 0x811c9dc5;
  for (const ch of uniqueId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
