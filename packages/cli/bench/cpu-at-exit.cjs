// Preloaded into each pilotctl the bench runs (node --require): prints the process's CPU time on
// exit, on stderr, for bench/transfer.mjs to read (pilotctl's own share of a transfer's cost).
'use strict';
process.on('exit', () => {
  const used = process.cpuUsage();
  process.stderr.write(`\n@bench-cpu-ms ${(used.user + used.system) / 1000}\n`);
});
