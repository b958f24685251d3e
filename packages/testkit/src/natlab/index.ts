export {
  LAB_PUBLIC_IP,
  type LabNamespace,
  type LabPeer,
  type LabRouter,
  localIpOf,
  type NatPlacement,
  publicIpOf,
  type RouterMode,
  routerOf,
} from './addresses.js';
export {
  IMPAIR_WIRE_SCRIPT,
  type LabRequirements,
  labUnavailable,
  NAT_LAB_SCRIPT,
  onPath,
} from './availability.js';
export {
  type ExecResult,
  type Impairment,
  NatLab,
  type NatLabOptions,
  type SpawnInLabOptions,
} from './lab.js';
export { type LabExit, type LabLine, LabProcess } from './lab-process.js';
export {
  DAEMON_MAIN,
  LAB_BEACON,
  LAB_REGISTRY,
  LAB_STUN,
  type LabDaemonOptions,
  type LabDaemonProcess,
  PILOTCTL_MAIN,
  RENDEZVOUS_MAIN,
  startLabDaemon,
  startLabRendezvous,
} from './pilot-programs.js';
export { type NatlabScriptName, natlabScript } from './scripts.js';
