import { describe, expect, it } from 'vitest';
import { tokenOf, withToken } from './playback';

describe('playback token', () => {
  it('is read from the playback URL and added to every other URL', () => {
    const token = tokenOf('http://localhost/hls/ch/index.m3u8?token=abc.def');
    expect(token).toBe('abc.def');
    expect(withToken('http://localhost/hls/ch/video1_stream.m3u8?_HLS_msn=3&_HLS_part=1', token)).toBe(
      'http://localhost/hls/ch/video1_stream.m3u8?_HLS_msn=3&_HLS_part=1&token=abc.def',
    );
    expect(withToken('http://localhost/hls/ch/index.m3u8?token=abc.def', token)).toBe('http://localhost/hls/ch/index.m3u8?token=abc.def');
    expect(withToken('http://localhost/hls/ch/a_part1.mp4', null)).toBe('http://localhost/hls/ch/a_part1.mp4');
  });
});
