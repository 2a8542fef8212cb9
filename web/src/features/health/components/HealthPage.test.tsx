import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import type { Session, SessionSummary } from '../api/sessions';
import { HealthPage } from './HealthPage';
import { StreamStatusBar } from './StreamStatusBar';

// uPlot draws on a canvas, which jsdom lacks; the charts are covered by the browser tests.
vi.mock('./HealthCharts', () => ({ HealthCharts: () => <div data-testid="charts" /> }));

afterEach(() => vi.unstubAllGlobals());

const summary = (id: string, startTime: string, live = false): SessionSummary => ({
  id,
  startTime,
  endTime: live ? null : new Date(new Date(startTime).getTime() + 3600_000).toISOString(),
  isLive: live,
  hasErrorEvent: false,
  isHealthy: true,
});

const detail = (s: SessionSummary, extra: Partial<Session> = {}): Session => ({
  ...s,
  streamStartTime: s.startTime,
  channelType: 'BASIC',
  ingestConfiguration: {
    video: { codec: 'avc1.64001F', encoder: 'obs-output module', profile: 'High', level: '3.1', targetBitrate: 2_500_000, targetFramerate: 30, videoWidth: 1280, videoHeight: 720 },
    audio: { codec: 'mp4a.40.2', targetBitrate: 160_000, sampleRate: 48_000, channels: 2 },
  },
  events: [
    { name: 'Session Created', type: 'IVS Stream State Change', eventTime: s.startTime, label: 'Session created' },
    { name: 'Stream Start', type: 'IVS Stream State Change', eventTime: s.startTime, label: 'Stream started' },
  ],
  warnings: [],
  metrics: {
    period: 5,
    alignedStartTime: s.startTime,
    videoBitrate: [2_500_000, 2_400_000],
    audioBitrate: [160_000, 160_000],
    framerate: [30, 30],
    keyframeInterval: [2, 2],
    concurrentViews: [1, 3],
    averages: { videoBitrate: 2_450_000, audioBitrate: 160_000, framerate: 30, keyframeInterval: 2, concurrentViews: 1.4 },
  },
  ...extra,
});

const older = summary('st-old', '2026-11-01T10:00:00Z');
const newer = summary('st-new', '2026-11-02T10:00:00Z');

describe('HealthPage', () => {
  it('shows the empty state without sessions', async () => {
    mockFetch({ 'GET /api/me/sessions?limit=20': { status: 200, body: { sessions: [] } } });
    renderAt(<HealthPage />, { path: '/health', route: '/health' });
    expect(await screen.findByText('No stream sessions')).toBeInTheDocument();
    expect(screen.getByText(/To monitor stream health you must first start a live stream/)).toBeInTheDocument();
  });

  it('asks for the latest 5 minutes once a session it opened before its first part is live', async () => {
    const created = { ...summary('st-new', '2026-11-02T10:00:00Z'), endTime: null }; // listed before it started
    const calls = mockFetch({
      'GET /api/me/sessions?limit=20': { status: 200, body: { sessions: [created] } },
      'GET /api/me/sessions/st-new': { status: 200, body: detail(summary('st-new', '2026-11-02T10:00:00Z', true)) },
    });
    renderAt(<HealthPage />, { path: '/health/:sessionId', route: '/health/st-new' });
    await vi.waitFor(() => expect(calls.map((c) => c.key).filter((k) => k.startsWith('GET /api/me/sessions/st-new?period=1&startTime='))).toHaveLength(1));
  });

  it('shows an ended session: offline status, events in order, the declared configuration and warnings', async () => {
    mockFetch({
      'GET /api/me/sessions?limit=20': { status: 200, body: { sessions: [newer, older] } },
      'GET /api/me/sessions/st-new': {
        status: 200,
        body: detail(newer, { warnings: [{ field: 'keyframeInterval', severity: 'error', message: 'The keyframe interval is 4.0 s.' }] }),
      },
    });
    renderAt(<HealthPage />, { path: '/health/:sessionId', route: '/health/st-new' });
    expect(await screen.findByTestId('encoder-videoCodec')).toHaveTextContent('avc1.64001F');
    expect(screen.getByTestId('status-item-timer')).toHaveTextContent('Offline');
    expect(screen.getByTestId('status-item-concurrent-views')).toHaveTextContent('1 view');
    expect(screen.queryByTestId('status-item-health')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('stream-event').map((e) => e.getAttribute('data-name'))).toEqual(['Session Created', 'Stream Start']);
    expect(screen.getByTestId('encoder-resolution')).toHaveTextContent('1280x720');
    expect(screen.getByTestId('encoder-targetBitrate')).toHaveTextContent('2.50 Mbps');
    expect(screen.getByTestId('encoder-audioSampleRate')).toHaveTextContent('48 kHz');
    expect(screen.getByTestId('warning-keyframeInterval')).toHaveTextContent('4.0 s');
    expect(screen.getByRole('button', { name: 'Go to next session' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Go to previous session' })).toBeEnabled();
  });

  it('navigates between sessions with the dropdown', async () => {
    mockFetch({
      'GET /api/me/sessions?limit=20': { status: 200, body: { sessions: [newer, older] } },
      'GET /api/me/sessions/st-new': { status: 200, body: detail(newer) },
      'GET /api/me/sessions/st-old': { status: 200, body: detail(older, { events: [] }) },
    });
    renderAt(<HealthPage />, { path: '/health/:sessionId', route: '/health/st-new' });
    await userEvent.click(await screen.findByRole('button', { name: /^Choose a stream session/ }));
    const dropdown = screen.getByTestId('stream-session-dropdown');
    expect(within(dropdown).getAllByRole('button')).toHaveLength(2);
    await userEvent.click(within(dropdown).getByRole('button', { name: 'Navigate to stream session st-old' }));
    expect(await screen.findByText('No events yet.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Go to next session' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'Go to previous session' })).toBeDisabled();
  });
});

describe('SessionNavigator', () => {
  it('closes its dropdown on Escape and gives focus back to its button', async () => {
    mockFetch({
      'GET /api/me/sessions?limit=20': { status: 200, body: { sessions: [newer, older] } },
      'GET /api/me/sessions/st-new': { status: 200, body: detail(newer) },
    });
    renderAt(<HealthPage />, { path: '/health/:sessionId', route: '/health/st-new' });
    const opener = await screen.findByRole('button', { name: /^Choose a stream session/ });
    await userEvent.click(opener);
    await userEvent.tab();
    expect(screen.getByTestId('stream-session-dropdown')).toBeInTheDocument();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByTestId('stream-session-dropdown')).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
    expect(opener).toHaveAttribute('aria-expanded', 'false');
  });
});

describe('StreamStatusBar', () => {
  it('shows a live session: elapsed time, the latest views and health', async () => {
    const live = summary('st-live', new Date(Date.now() - 65_000).toISOString(), true);
    mockFetch({
      'GET /api/me/sessions?limit=1': { status: 200, body: { sessions: [live] } },
      'GET /api/me/sessions/st-live': { status: 200, body: detail(live, { isHealthy: false }) },
    });
    renderAt(<StreamStatusBar />);
    expect(await screen.findByTestId('status-item-health')).toHaveTextContent('Poor');
    expect(screen.getByTestId('status-item-timer')).toHaveTextContent(/^00:01:0\d$/);
    expect(screen.getByTestId('status-item-concurrent-views')).toHaveTextContent('3 views');
  });
});
