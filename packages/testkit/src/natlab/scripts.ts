// Small generic programs to run inside lab namespaces with `NatLab.node(place, natlabScript(name))`.
import { fileURLToPath } from 'node:url';

/**
 * - `udp-reflector` `[host] [port]`: answers every UDP datagram with `{"address","port"}` of its
 *   observed source (what a NAT maps the sender to); prints `{"event":"ready","port"}`; exits when
 *   stdin closes.
 * - `udp-probe` `host port [localPort]`: from one socket, asks a reflector where it sees us, again on
 *   each stdin line `probe`; prints `{"event":"reflexive","address","port","n","ms"}` per answer (`ms`: from the
 *   first send of that probe).
 */
export type NatlabScriptName = 'udp-reflector' | 'udp-probe';

/** The path of a compiled generic lab script. */
export function natlabScript(name: NatlabScriptName): string {
  return fileURLToPath(new URL(`./scripts/${name}.js`, import.meta.url));
}
