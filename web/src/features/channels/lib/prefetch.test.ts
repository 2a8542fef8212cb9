import { afterEach, describe, expect, it, vi } from 'vitest';
import { channelOfPath, fileKey, firstVariant, liveEdge, prefetchChannelPage } from './prefetch';
import { takeChannel, takeFile } from './prefetched';

const origin = window.location.origin;

const multivariant = `#EXTM3U
#EXT-X-VERSION:10
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="other",AUTOSELECT=YES,URI="audio9_stream.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",AUTOSELECT=YES,DEFAULT=YES,URI="audio2_stream.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2970740,CODECS="avc1.42c01f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="audio"
video1_stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=970740,CODECS="avc1.42c01f,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"
360p/video1_stream.m3u8
`;

// media is a live media playlist of track (video1 or audio2): segments 7 and 8 whole, and
// `parts` parts of segment 9.
function media(track: string, parts: number) {
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.50000', '#EXT-X-PART-INF:PART-TARGET=0.20000', '#EXT-X-MEDIA-SEQUENCE:7', `#EXT-X-MAP:URI="${track}_init.mp4"`];
  for (const sn of [7, 8]) {
    for (let i = 0; i < 10; i++) lines.push(`#EXT-X-PART:DURATION=0.20000,URI="${track}_part${sn}${i}.mp4"${i === 0 ? ',INDEPENDENT=YES' : ''}`);
    lines.push('#EXTINF:2.00000,', `${track}_seg${sn}.mp4`);
  }
  for (let i = 0; i < parts; i++) lines.push(`#EXT-X-PART:DURATION=0.20000,URI="${track}_part9${i}.mp4"${i === 0 ? ',INDEPENDENT=YES' : ''}`);
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${track}_part9${parts}.mp4"`);
  return lines.join('\n') + '\n';
}

afterEach(() => {
  vi.unstubAllGlobals();
  delete window.livehousePrefetch;
});

describe('channelOfPath', () => {
  it('finds the channel of a channel page or its profile', () => {
    const cases: [string, string | undefined][] = [
      ['/alice', 'alice'],
      ['/Alice_1.x/', 'Alice_1.x'],
      ['/alice/profile', 'alice'],
      ['/', undefined],
      ['/login', undefined],
      ['/Settings', undefined],
      ['/health/123', undefined],
      ['/manager', undefined],
      ['/abc', undefined], // too short to be a username
      ['/al%20ice', undefined],
      ['/%E0%A4%A', undefined], // bad escape
      ['/alice/chat', undefined],
    ];
    for (const [path, want] of cases) expect(channelOfPath(path), path).toBe(want);
  });
});

describe('firstVariant', () => {
  it('picks the first variant and the default rendition of its audio group', () => {
    expect(firstVariant(multivariant)).toEqual({ video: 'video1_stream.m3u8', audio: 'audio2_stream.m3u8' });
    expect(firstVariant('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n\nv.m3u8\n')).toEqual({ video: 'v.m3u8' });
    expect(firstVariant('#EXTM3U\n#EXTINF:2,\nseg.ts\n')).toBeUndefined();
  });
});

describe('liveEdge', () => {
  it('reads the init section, the newest segment’s parts, the hint and the next part', () => {
    expect(liveEdge(media('video1', 3))).toEqual({
      init: 'video1_init.mp4',
      parts: ['video1_part90.mp4', 'video1_part91.mp4', 'video1_part92.mp4'],
      hint: 'video1_part93.mp4',
      next: { msn: 9, part: 3 },
      ended: false,
    });
    // Right after a segment closed, the closed segment's parts are the newest.
    const closed = liveEdge(media('video1', 0));
    expect(closed.parts).toHaveLength(10);
    expect(closed.parts[0]).toBe('video1_part80.mp4');
    expect(closed.next).toEqual({ msn: 9, part: 0 });
  });
});

// fakeServer answers the prefetch's requests: the channel, the playlists, and media; blocking
// reloads wait until release is called with the playlists' next versions.
function fakeServer(channel: object, status = 200) {
  const requests: string[] = [];
  const waiting: ((parts: number) => void)[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const url = new URL(String(input), origin);
    requests.push(url.pathname + url.search);
    if (url.pathname.startsWith('/api/channels/')) return new Response(JSON.stringify(channel), { status });
    if (url.pathname.endsWith('index.m3u8')) return new Response(multivariant);
    const track = /(video1|audio2)_stream\.m3u8$/.exec(url.pathname)?.[1];
    if (track && url.searchParams.has('_HLS_msn')) {
      const parts = await new Promise<number>((resolve) => waiting.push(resolve));
      return new Response(media(track, parts));
    }
    if (track) return new Response(media(track, 2));
    return new Response(new Uint8Array([1, 2, 3]));
  });
  vi.stubGlobal('fetch', fetch);
  const release = (parts: number) => waiting.splice(0).forEach((w) => w(parts));
  return { requests, release };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};

describe('prefetchChannelPage', () => {
  it('fetches nothing off a channel page', () => {
    const { requests } = fakeServer({});
    expect(prefetchChannelPage('/settings', origin)).toBeUndefined();
    expect(window.livehousePrefetch).toBeUndefined();
    expect(requests).toEqual([]);
  });

  it('fetches only the channel when it is offline, and hands the app its response once', async () => {
    const { requests } = fakeServer({ username: 'alice', isLive: false });
    prefetchChannelPage('/Alice', origin);
    await settle();
    expect(requests).toEqual(['/api/channels/Alice']);
    expect(takeChannel('bob')).toBeUndefined();
    const res = takeChannel('alice');
    expect(await (await res!).json()).toEqual({ username: 'alice', isLive: false });
    expect(takeChannel('alice')).toBeUndefined();
  });

  it('fetches a live channel’s playlists, init sections and newest parts with its token, and follows the edge until the player takes over', async () => {
    const { requests, release } = fakeServer({ isLive: true, playbackUrl: '/hls/ch1/index.m3u8?token=t1' });
    const p = prefetchChannelPage('/alice', origin)!;
    await settle();
    for (const r of requests.filter((r) => r.startsWith('/hls/'))) expect(new URL(r, origin).searchParams.get('token'), r).toBe('t1');
    const key = (path: string) => fileKey(path, origin);
    const held = () => [...p.files.keys()].map((k) => new URL(k).pathname.replace('/hls/ch1/', '')).sort();
    expect(held()).toEqual(
      ['index.m3u8', 'video1_stream.m3u8', 'video1_init.mp4', 'video1_part90.mp4', 'video1_part91.mp4', 'video1_part92.mp4', 'audio2_stream.m3u8', 'audio2_init.mp4', 'audio2_part90.mp4', 'audio2_part91.mp4', 'audio2_part92.mp4'].sort(),
    );
    // Each playlist is reloaded blocking on its next part.
    expect(requests.filter((r) => r.includes('_HLS_msn')).map((r) => r.replace(/token=[^&]*&?/, '').replace(/[?&]$/, ''))).toEqual([
      '/hls/ch1/video1_stream.m3u8?_HLS_msn=9&_HLS_part=2',
      '/hls/ch1/audio2_stream.m3u8?_HLS_msn=9&_HLS_part=2',
    ]);

    // The next version replaces the first, with its new part; the player takes the video
    // playlist from memory (with any token) and gets the newest version.
    release(4);
    await settle();
    expect(held()).toContain('video1_part93.mp4');
    const taken = takeFile('/hls/ch1/video1_stream.m3u8?token=other');
    expect(await taken!.data).toBe(media('video1', 4));
    expect(p.files.has(key('/hls/ch1/video1_stream.m3u8'))).toBe(false);
    expect(await takeFile(`${origin}/hls/ch1/video1_part93.mp4`)!.data).toBeInstanceOf(ArrayBuffer);
    expect(takeFile('/hls/ch1/video1_part93.mp4')).toBeUndefined(); // taken once

    // The taken playlist is no longer followed; the other still is.
    release(5);
    await settle();
    expect(p.files.has(key('/hls/ch1/video1_stream.m3u8'))).toBe(false);
    expect(await p.files.get(key('/hls/ch1/audio2_stream.m3u8'))!.data).toBe(media('audio2', 5));
    const reloads = requests.filter((r) => r.includes('_HLS_msn'));
    expect(reloads.filter((r) => r.includes('video1'))).toHaveLength(2);
    expect(reloads.filter((r) => r.includes('audio2'))).toHaveLength(3);
  });
});
