import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { alice } from '../../../test/fixtures';
import { renderAt } from '../../../test/render';
import { StreamSettings } from './StreamSettings';

describe('StreamSettings', () => {
  it('shows the stream key of a verified account', () => {
    renderAt(<StreamSettings me={alice} />);
    expect(screen.getByLabelText('Stream key')).toHaveValue('sk_1');
    expect(screen.getByRole('button', { name: 'Reset stream key' })).toBeInTheDocument();
    expect(screen.queryByText('Verify your email to go live.')).not.toBeInTheDocument();
  });

  it('asks an unverified account to verify its email where the key would be', () => {
    const unverified = { ...alice, emailVerified: false, channel: { ...alice.channel, streamKey: undefined } };
    renderAt(<StreamSettings me={unverified} />);
    expect(screen.getByText('Verify your email to go live.')).toBeInTheDocument();
    expect(screen.getByText(/alice@example.com/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Stream key')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Reset stream key' })).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Go live from web' })).not.toBeInTheDocument();
  });

  it('shows the RTMPS and SRT URLs next to the RTMP one when the server offers them', () => {
    const both = { ...alice, channel: { ...alice.channel, rtmpUrl: 'rtmp://h:1935/live/', rtmpsUrl: 'rtmps://h:1936/live/', srtUrl: 'srt://h:9000?streamid=publish:' } };
    renderAt(<StreamSettings me={both} />);
    expect(screen.getByLabelText('Ingest server URL')).toHaveValue('rtmp://h:1935/live/');
    expect(screen.getByLabelText('RTMPS server URL')).toHaveValue('rtmps://h:1936/live/');
    expect(screen.getByLabelText(/^SRT URL/)).toHaveValue('srt://h:9000?streamid=publish:');
  });

  it('leaves out RTMPS and SRT when they are off', () => {
    renderAt(<StreamSettings me={alice} />);
    expect(screen.queryByLabelText('RTMPS server URL')).not.toBeInTheDocument();
    expect(screen.queryByLabelText(/^SRT URL/)).not.toBeInTheDocument();
  });
});
