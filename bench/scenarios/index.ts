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
import { format } from './format';
import { manifests } from './manifests';
import { fanOut } from './fan-out';

/** Every scenario, in the order they run (the longest last); add a new one here. */
export const scenarios: Scenario[] = [rawVsCopy, incremental, changeNotSize, restore, memory, naive, packageSize, scheduler, scattered, instantRestore, format, manifests, fanOut];
