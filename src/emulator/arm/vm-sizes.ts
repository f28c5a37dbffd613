/**
 * Max data disks per VM size, as Azure documents them. Dv5/Dsv5 from azure-docs
 * articles/virtual-machines/dv5-dsv5-series.md ("Max data disks": D2 4, D4 8, D8 16, D16 and up 32); B-series
 * from articles/virtual-machines/sizes-b-series-burstable.md (B1s 2, B2s 4, B4ms 8). A size not listed has no
 * limit here beyond the 64 LUNs (0-63) of the VM model; the real limit comes from its size page.
 */
const MAX_DATA_DISKS: Record<string, number> = {
  standard_d2s_v5: 4,
  standard_d4s_v5: 8,
  standard_d8s_v5: 16,
  standard_d16s_v5: 32,
  standard_d32s_v5: 32,
  standard_d48s_v5: 32,
  standard_d64s_v5: 32,
  standard_d96s_v5: 32,
  standard_d2_v5: 4,
  standard_d4_v5: 8,
  standard_d8_v5: 16,
  standard_d16_v5: 32,
  standard_d32_v5: 32,
  standard_d48_v5: 32,
  standard_d64_v5: 32,
  standard_d96_v5: 32,
  standard_b1s: 2,
  standard_b2s: 4,
  standard_b4ms: 8,
};

export function maxDataDisks(vmSize: string): number | undefined {
  return MAX_DATA_DISKS[vmSize.toLowerCase()];
}
