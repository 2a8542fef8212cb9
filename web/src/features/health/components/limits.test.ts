import { describe, expect, it } from 'vitest';
import type { Session } from '../api/sessions';
import { bitrateLimit, limitStatus } from './limits';

const live = (over: { type?: string; w?: number; h?: number; declaredVideo?: number; video?: (number | null)[]; live?: boolean }): Session => ({
  id: 'st-1',
  startTime: '2026-12-05T10:00:00Z',
  endTime: null,
  isLive: over.live ?? true,
  hasErrorEvent: false,
  isHealthy: true,
  streamStartTime: '2026-12-05T10:00:00Z',
  channelType: over.type ?? 'BASIC',
  ingestConfiguration: {
    video: { codec: 'avc1', encoder: 'obs', profile: 'High', level: '4.1', targetBitrate: over.declaredVideo ?? 0, targetFramerate: 30, videoWidth: over.w ?? 1920, videoHeight: over.h ?? 1080 },
    audio: { codec: 'mp4a.40.2', targetBitrate: 0, sampleRate: 48000, channels: 2 },
  },
  events: [],
  warnings: [],
  metrics: {
    period: 1,
    alignedStartTime: '2026-12-05T10:00:00Z',
    videoBitrate: over.video ?? [],
    audioBitrate: (over.video ?? []).map(() => 160_000),
    framerate: [],
    keyframeInterval: [],
    concurrentViews: [],
    averages: { videoBitrate: 0, audioBitrate: 0, framerate: 0, keyframeInterval: 0, concurrentViews: 0 },
  },
});

describe('bitrateLimit', () => {
  it.each([
    ['BASIC', 854, 480, 1_500_000],
    ['BASIC', 1280, 720, 3_500_000],
    ['BASIC', 1920, 1080, 3_500_000],
    ['STANDARD', 640, 360, 8_500_000],
    ['STANDARD', 1920, 1080, 8_500_000],
  ])('%s %i×%i → %i', (type, w, h, want) => {
    expect(bitrateLimit(type, w, h)).toBe(want);
  });
});

describe('limitStatus', () => {
  it.each([
    ['the reference OBS setting: 1080p at 6 Mbps on BASIC', live({ declaredVideo: 6_000_000 }), 'over'],
    ['measured over, nothing declared', live({ video: [2_000_000, 3_600_000, 3_700_000, 3_800_000] }), 'over'],
    ['measured near the 3.5 Mbps', live({ video: [3_000_000, 3_000_000, 3_000_000] }), 'near'],
    ['480p near its 1.5 Mbps', live({ w: 854, h: 480, declaredVideo: 1_300_000 }), 'near'],
    ['well within', live({ video: [2_000_000, 2_000_000] }), null],
    ['6 Mbps is fine on STANDARD', live({ type: 'STANDARD', declaredVideo: 6_000_000 }), null],
    ['an ended session', live({ declaredVideo: 9_000_000, live: false }), null],
  ])('%s', (_name, session, want) => {
    expect(limitStatus(session)?.level ?? null).toBe(want);
  });

  it('spells out the limit and what to do', () => {
    expect(limitStatus(live({ declaredVideo: 6_000_000 }))?.message).toBe(
      'Your encoder sends 6.0 Mbps, over the 3.5 Mbps a Basic channel takes at 1920×1080. Lower the bitrate to 3.5 Mbps or less now: the stream is cut after 10 seconds over the limit.',
    );
  });
});
