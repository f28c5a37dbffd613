import type { VmRecord } from './arm/state';

/** A mounted file system in a Linux guest, on one of the VM's disks (lun -1 is the OS disk). */
export interface GuestMount {
  target: string;
  fsType: string;
  lun: number;
}

export interface ScriptOutcome {
  exitStatus: number;
  stdout: string;
  stderr: string;
}

/** Default layout: `/` on the OS disk, `/data<lun>` on each data disk, all ext4. VmSpec can replace it. */
export function defaultMounts(vm: VmRecord): GuestMount[] {
  return [{ target: '/', fsType: 'ext4', lun: -1 }, ...vm.dataDisks.map((d) => ({ target: `/data${d.lun}`, fsType: 'ext4', lun: d.lun }))];
}

/**
 * The guest's file systems and what scripts do to them, so a test can see a guest left frozen. Linux fsfreeze
 * semantics (util-linux fsfreeze(8), FIFREEZE/FITHAW ioctls): freezing a frozen fs fails with EBUSY, thawing one
 * that is not frozen fails with EINVAL, any path inside a mount acts on that mount's fs, and while an fs is frozen
 * writes to it block until it is thawed (here: the guest write is refused and counted).
 *
 * Scripts are read by a deliberately small shell model, not bash: statements split on `;` and newlines,
 * `set -e`, `for V in LIST; do ...; done`, `A || B`, `A && B`, `exit N`, `false`/`true`, `fsfreeze -f|-u`,
 * `$(findmnt [-t types] ... | grep [-v] 're')`, and a background job `( sleep N; ... ) &` (a guest-side watchdog)
 * that runs N seconds (scaled) later. Any other command succeeds. Windows scripts are not interpreted (no VSS
 * model): `exit N` or `throw` gives a non-zero exit, anything else exits 0.
 */
export class GuestFileSystems {
  private frozen = new Map<string, Set<string>>();
  private layouts = new Map<string, GuestMount[]>();
  blockedWrites = 0;
  watchdogsRun = 0;

  constructor(
    private readonly vmOf: (vmKey: string) => VmRecord | undefined,
    private readonly timeScale: number,
  ) {}

  setMounts(vm: VmRecord, mounts: GuestMount[]): void {
    this.layouts.set(vm.id.toLowerCase(), mounts);
  }

  mounts(vm: VmRecord): GuestMount[] {
    return this.layouts.get(vm.id.toLowerCase()) ?? defaultMounts(vm);
  }

  frozenOf(vm: VmRecord): string[] {
    return [...(this.frozen.get(vm.id.toLowerCase()) ?? [])].sort();
  }

  /** Every VM with a frozen file system: what "no guest left frozen" asserts is empty. */
  allFrozen(): { vmId: string; mounts: string[] }[] {
    const out: { vmId: string; mounts: string[] }[] = [];
    for (const [key, set] of this.frozen) {
      const vm = this.vmOf(key);
      if (set.size > 0) out.push({ vmId: vm?.id ?? key, mounts: [...set].sort() });
    }
    return out;
  }

  /** The frozen mount a guest write to this disk would hit, if any (counts it as blocked). */
  writeBlockedBy(vm: VmRecord, diskId: string): string | undefined {
    const lun = diskId.toLowerCase() === vm.osDiskId.toLowerCase() ? -1 : vm.dataDisks.find((d) => d.diskId.toLowerCase() === diskId.toLowerCase())?.lun;
    if (lun === undefined) return undefined;
    const set = this.frozen.get(vm.id.toLowerCase());
    const hit = this.mounts(vm).find((m) => m.lun === lun && set?.has(m.target));
    if (hit) this.blockedWrites++;
    return hit?.target;
  }

  run(vm: VmRecord, script: string): ScriptOutcome {
    if (vm.osType === 'Windows') {
      const exit = /\bexit\s+(-?\d+)/i.exec(script);
      const code = exit ? Number(exit[1]) : /\bthrow\b/i.test(script) ? 1 : 0;
      return { exitStatus: code, stdout: '', stderr: code !== 0 ? `Script exited with code ${code}.` : '' };
    }
    const ctx: Ctx = { vm, errexit: false, stdout: [], stderr: [], status: 0, exited: false };
    this.runList(ctx, splitStatements(script), {});
    return { exitStatus: ctx.status, stdout: ctx.stdout.join('\n'), stderr: ctx.stderr.join('\n') };
  }

  private runList(ctx: Ctx, stmts: string[], vars: Record<string, string>): void {
    for (let i = 0; i < stmts.length && !ctx.exited; i++) {
      const s = stmts[i]!;
      const loop = /^for\s+(\w+)\s+in\s+(.*)$/s.exec(s);
      if (loop) {
        const body: string[] = [];
        let j = i + 1;
        for (; j < stmts.length && stmts[j] !== 'done'; j++) body.push(stmts[j]!.replace(/^do\s+/, ''));
        i = j;
        for (const item of this.words(ctx, loop[2]!, vars)) {
          this.runList(ctx, body, { ...vars, [loop[1]!]: item });
          if (ctx.exited) return;
        }
        continue;
      }
      if (/&$/.test(s) && !/&&$/.test(s)) {
        this.background(ctx.vm, s.slice(0, -1).trim(), vars);
        ctx.status = 0;
        continue;
      }
      const status = this.runAndOr(ctx, s, vars);
      ctx.status = status.code;
      if (status.code !== 0 && ctx.errexit && !status.guarded) {
        ctx.exited = true;
        return;
      }
    }
  }

  /** `( sleep N; cmds ) &`: the watchdog runs cmds N (Azure) seconds later, scaled like every duration. */
  private background(vm: VmRecord, text: string, vars: Record<string, string>): void {
    const inner = text
      .replace(/^nohup\s+/, '')
      .replace(/^\((.*)\)$/s, '$1')
      .replace(/^(?:ba)?sh\s+-c\s+(['"])(.*)\1$/s, '$2');
    const stmts = splitStatements(inner);
    let delayS = 0;
    while (stmts.length && /^sleep\s+(\d+(?:\.\d+)?)$/.test(stmts[0]!)) delayS += Number(/^sleep\s+(\S+)/.exec(stmts.shift()!)![1]);
    const t = setTimeout(
      () => {
        this.watchdogsRun++;
        this.runList({ vm, errexit: false, stdout: [], stderr: [], status: 0, exited: false }, stmts, vars);
      },
      (delayS * 1000) / this.timeScale,
    );
    t.unref?.();
  }

  private runAndOr(ctx: Ctx, s: string, vars: Record<string, string>): { code: number; guarded: boolean } {
    const parts = s.split(/\s*(\|\||&&)\s*/);
    let code = this.command(ctx, parts[0]!, vars);
    for (let k = 1; k + 1 < parts.length && !ctx.exited; k += 2) {
      const op = parts[k]!;
      if ((op === '||' && code !== 0) || (op === '&&' && code === 0)) code = this.command(ctx, parts[k + 1]!, vars);
    }
    return { code, guarded: parts.length > 1 };
  }

  private command(ctx: Ctx, text: string, vars: Record<string, string>): number {
    const argv = this.words(ctx, text, vars);
    const [cmd, ...args] = argv;
    switch (cmd) {
      case undefined:
        return 0;
      case 'set':
        if (args.includes('-e') || (args[0] === '-o' && args[1] === 'errexit')) ctx.errexit = true;
        return 0;
      case 'exit':
        ctx.exited = true;
        return Number(args[0] ?? ctx.status) & 0xff;
      case 'false':
        return 1;
      case 'echo':
        ctx.stdout.push(args.join(' '));
        return 0;
      case 'fsfreeze':
        return this.fsfreeze(ctx, args);
      default:
        return 0;
    }
  }

  private fsfreeze(ctx: Ctx, args: string[]): number {
    const freeze = args.includes('-f') || args.includes('--freeze');
    const thaw = args.includes('-u') || args.includes('--unfreeze');
    const path = args.find((a) => !a.startsWith('-'));
    if (!path || freeze === thaw) {
      ctx.stderr.push('fsfreeze: bad usage');
      return 1;
    }
    const m = this.mounts(ctx.vm)
      .filter((x) => path === x.target || path.startsWith(x.target === '/' ? '/' : `${x.target}/`))
      .sort((a, b) => b.target.length - a.target.length)[0];
    if (!m) {
      ctx.stderr.push(`fsfreeze: cannot open ${path}: No such file or directory`);
      return 1;
    }
    const key = ctx.vm.id.toLowerCase();
    const set = this.frozen.get(key) ?? new Set<string>();
    this.frozen.set(key, set);
    if (freeze) {
      if (set.has(m.target)) {
        ctx.stderr.push(`fsfreeze: ${path}: freeze failed: Device or resource busy`);
        return 1;
      }
      set.add(m.target);
    } else {
      if (!set.has(m.target)) {
        ctx.stderr.push(`fsfreeze: ${path}: unfreeze failed: Invalid argument`);
        return 1;
      }
      set.delete(m.target);
    }
    return 0;
  }

  /** Word splitting after expanding `$V`, `${V}` and `$(findmnt ...)`; quotes keep a word whole. */
  private words(ctx: Ctx, text: string, vars: Record<string, string>): string[] {
    const subst = text.replace(/\$\(([^()]*)\)/g, (_m, inner: string) => this.findmnt(ctx, inner).join(' '));
    const out: string[] = [];
    for (const m of subst.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
      const raw = m[1] ?? m[2] ?? m[3]!;
      const expanded = m[2] !== undefined ? raw : raw.replace(/\$\{(\w+)\}|\$(\w+)/g, (_x, a?: string, b?: string) => vars[(a ?? b)!] ?? '');
      if (m[3] !== undefined && expanded === '') continue;
      out.push(expanded);
    }
    return out;
  }

  private findmnt(ctx: Ctx, pipeline: string): string[] {
    const [first, ...filters] = pipeline.split('|').map((p) => p.trim());
    if (!/^findmnt\b/.test(first ?? '')) return [];
    const types = /(?:-t|--types)\s+(\S+)/.exec(first!)?.[1]?.split(',');
    let list = this.mounts(ctx.vm)
      .filter((m) => !types || types.includes(m.fsType))
      .map((m) => m.target);
    for (const f of filters) {
      const g = /^grep\s+(-v\s+)?(?:"([^"]*)"|'([^']*)'|(\S+))$/.exec(f);
      if (!g) continue;
      const re = new RegExp(g[2] ?? g[3] ?? g[4]!);
      list = list.filter((t) => re.test(t) !== !!g[1]);
    }
    return list;
  }
}

interface Ctx {
  vm: VmRecord;
  errexit: boolean;
  stdout: string[];
  stderr: string[];
  status: number;
  exited: boolean;
}

/** Top-level `;` and newline split that keeps quotes, `$(...)` and `( ... )` whole. */
function splitStatements(script: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quote = '';
  for (const ch of script) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth === 0 && (ch === ';' || ch === '\n')) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
