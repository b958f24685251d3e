// A pilot daemon for the benchmark's daemon mode, run in this process (startDaemon from
// @pilot/daemon) so that it can never outlive the script; the MCP side still reaches it through
// the driver over its IPC socket, as pilotctl does. In the NAT lab it lives in the script's namespace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '@pilot/daemon';

export async function startDaemonProcess({ registry, beacon, name }) {
  const home = mkdtempSync(join(tmpdir(), `mcp-bench-${name}-`));
  const socket = join(home, 'pilot.sock');
  const daemon = await startDaemon({
    home,
    registry,
    beacon,
    listen: '0.0.0.0:0',
    socket,
    hostname: `mcp-bench-${name}-${process.pid}`,
    trustAutoApprove: true,
    handshakePoll: 1000,
    logLevel: 'error',
  });
  return {
    ready: { address: daemon.address, node_id: daemon.nodeId },
    socket,
    async stop() {
      await daemon.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
