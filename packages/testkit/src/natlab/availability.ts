// Whether the NAT lab can run on this machine, and where its scripts are. The lab needs Linux
// network namespaces, root, iproute2, nftables and conntrack; tests skip with the reason otherwise.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `lab.sh` (override with `PILOT_NATLAB`). */
export const NAT_LAB_SCRIPT: string = process.env.PILOT_NATLAB ?? '/work/shared/natlab/lab.sh';

/** `impair-wire.py` (override with `PILOT_IMPAIR_WIRE`; by default next to `lab.sh`). */
export const IMPAIR_WIRE_SCRIPT: string =
  process.env.PILOT_IMPAIR_WIRE ?? join(dirname(NAT_LAB_SCRIPT), 'impair-wire.py');

/** True when `binary` is an executable file on PATH or in the usual sbin directories. */
export function onPath(binary: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  return dirs.some((dir) => {
    try {
      return dir !== '' && statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

export interface LabRequirements {
  /** Also require what `NatLab.impair` needs (python3, /dev/net/tun, impair-wire.py). */
  readonly impair?: boolean;
}

/** Why the lab cannot run here, or `undefined` when it can. */
export function labUnavailable(requirements: LabRequirements = {}): string | undefined {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (CI runs as root)';
  if (!existsSync(NAT_LAB_SCRIPT)) return `no lab script at ${NAT_LAB_SCRIPT}`;
  for (const binary of ['ip', 'nft', 'conntrack']) {
    if (!onPath(binary))
      return `the NAT lab needs ${binary} (apt-get install -y iproute2 nftables conntrack)`;
  }
  if (requirements.impair === true) {
    if (!existsSync(IMPAIR_WIRE_SCRIPT)) return `no impair-wire.py at ${IMPAIR_WIRE_SCRIPT}`;
    if (!onPath('python3')) return 'impairment needs python3';
    if (!existsSync('/dev/net/tun')) return 'impairment needs /dev/net/tun';
  }
  return undefined;
}
