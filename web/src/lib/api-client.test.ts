import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError } from './api-client';
import { mockFetch } from '../test/render';

afterEach(() => vi.unstubAllGlobals());

describe('api', () => {
  it('returns the JSON body and sends JSON', async () => {
    const calls = mockFetch({ 'POST /api/x': { status: 200, body: { ok: 1 } } });
    await expect(api('POST', '/api/x', { a: 1 })).resolves.toEqual({ ok: 1 });
    expect(calls).toEqual([{ key: 'POST /api/x', body: { a: 1 } }]);
  });

  it('turns an error body into an ApiError', async () => {
    mockFetch({ 'GET /api/x': { status: 409, body: { error: { code: 'UsernameExists', message: 'taken', field: 'username' } } } });
    const err = await api('GET', '/api/x').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'UsernameExists', message: 'taken', field: 'username' });
  });

  it('returns nothing for 204', async () => {
    mockFetch({ 'DELETE /api/x': { status: 204 } });
    await expect(api('DELETE', '/api/x')).resolves.toBeUndefined();
  });

  it('reports a network failure', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('offline')));
    await expect(api('GET', '/api/x')).rejects.toMatchObject({ code: 'NetworkError' });
  });
});
