import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { channelIdOf, useRealtimeChoice } from './RealtimePlayer';

describe('channelIdOf', () => {
  it('reads the channel id from a playback URL', () => {
    expect(channelIdOf('/hls/ch-abc123/index.m3u8')).toBe('ch-abc123');
    expect(channelIdOf('http://example.com/hls/ch-x/index.m3u8?token=t')).toBe('ch-x');
    expect(channelIdOf('/somewhere/else')).toBeUndefined();
  });
});

describe('useRealtimeChoice', () => {
  afterEach(() => window.localStorage.clear());

  it('keeps the choice, and a failure falls back until the viewer asks again', () => {
    const { result, rerender } = renderHook(() => useRealtimeChoice());
    expect(result.current.realtime).toBe(false);
    act(() => result.current.toggle());
    expect(result.current.realtime).toBe(true);
    expect(window.localStorage.getItem('livehouse.realtime')).toBe('1');
    act(() => result.current.fail('WHEP answered 503'));
    rerender();
    expect(result.current.realtime).toBe(false);
    expect(result.current.failed).toBe('WHEP answered 503');
    expect(renderHook(() => useRealtimeChoice()).result.current.wanted).toBe(true);
  });
});
