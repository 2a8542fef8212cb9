// WHIP/WHEP-style signalling (RFC 9725), shared by the broadcast card, the stage and anything
// else that exchanges one SDP offer for one answer over HTTP: the offer is posted once ICE
// gathering is done (no trickle ICE: the server answers with all its candidates too), and the
// session is ended with a DELETE on the Location the answer names.

// NegotiationError is a refusal from the server: the HTTP status and the error's code and
// message from its JSON body (a generic one when the body is not the API's error shape).
export class NegotiationError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'NegotiationError';
    this.status = status;
    this.code = code;
  }
}

export type Negotiated = {
  // location is the session's URL, absolute.
  location: string;
  // end DELETEs the session (once; later calls do nothing). It never throws: the server ends
  // a session whose connection has gone anyway. Closing the peer connection is the caller's.
  end: () => Promise<void>;
};

// preferH264 reorders a sender's codecs so that the offer lists H.264 first, packetization
// mode 1 before the others, the rest kept in their order: the server takes H.264 only (a web
// broadcast's LL-HLS passes it through without transcoding; a stage's SFU forwards H.264 and
// Opus only).
export function preferH264(codecs: RTCRtpCodec[]): RTCRtpCodec[] {
  const rank = (c: RTCRtpCodec) => {
    if (c.mimeType.toLowerCase() !== 'video/h264') return 2;
    return /packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

// gatherWithin bounds the wait for ICE gathering: past it the offer carries the candidates it
// has (host ones come first, enough on most networks) rather than waiting on a slow STUN server.
export const gatherWithin = 2000;

// gathered resolves once pc has its ICE candidates, or after timeoutMs.
export function gathered(pc: RTCPeerConnection, timeoutMs = gatherWithin): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === 'complete') done();
    }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// negotiate creates pc's offer, waits for its candidates, posts it to url (with token as the
// bearer, if any), and applies the answer. A status other than 201 throws NegotiationError.
export async function negotiate(url: string, pc: RTCPeerConnection, token?: string): Promise<Negotiated> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...auth },
    body: pc.localDescription?.sdp ?? '',
  });
  const text = await res.text();
  if (res.status !== 201) {
    let code = 'HttpError';
    let message = `The server refused (${res.status}).`;
    try {
      const err = JSON.parse(text).error;
      code = err.code ?? code;
      message = err.message ?? message;
    } catch {
      // not JSON: keep the generic message
    }
    throw new NegotiationError(res.status, code, message);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  const location = new URL(res.headers.get('Location') ?? '', new URL(url, window.location.href)).toString();
  let ended = false;
  return {
    location,
    end: async () => {
      if (ended) return;
      ended = true;
      await fetch(location, { method: 'DELETE', headers: auth, keepalive: true }).catch(() => undefined);
    },
  };
}
