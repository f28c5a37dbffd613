/** What the printed "Try" lines need to know about the running demo. */
export interface TryContext {
  api: string;
  functionKey: string;
  armEndpoint: string;
  caFile: string;
  itemKey: string;
  vmId: string;
  /** The demo disk the "guest writes N bytes" line writes to. */
  dataDiskId: string;
  writeOffset: number;
  writeBytes: number;
}

/** Single-quoted for bash: every value printed goes through this, so no `<`, `;` or space is read by the shell. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The lines `npm start` prints, meant to be pasted into bash in order (a test runs them so). Lines starting
 * with `#` say what the next one does. Shell variables carry the key, the endpoints and the ids the answers
 * return (job, point, restored disk), so no line holds a placeholder.
 */
export function tryLines(c: TryContext): string[] {
  const curl = 'curl -sS --fail-with-body -H "$K"';
  const post = `${curl} -H 'Content-Type: application/json' -X POST`;
  // `json EXPR` prints EXPR of the JSON on stdin (j is the parsed value): node is there, since npm is.
  const json = `json() { node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{const j=JSON.parse(s);const v=eval(process.argv[1]);console.log(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }`;
  const wait = `vmb_wait() { for i in $(seq 600); do J=$(${curl} "$API/jobs/$1") || { echo "$J"; return 1; }; case "$J" in *'"status":"Queued"'*|*'"status":"InProgress"'*|*'"status":"Cancelling"'*) sleep 1;; *) echo "$J"; return 0;; esac; done; echo "$J"; return 1; }`;
  return [
    '# Paste into bash, in order. The first three lines set the key, the endpoints and two helpers.',
    `K=${sq(`x-functions-key: ${c.functionKey}`)}; API=${sq(c.api)}; ITEM=${sq(encodeURIComponent(c.itemKey))}; ARM=${sq(c.armEndpoint)}; CA=${sq(c.caFile)}; DISK=${sq(encodeURIComponent(c.dataDiskId))}`,
    json,
    wait,
    '# The demo VMs, as discovery found them',
    `${curl} "$API/vms"`,
    "# Register db-linux (3 disks) with the 'demo' policy and wait for the Register job",
    `JOB=$(${post} "$API/items/register" -d ${sq(JSON.stringify({ vmIds: [c.vmId], policyName: 'demo' }))} | json 'j.jobs[0].jobId') && vmb_wait "$JOB"`,
    '# Back up now and wait: the first backup copies every written page of the three disks',
    `JOB=$(${post} "$API/items/$ITEM/backup" -d '{}' | json j.jobId) && vmb_wait "$JOB"`,
    `# The incremental promise: db-linux's guest writes ${c.writeBytes} bytes to its data disk (the emulator's guest control, over HTTPS: trust its CA)`,
    `curl -sS --fail-with-body --cacert "$CA" -H 'Content-Type: application/json' -X POST "$ARM/_emulator/guest/fill?id=$DISK" -d ${sq(JSON.stringify({ offset: c.writeOffset, length: c.writeBytes, seed: 7 }))}`,
    `# ... and the next backup reads only those bytes: bytesDone is ${c.writeBytes}`,
    `JOB=$(${post} "$API/items/$ITEM/backup" -d '{}' | json j.jobId) && vmb_wait "$JOB" | json '({ jobId: j.jobId, status: j.status, bytesDone: j.bytesDone, disks: j.disks.map((d) => d.name + (d.full ? " full" : " incremental")) })'`,
    '# The recovery points, newest first; POINT is the newest',
    `POINT=$(${curl} "$API/items/$ITEM/recoveryPoints" | json 'j.items[0].pointId') && echo "$POINT"`,
    '# Restore it to new disks and wait; RESTORED is the new data disk',
    `JOB=$(${post} "$API/items/$ITEM/recoveryPoints/$POINT/restore" -d '{"mode":"newDisks"}' | json j.jobId) && RESTORED=$(vmb_wait "$JOB" | json 'encodeURIComponent(j.result.disks.find((d) => d.lun === 0).diskId)') && echo "$RESTORED"`,
    '# Compare the restored data disk with its source: "equal": true',
    `curl -sS --fail-with-body --cacert "$CA" "$ARM/_emulator/compare?a=$DISK&b=$RESTORED"`,
    "# Jobs, the dashboard's numbers, health (no key needed)",
    `${curl} "$API/jobs?top=10"`,
    `${curl} "$API/dashboard"`,
    'curl -sS --fail-with-body "$API/health"',
  ];
}
