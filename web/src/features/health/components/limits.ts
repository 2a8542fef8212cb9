import type { Session } from '../api/sessions';

// The ingest limits per channel type, as the server enforces them (internal/streams/limits.go):
// BASIC takes 1.5 Mbps up to 480p and 3.5 Mbps up to 1080p; STANDARD 8.5 Mbps up to 1080p.
// The bitrate is everything the encoder sends, averaged over 10 s of media.
const pixels480p = 415_000;
const edge480p = 855;

export function bitrateLimit(channelType: string, width: number, height: number): number {
  if (channelType === 'STANDARD') return 8_500_000;
  if (width * height <= pixels480p && Math.max(width, height) <= edge480p) return 1_500_000;
  return 3_500_000;
}

// nearShare is how close to the limit counts as near: the warning comes before the cut.
export const nearShare = 0.8;

export type LimitStatus = { level: 'near' | 'over'; bitrate: number; limit: number; message: string };

const mbps = (bps: number) => `${(bps / 1e6).toFixed(1)} Mbps`;
const typeName = (t: string) => (t === 'STANDARD' ? 'Standard' : 'Basic');

// recent is the mean of the newest n values of a series that have data.
function recent(values: (number | null)[], n: number): number | undefined {
  const got: number[] = [];
  for (let i = values.length - 1; i >= 0 && got.length < n; i--) {
    const v = values[i];
    if (v != null) got.push(v);
  }
  return got.length ? got.reduce((a, b) => a + b, 0) / got.length : undefined;
}

// limitStatus says whether a live session's encoder is near or over its channel's bitrate
// limit, from what the encoder declared and what was measured in the last seconds; null when
// it is well within it (or not live).
export function limitStatus(s: Session | undefined): LimitStatus | null {
  if (!s?.isLive) return null;
  const video = s.ingestConfiguration?.video;
  const width = video?.videoWidth ?? 0;
  const height = video?.videoHeight ?? 0;
  const limit = bitrateLimit(s.channelType, width, height);
  const declared = (video?.targetBitrate ?? 0) + (s.ingestConfiguration?.audio.targetBitrate ?? 0);
  const measured = (recent(s.metrics.videoBitrate, 3) ?? 0) + (recent(s.metrics.audioBitrate, 3) ?? 0);
  const bitrate = Math.max(declared, measured);
  const at = width && height ? ` at ${width}×${height}` : '';
  if (bitrate > limit) {
    return {
      level: 'over',
      bitrate,
      limit,
      message: `Your encoder sends ${mbps(bitrate)}, over the ${mbps(limit)} a ${typeName(s.channelType)} channel takes${at}. Lower the bitrate to ${mbps(limit)} or less now: the stream is cut after 10 seconds over the limit.`,
    };
  }
  if (bitrate >= limit * nearShare) {
    return {
      level: 'near',
      bitrate,
      limit,
      message: `Your encoder sends ${mbps(bitrate)}, close to the ${mbps(limit)} a ${typeName(s.channelType)} channel takes${at}. A peak over it cuts the stream: lower the bitrate a little.`,
    };
  }
  return null;
}
