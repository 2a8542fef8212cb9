// A WHIP (RFC 9725) publisher: one send-only peer connection, H.264 preferred, the offer
// posted with the stream key once ICE gathering is done (no trickle), DELETE to end.

export class WhipError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'WhipError';
    this.status = status;
    this.code = code;
  }
}

export type WhipSession = {
  pc: RTCPeerConnection;
  location: string;
  end: () => Promise<void>;
};

// maxVideoBitrate stays under the BASIC channel limit for 720p (3.5 Mbps with audio).
export const maxVideoBitrate = 2_500_000;

// preferH264 reorders the video codecs so the browser offers H.264 first (packetization mode 1):
// LL-HLS passes it through without transcoding.
export function preferH264(codecs: RTCRtpCodec[]): RTCRtpCodec[] {
  const rank = (c: RTCRtpCodec) => {
    if (c.mimeType.toLowerCase() !== 'video/h264') return 2;
    return /packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

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

// publish sends the video and audio tracks to the WHIP endpoint. The tracks can be swapped
// later with the returned senders' replaceTrack.
export async function publish(url: string, streamKey: string, video: MediaStreamTrack, audio: MediaStreamTrack): Promise<WhipSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    const vt = pc.addTransceiver(video, { direction: 'sendonly', sendEncodings: [{ maxBitrate: maxVideoBitrate, maxFramerate: 30 }] });
    const caps = RTCRtpSender.getCapabilities('video');
    if (caps && typeof vt.setCodecPreferences === 'function') vt.setCodecPreferences(preferH264(caps.codecs));
    const params = vt.sender.getParameters();
    params.degradationPreference = 'maintain-resolution'; // one picture size for the whole stream
    await vt.sender.setParameters(params).catch(() => undefined);
    pc.addTransceiver(audio, { direction: 'sendonly' });

    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${streamKey}` },
      body: pc.localDescription?.sdp ?? '',
    });
    const text = await res.text();
    if (res.status !== 201) {
      let code = 'HttpError';
      let message = `The server refused the stream (${res.status}).`;
      try {
        const err = JSON.parse(text).error;
        code = err.code ?? code;
        message = err.message ?? message;
      } catch {
        // not JSON: keep the generic message
      }
      throw new WhipError(res.status, code, message);
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
    const location = new URL(res.headers.get('Location') ?? '', new URL(url, window.location.href)).toString();
    let ended = false;
    return {
      pc,
      location,
      end: async () => {
        if (ended) return;
        ended = true;
        // DELETE first, so the server records the end as the streamer's, not as a dropped connection.
        await fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${streamKey}` }, keepalive: true }).catch(() => undefined);
        pc.close();
      },
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
