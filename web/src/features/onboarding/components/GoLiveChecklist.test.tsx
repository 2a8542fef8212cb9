import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { alice } from '../../../test/fixtures';
import { renderAt } from '../../../test/render';
import { GoLiveChecklist, obsSettings } from './GoLiveChecklist';

describe('GoLiveChecklist', () => {
  it('gives the server and the stream key (hidden until asked), the limits of the channel type, and the browser way', async () => {
    const me = { ...alice, channel: { ...alice.channel, rtmpUrl: 'rtmp://live.example:1935/live/', streamKey: 'sk_secret' } };
    const onDismiss = vi.fn();
    renderAt(<GoLiveChecklist me={me} onDismiss={onDismiss} />);
    expect(screen.getByText('rtmp://live.example:1935/live/')).toBeInTheDocument();
    expect(screen.queryByText('sk_secret')).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Show stream key' }));
    expect(screen.getByTestId('checklist-stream-key')).toHaveTextContent('sk_secret');
    expect(screen.getByText(/up to 480p at 1.5 Mbps, or up to 1080p at 3.5 Mbps/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go live from the browser' })).toHaveAttribute('href', '/manager');
    await userEvent.click(screen.getByRole('button', { name: 'Hide' }));
    expect(onDismiss).toHaveBeenCalledOnce();
  });

  it.each([
    ['BASIC', /3\.5 Mbps/],
    ['STANDARD', /8\.5 Mbps/],
  ])('states the %s limits', (type, want) => {
    expect(obsSettings(type).limits).toMatch(want);
  });
});
