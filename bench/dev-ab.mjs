// `node bench/dev-ab.mjs A.mjs B.mjs [runs] [methods]`: two dev-step bundles (two builds of webpeft, each with its own
// CPU backend) in one process, their jobs interleaved run by run, so a change of load hits both alike. Prints the
// median process CPU time (and wall time) per job and build, and B ÷ A.
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

const [fileA, fileB, runsArg, methodsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 9);
const methods = (methodsArg ?? 'full,bitfit,ptuning-v2,eval').split(',');
const builds = [];
for (const f of [fileA, fileB]) builds.push(await (await import(pathToFileURL(f).href)).makeJobs(methods));
for (const jobs of builds) for (const j of jobs) { await j.run(); await j.run(); }
const cpu = builds.map((jobs) => jobs.map(() => []));
const wall = builds.map((jobs) => jobs.map(() => []));
const load0 = loadavg();
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < methods.length; k++) {
    for (const b of r % 2 ? [1, 0] : [0, 1]) {
      const t0 = process.cpuUsage(), w0 = performance.now();
      await builds[b][k].run();
      const d = process.cpuUsage(t0);
      cpu[b][k].push((d.user + d.system) / 1000);
      wall[b][k].push(performance.now() - w0);
    }
  }
}
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = methods.map((m, k) => ({
  job: builds[0][k].name,
  a_cpu_ms: +median(cpu[0][k]).toFixed(1), b_cpu_ms: +median(cpu[1][k]).toFixed(1),
  b_over_a_cpu: +(median(cpu[1][k]) / median(cpu[0][k])).toFixed(3),
  a_wall_ms: +median(wall[0][k]).toFixed(1), b_wall_ms: +median(wall[1][k]).toFixed(1),
}));
console.log(JSON.stringify({ runs, load_before: load0, load_after: loadavg(), rows }, null, 1));
