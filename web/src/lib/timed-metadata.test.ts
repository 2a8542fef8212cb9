import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { parseCue, receiveCue, useCurrentAction, visibleFor, type Envelope } from './timed-metadata';

const quiz = (id: string, elapsedMs = 0): Envelope => ({ id, at: '2026-12-02T10:00:00Z', elapsedMs, event: { name: 'quiz', data: { duration: 10 } } });

describe('timed metadata', () => {
  it('keeps an action announced again, replaces it with a new one and clears it on a stop', () => {
    const { result } = renderHook(() => useCurrentAction('Chan', true));
    act(() => receiveCue('chan', quiz('sa-1', 1500), 10_000));
    expect(result.current).toMatchObject({ id: 'sa-1', name: 'quiz', startedAt: 8_500 });
    act(() => receiveCue('chan', quiz('sa-1', 3500), 12_000)); // the same quiz at a later segment start
    expect(result.current?.startedAt).toBe(8_500);
    act(() => receiveCue('chan', { id: 'sa-0', at: '', elapsedMs: 0, event: null })); // an older action's stop
    expect(result.current?.id).toBe('sa-1');
    act(() => receiveCue('chan', quiz('sa-2'), 13_000));
    expect(result.current).toMatchObject({ id: 'sa-2', startedAt: 13_000 });
    act(() => receiveCue('chan', { id: 'sa-2', at: '', elapsedMs: 0, event: null }));
    expect(result.current).toBeNull();
  });

  it('shows nothing while the channel is offline', () => {
    act(() => receiveCue('offline', quiz('sa-9')));
    const { result } = renderHook(() => useCurrentAction('offline', false));
    expect(result.current).toBeNull();
  });

  it('reads only livehouse TXXX cues', () => {
    const cue = (value: unknown) => ({ value }) as unknown as TextTrackCue;
    expect(parseCue(cue({ key: 'TXXX', info: 'livehouse', data: JSON.stringify(quiz('sa-3')) }))?.id).toBe('sa-3');
    expect(parseCue(cue({ key: 'TXXX', info: 'other', data: JSON.stringify(quiz('sa-3')) }))).toBeNull();
    expect(parseCue(cue({ key: 'X-PAYLOAD', data: 'abc' }))).toBeNull();
    expect(parseCue(cue({ key: 'TXXX', info: 'livehouse', data: '{not json' }))).toBeNull();
  });

  it('keeps a quiz 2 s past its duration and products until replaced', () => {
    expect(visibleFor({ id: 'a', name: 'quiz', data: { duration: 10 }, startedAt: 0 })).toBe(12_000);
    expect(visibleFor({ id: 'a', name: 'notice', data: { duration: 5 }, startedAt: 0 })).toBe(5_000);
    expect(visibleFor({ id: 'a', name: 'product', data: {}, startedAt: 0 })).toBeNull();
  });
});
