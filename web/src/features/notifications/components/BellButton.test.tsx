import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { b64ToBytes } from '../lib/push';
import { BellButton } from './BellButton';
import { NotificationSettings } from './NotificationSettings';

afterEach(() => vi.unstubAllGlobals());

describe('BellButton', () => {
  it('shows the bell and rings it', async () => {
    const calls = mockFetch({
      'GET /api/me/following/alice/notifications': { status: 200, body: { enabled: false } },
      'PUT /api/me/following/alice/notifications': (body) => ({ status: 200, body }),
    });
    renderAt(<BellButton username="alice" />);
    const bell = await screen.findByRole('button', { name: 'Notifications off' });
    await waitFor(() => expect(bell).toBeEnabled());
    expect(bell).toHaveAttribute('aria-pressed', 'false');
    await userEvent.click(bell);
    expect(await screen.findByRole('button', { name: 'Notifications on' })).toHaveAttribute('aria-pressed', 'true');
    expect(calls.find((c) => c.key === 'PUT /api/me/following/alice/notifications')?.body).toEqual({ enabled: true });
  });
});

describe('NotificationSettings', () => {
  it('shows and changes the kinds', async () => {
    const calls = mockFetch({
      'GET /api/me/notifications': { status: 200, body: { email: true, push: true } },
      'PATCH /api/me/notifications': () => ({ status: 200, body: { email: false, push: true } }),
    });
    renderAt(<NotificationSettings />);
    const email = await screen.findByTestId('notify-email');
    await waitFor(() => expect(email).toBeChecked());
    await userEvent.click(email);
    await waitFor(() => expect(email).not.toBeChecked());
    expect(calls.find((c) => c.key === 'PATCH /api/me/notifications')?.body).toEqual({ email: false });
    expect(screen.getByTestId('notify-push')).toBeChecked();
  });
});

describe('b64ToBytes', () => {
  it('decodes base64url without padding', () => {
    expect(Array.from(b64ToBytes('AP_-'))).toEqual([0, 255, 254]);
    expect(Array.from(b64ToBytes('AQ'))).toEqual([1]);
  });
});
