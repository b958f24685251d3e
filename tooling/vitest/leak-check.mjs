// Fails a test file that leaves sockets, servers, child processes or timers open: whoever opens a
// handle closes it. Closing is often asynchronous, so the check waits a little for the count to
// settle back to what it was before the file's tests ran.
import { afterAll, beforeAll } from 'vitest';

const WATCHED = new Set([
  'UDPWrap',
  'TCPWrap',
  'TCPServerWrap',
  'PipeWrap',
  'PipeServerWrap',
  'TLSWrap',
  'ProcessWrap',
  'Timeout',
]);

function countHandles() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

// Spawning a child process re-references a forked worker's own IPC channel (a PipeWrap) for good.
// It is the test runner's, not a leak; unref'ing it instead let a worker exit before it reported,
// which cut whole test runs short without an error. Allow that one pipe; children still count.
function allowance(type) {
  return type === 'PipeWrap' && process.channel !== undefined ? 1 : 0;
}

function leaked(baseline) {
  const out = [];
  for (const [type, count] of countHandles()) {
    const before = (baseline.get(type) ?? 0) + allowance(type);
    if (count > before) out.push(`${type} ×${count - before}`);
  }
  return out;
}

let baseline = new Map();

beforeAll(() => {
  // A worker's stdout and stderr pipes are opened lazily, on first use (a child process's output
  // forwarded, a warning printed): open them now so they are part of the baseline, not a "leak".
  void process.stdout;
  void process.stderr;
  baseline = countHandles();
});

afterAll(async () => {
  if (process.env.PILOT_SKIP_LEAK_CHECK) return;
  const deadline = Date.now() + 2000;
  let open = leaked(baseline);
  while (open.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    open = leaked(baseline);
  }
  if (open.length > 0) throw new Error(`test file leaked handles: ${open.join(', ')}`);
});
