/**
 * The slice of @pilot/wire the transport uses, gathered in one place so the rest of the package
 * imports the wire format from one module.
 */
export {
  type Address,
  decodePacket,
  decodeSack,
  encodePacket,
  encodePacketInto,
  encodePlaintextFrame,
  encodeSack,
  HEADER_SIZE,
  MAX_PAYLOAD,
  type Packet,
  PacketFlag,
  PROTOCOL_VERSION,
  Protocol,
  packetSourceNode,
  type SackBlock,
  seqAdd,
  seqAfter,
  seqBefore,
  seqDiff,
} from '@pilot/wire';
