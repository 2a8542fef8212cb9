import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { BroadcastCard } from './BroadcastCard';
import { alice } from '../../../test/fixtures';

afterEach(() => vi.unstubAllGlobals());

const me = alice;

it('asks for the camera and the microphone, and says both are required when refused', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: me } }, 'GET /api/channels/alice': { status: 200, body: { isLive: false } } });
  const getUserMedia = vi.fn().mockRejectedValue(new DOMException('denied', 'NotAllowedError'));
  vi.stubGlobal('navigator', { ...navigator, mediaDevices: { getUserMedia } });
  renderAt(<BroadcastCard />);
  await userEvent.click(await screen.findByRole('button', { name: 'Go live' }));
  expect(await screen.findByRole('alert')).toHaveTextContent('You must allow access to both your camera and microphone');
  expect(getUserMedia).toHaveBeenCalledWith(expect.objectContaining({ audio: true, video: expect.objectContaining({ width: expect.objectContaining({ max: 1280 }) }) }));
  expect(screen.queryByRole('button', { name: 'Start stream' })).toBeNull();
});
