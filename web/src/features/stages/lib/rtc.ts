// The stage's WebRTC exchanges: one peer connection to publish (WHIP-like) and one per
// publisher watched (WHEP-like), each negotiated as WHIP and WHEP are (lib/negotiate: an SDP
// offer posted once ICE gathering is done, no trickle), DELETE on the Location to end.

import { negotiate, NegotiationError, preferH264 } from '../../../lib/negotiate';

// StageMediaError is the server's refusal of a publication or subscription (status, code, message).
export { NegotiationError as StageMediaError };

export type Connection = { pc: RTCPeerConnection; end: () => void };

async function exchange(pc: RTCPeerConnection, url: string, token: string): Promise<Connection> {
  const session = await negotiate(url, pc, token);
  return {
    pc,
    end: () => {
      void session.end();
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
      if (track.kind === 'video' && caps && typeof t.setCodecPreferences === 'function') t.setCodecPreferences(preferH264(caps.codecs));
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
