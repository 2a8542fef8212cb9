// The stage's WebRTC exchanges: one peer connection to publish (WHIP-like) and one per
// publisher watched (WHEP-like), each an SDP offer posted once ICE gathering is done (no
// trickle), DELETE on the Location to end.

export class StageMediaError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'StageMediaError';
    this.status = status;
    this.code = code;
  }
}

export type Connection = { pc: RTCPeerConnection; end: () => void };

function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
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

// h264First puts H.264 (packetization mode 1) first: the SFU forwards H.264 and Opus only.
export function h264First(codecs: RTCRtpCodec[]): RTCRtpCodec[] {
  const rank = (c: RTCRtpCodec) => {
    const m = c.mimeType.toLowerCase();
    if (m !== 'video/h264') return m === 'video/rtx' ? 2 : 3;
    return /packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

async function exchange(pc: RTCPeerConnection, url: string, token: string): Promise<Connection> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 2000);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
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
      // not JSON
    }
    throw new StageMediaError(res.status, code, message);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  const location = new URL(res.headers.get('Location') ?? '', new URL(url, window.location.href)).toString();
  let ended = false;
  return {
    pc,
    end: () => {
      if (ended) return;
      ended = true;
      void fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` }, keepalive: true }).catch(() => undefined);
      pc.close();
    },
  };
}

// publishStream sends the stream's camera and microphone.
export async function publishStream(url: string, token: string, stream: MediaStream): Promise<Connection> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      const caps = RTCRtpSender.getCapabilities(track.kind);
      if (track.kind === 'video' && caps && typeof t.setCodecPreferences === 'function') t.setCodecPreferences(h264First(caps.codecs));
    }
    return await exchange(pc, url, token);
  } catch (e) {
    pc.close();
    throw e;
  }
}

// subscribeTo receives one publisher's media; onStream gets it as it arrives.
export async function subscribeTo(url: string, token: string, onStream: (s: MediaStream) => void): Promise<Connection> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    onStream(stream);
  };
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    return await exchange(pc, url, token);
  } catch (e) {
    pc.close();
    throw e;
  }
}
