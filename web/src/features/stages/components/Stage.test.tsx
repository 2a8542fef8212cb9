import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import type { HostStage, Stage } from '../api/stages';
import { StageCard } from './StageCard';
import { StageWatch } from './StageWatch';

const stage = (over: Partial<Stage> = {}): Stage => ({
  id: 'stage-1',
  host: 'hana',
  startedAt: new Date().toISOString(),
  hostPresent: true,
  participants: [
    { id: 'p-host', userId: 'u-hana', username: 'hana', role: 'host', joinedAt: new Date().toISOString(), publishing: false },
    { id: 'p-ivan', userId: 'u-ivan', username: 'ivan', role: 'invited', joinedAt: new Date().toISOString(), publishing: false },
  ],
  ...over,
});

const hostStage = (): HostStage => ({ ...stage(), inviteCode: 'code', inviteUrl: 'http://x/hana?stageInvite=code', requests: [{ userId: 'u-jade', username: 'jade', requestedAt: new Date().toISOString() }] });

describe('StageCard', () => {
  it('starts a stage', async () => {
    const calls = mockFetch({ 'GET /api/me/stage': { status: 200, body: { stage: null } }, 'POST /api/me/stage': { status: 200, body: { stage: hostStage() } } });
    renderAt(<StageCard username="hana" />);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Start stage' }));
    await waitFor(() => expect(calls.some((c) => c.key === 'POST /api/me/stage')).toBe(true));
  });

  it('shows the invite link, accepts a request and kicks a guest (never the host)', async () => {
    const calls = mockFetch({
      'GET /api/me/stage': { status: 200, body: { stage: hostStage() } },
      'PUT /api/me/stage/requests/jade': { status: 204 },
      'DELETE /api/me/stage/participants/p-ivan': { status: 204 },
    });
    const user = userEvent.setup();
    renderAt(<StageCard username="hana" />);
    expect(await screen.findByTestId('stage-invite-link')).toHaveValue('http://x/hana?stageInvite=code');
    await user.click(screen.getByRole('button', { name: 'Accept' }));
    await user.click(screen.getByRole('button', { name: 'Kick ivan' }));
    expect(screen.queryByRole('button', { name: 'Kick hana' })).not.toBeInTheDocument();
    await waitFor(() => expect(calls.map((c) => c.key)).toEqual(expect.arrayContaining(['PUT /api/me/stage/requests/jade', 'DELETE /api/me/stage/participants/p-ivan'])));
  });

  it("stops a guest's screen share (a participant of kind screen) without kicking the guest", async () => {
    const shared = hostStage();
    shared.participants.push({ id: 'p-ivan-screen', userId: 'u-ivan', username: 'ivan (screen)', role: 'invited', joinedAt: new Date().toISOString(), publishing: true, kind: 'screen', owner: 'p-ivan' });
    const calls = mockFetch({ 'GET /api/me/stage': { status: 200, body: { stage: shared } }, 'DELETE /api/me/stage/participants/p-ivan-screen': { status: 204 } });
    renderAt(<StageCard username="hana" />);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Stop ivan (screen)' }));
    expect(screen.queryByRole('button', { name: 'Kick ivan (screen)' })).not.toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.key === 'DELETE /api/me/stage/participants/p-ivan-screen')).toBe(true));
  });
});

describe('StageWatch', () => {
  it('lets a signed-in viewer request to join, then join once accepted', async () => {
    const calls = mockFetch({
      'GET /api/channels/hana/stage': { status: 200, body: { stage: stage() } },
      'POST /api/channels/hana/stage/requests': { status: 204 },
    });
    renderAt(<StageWatch username="hana" playbackToken="t" me="jade" />);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Request to join' }));
    await waitFor(() => expect(calls.some((c) => c.key === 'POST /api/channels/hana/stage/requests')).toBe(true));
  });

  it('offers Join stage to an accepted viewer, and nothing to join to a signed-out one', async () => {
    mockFetch({ 'GET /api/channels/hana/stage': { status: 200, body: { stage: stage({ request: 'accepted' }) } } });
    const { unmount } = renderAt(<StageWatch username="hana" playbackToken="t" me="jade" />);
    expect(await screen.findByRole('button', { name: 'Join stage' })).toBeInTheDocument();
    unmount();
    mockFetch({ 'GET /api/channels/hana/stage': { status: 200, body: { stage: stage() } } });
    renderAt(<StageWatch username="hana" playbackToken="t" />);
    expect(await screen.findByRole('link', { name: 'Sign in to request to join' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Request to join' })).not.toBeInTheDocument();
  });
});
