import { Compositor } from './compositor';
import { publish, type WhipSession } from './whip';

// StageMix is a stage's mix broadcast as the host's channel: the publishers' pictures in a
// grid on the compositor's canvas and their sounds mixed with Web Audio, sent over WHIP with
// the host's stream key, so the channel's LL-HLS viewers, recordings and stream actions work
// during a stage. It runs in the host's browser, which already receives every publisher:
// the server composes nothing.
export class StageMix {
  private readonly compositor = new Compositor();
  private readonly audio = new AudioContext();
  private readonly out = this.audio.createMediaStreamDestination();
  private readonly sources = new Map<string, MediaStreamAudioSourceNode>();
  private session: WhipSession | undefined;
  private readonly whipUrl: string;
  private readonly streamKey: string;

  constructor(whipUrl: string, streamKey: string) {
    this.whipUrl = whipUrl;
    this.streamKey = streamKey;
  }

  // update sets the streams of the mix, in grid order.
  update(streams: MediaStream[]) {
    this.compositor.setGrid(streams);
    const ids = new Set(streams.map((s) => s.id));
    for (const [id, node] of this.sources) {
      if (!ids.has(id)) {
        node.disconnect();
        this.sources.delete(id);
      }
    }
    for (const s of streams) {
      if (this.sources.has(s.id) || s.getAudioTracks().length === 0) continue;
      const node = this.audio.createMediaStreamSource(s);
      node.connect(this.out);
      this.sources.set(s.id, node);
    }
  }

  // start publishes the mix (call it from a click: the audio context resumes then).
  async start() {
    await this.audio.resume().catch(() => undefined);
    this.session = await publish(this.whipUrl, this.streamKey, this.compositor.track(), this.out.stream.getAudioTracks()[0]);
  }

  async stop() {
    await this.session?.end();
    this.session = undefined;
    this.compositor.close();
    this.sources.forEach((n) => n.disconnect());
    await this.audio.close().catch(() => undefined);
  }
}
