// A WHIP (RFC 9725) publisher: one send-only peer connection, H.264 preferred, negotiated
// with the stream key as the bearer (lib/negotiate), DELETE to end.

import { negotiate, NegotiationError, preferH264 } from '../../../lib/negotiate';

// WhipError is the server's refusal (status, code, message).
export { NegotiationError as WhipError };

export type WhipSession = {
  pc: RTCPeerConnection;
  location: string;
  end: () => Promise<void>;
};

// maxVideoBitrate stays under the BASIC channel limit for 720p (3.5 Mbps with audio).
export const maxVideoBitrate = 2_500_000;

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

    const session = await negotiate(url, pc, streamKey);
    return {
      pc,
      location: session.location,
      end: async () => {
        // DELETE first, so the server records the end as the streamer's, not as a dropped connection.
        await session.end();
        pc.close();
      },
    };
  } catch (e) {
    pc.close();
    throw e;
  }
}
