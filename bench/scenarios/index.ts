import type { Scenario } from '../context';
import { rawVsCopy } from './raw-vs-copy';
import { incremental } from './incremental';
import { changeNotSize } from './change-not-size';
import { restore } from './restore';
import { memory } from './memory';
import { scattered } from './scattered';
import { scheduler } from './scheduler';
import { naive } from './naive';
import { packageSize } from './package';
import { instantRestore } from './instant-restore';

/** Every scenario, in the order they run (the longest last); add a new one here. */
export const scenarios: Scenario[] = [rawVsCopy, incremental, changeNotSize, restore, memory, naive, packageSize, scheduler, scattered, instantRestore];
