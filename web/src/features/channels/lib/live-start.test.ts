import { describe, expect, it } from 'vitest';
import { liveStart, startAtLatestIndependentPart } from './live-start';

// playlist is a live LL-HLS media playlist as the packager writes it: two full 2 s segments,
// then the parts of the segment being written (the first independent, as a keyframe starts
// every segment).
function playlist(newParts: number, opts: { holdBack?: string; keyframeAt?: number } = {}) {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:10',
    '#EXT-X-TARGETDURATION:2',
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES${opts.holdBack === undefined ? ',PART-HOLD-BACK=0.50000' : opts.holdBack}`,
    '#EXT-X-PART-INF:PART-TARGET=0.20000',
    '#EXT-X-MEDIA-SEQUENCE:7',
    '#EXT-X-MAP:URI="init.mp4"',
  ];
  for (const sn of [7, 8]) {
    for (let i = 0; i < 10; i++) lines.push(`#EXT-X-PART:DURATION=0.20000,URI="part${sn}${i}.mp4"${i === 0 ? ',INDEPENDENT=YES' : ''}`);
    lines.push('#EXTINF:2.00000,', `seg${sn}.mp4`);
  }
  for (let i = 0; i < newParts; i++) {
    const independent = i === 0 || i === opts.keyframeAt;
    lines.push(`#EXT-X-PART:DURATION=0.20000,URI="part9${i}.mp4"${independent ? ',INDEPENDENT=YES' : ''}`);
  }
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part9${newParts}.mp4"`);
  return lines.join('\n') + '\n';
}

describe('liveStart', () => {
  it('reads the edge, the newest independent part and the hold-back', () => {
    const got = liveStart(playlist(3));
    expect(got?.edge).toBeCloseTo(4.6);
    expect(got?.independent).toBeCloseTo(4);
    expect(got?.holdBack).toBeCloseTo(0.5);
    expect(liveStart(playlist(6, { keyframeAt: 4 }))?.independent).toBeCloseTo(4.8);
    // Without PART-HOLD-BACK, three part targets.
    expect(liveStart(playlist(1, { holdBack: '' }))?.holdBack).toBeCloseTo(0.6);
  });

  it('has nothing to say of a playlist without parts, or one that has ended', () => {
    expect(liveStart('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg1.ts\n')).toBeUndefined();
    expect(liveStart(playlist(3) + '#EXT-X-ENDLIST\n')).toBeUndefined();
    expect(liveStart(playlist(3).replace('#EXTINF:2.00000,', '#EXTINF:nope,'))).toBeUndefined();
  });
});

describe('startAtLatestIndependentPart', () => {
  const startOf = (pl: string) => /^#EXT-X-START:TIME-OFFSET=(-?[0-9.]+),PRECISE=YES$/m.exec(pl)?.[1];

  it('starts at the newest independent part when it is within the hold-back of the edge', () => {
    // Two parts (0.4 s) into the newest segment: hls.js would start 0.5 s behind the edge,
    // in the previous segment, and load it all from its keyframe.
    const got = startAtLatestIndependentPart(playlist(2));
    expect(Number(startOf(got))).toBeCloseTo(-0.4);
    expect(got.split('\n')[1]).toMatch(/^#EXT-X-START:/); // right after #EXTM3U
    expect(got.replace(/^#EXT-X-START:.*\n/m, '')).toBe(playlist(2));
    // A keyframe inside the segment counts too.
    expect(Number(startOf(startAtLatestIndependentPart(playlist(8, { keyframeAt: 7 }))))).toBeCloseTo(-0.2);
  });

  it('lands inside the independent part whatever the rounding of the durations', () => {
    // hls.js adds the offset to its own float sum of the durations (15.399999999999999 for
    // 15.4, say): the start must not fall a rounding error before the keyframe.
    for (let n = 1; n <= 2; n++) {
      for (const at of [undefined, 1]) {
        const pl = playlist(n, { keyframeAt: at });
        const s = liveStart(pl)!;
        const start = s.edge + Number(startOf(startAtLatestIndependentPart(pl)));
        expect(start, `${n} parts, keyframe at ${at}`).toBeGreaterThan(s.independent);
        expect(start - s.independent).toBeLessThan(0.01);
      }
    }
  });

  it('leaves the start to hls.js when the newest independent part is further back than that', () => {
    // Five parts in: 0.5 s behind the edge is inside the newest segment already.
    for (const n of [3, 5, 9]) expect(startAtLatestIndependentPart(playlist(n))).toBe(playlist(n));
  });

  it('leaves playlists that say where to start, or are not live media playlists, as they are', () => {
    const own = playlist(1).replace('#EXTM3U\n', '#EXTM3U\n#EXT-X-START:TIME-OFFSET=-3\n');
    expect(startAtLatestIndependentPart(own)).toBe(own);
    for (const pl of ['', 'not a playlist', playlist(1) + '#EXT-X-ENDLIST\n', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n']) {
      expect(startAtLatestIndependentPart(pl)).toBe(pl);
    }
  });
});
