import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { PrivacySettings } from './PrivacySettings';

afterEach(() => vi.unstubAllGlobals());

describe('PrivacySettings', () => {
  it('switches the channel private, allows a user by name and shows a new invite link once', async () => {
    const calls = mockFetch({
      'GET /api/channels/alice/privacy': { status: 200, body: { private: false } },
      'PUT /api/channels/alice/privacy': (b) => ({ status: 200, body: b }),
      'GET /api/channels/alice/allowlist': { status: 200, body: { users: [{ username: 'bobby', color: 'blue', avatar: 'bear' }] } },
      'PUT /api/channels/alice/allowlist/carol': { status: 204 },
      'GET /api/channels/alice/invites': { status: 200, body: { invites: [] } },
      'POST /api/channels/alice/invites': {
        status: 201,
        body: { id: 'inv_1', createdAt: '2026-12-05T12:00:00Z', expiresAt: '2026-12-06T12:00:00Z', uses: 0, code: 'c0de', url: 'http://h/alice/invite/c0de' },
      },
    });
    renderAt(<PrivacySettings me="alice" />);
    const box = await screen.findByTestId('channel-private');
    await waitFor(() => expect(box).toBeEnabled());
    fireEvent.click(box);
    await waitFor(() => expect(calls.some((c) => c.key === 'PUT /api/channels/alice/privacy' && (c.body as { private: boolean }).private)).toBe(true));
    expect(await screen.findByText('bobby')).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText('Username to allow'), { target: { value: 'carol' } });
    fireEvent.click(screen.getByRole('button', { name: 'Allow' }));
    await waitFor(() => expect(calls.some((c) => c.key === 'PUT /api/channels/alice/allowlist/carol')).toBe(true));

    fireEvent.change(screen.getByLabelText('Expires after'), { target: { value: '24' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create invite link' }));
    expect(await screen.findByTestId('invite-url')).toHaveValue('http://h/alice/invite/c0de');
    expect(calls.find((c) => c.key === 'POST /api/channels/alice/invites')?.body).toEqual({ expiresInHours: 24 });
  });
});
