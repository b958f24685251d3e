import type { IpcHandshakeRequest } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';

/** Handshake send/approve/reject/pending/trusted/revoke (trust.ts does the work); the reply's JSON. */
export async function handshakeRequest(ctx: DaemonContext, request: IpcHandshakeRequest): Promise<unknown> {
  const trust = ctx.trust;
  if (trust === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is not running');
  switch (request.action) {
    case 'send':
      return trust.request(request.node, request.justification);
    case 'approve':
      return trust.approve(request.node);
    case 'reject':
      return trust.reject(request.node, request.reason);
    case 'pending':
      return trust.pendingJson();
    case 'trusted':
      return trust.trustedJson();
    case 'revoke':
      return trust.revoke(request.node);
  }
}
