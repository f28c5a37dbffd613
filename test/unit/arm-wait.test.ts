import { describe, expect, it } from 'vitest';
import { waitSeconds } from '../../src/core/jobs/arm-wait';

describe('the wait for ARM throttling', () => {
  const low = () => 0;
  const high = () => 0.999_999;

  it('is never shorter than the Retry-After, nor than a second', () => {
    expect(waitSeconds(17_000, 0, 1, high)).toBe(17);
    expect(waitSeconds(17_000, 5, 1, low)).toBe(17);
    expect(waitSeconds(0, 3, 1, low)).toBe(1);
  });

  it('grows up to twice per repeat, picked at random in between', () => {
    expect(waitSeconds(10_000, 3, 1, high)).toBe(80);
    const seen = new Set(Array.from({ length: 200 }, (_, i) => waitSeconds(10_000, 3, 1, () => i / 200)));
    expect(Math.min(...seen)).toBe(10);
    expect(Math.max(...seen)).toBe(80);
    expect(seen.size).toBeGreaterThan(50); // spread, so messages throttled together come back apart
  });

  it("caps the growth at an hour of ARM's time, scaled on a compressed emulator, unless ARM asks for more", () => {
    expect(waitSeconds(10_000, 16, 1, high)).toBe(3600);
    expect(waitSeconds(1_000, 16, 1000, high)).toBe(4);
    expect(waitSeconds(7_200_000, 16, 1, high)).toBe(7200);
  });
});
