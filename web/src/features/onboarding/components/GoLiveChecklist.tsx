import { useState } from 'react';
import { Link } from 'react-router';
import type { Me } from '../../../lib/session';

type Props = { me: Me; onDismiss: () => void };

// obsSettings are the encoder settings that stay within a channel type's limits (the server
// cuts a stream that averages over them for 10 s; README "Live video").
export function obsSettings(channelType: string) {
  if (channelType === 'STANDARD') {
    return {
      limits: 'Standard channel: up to 1080p at 8.5 Mbps in all (video + audio).',
      rows: [
        ['Output resolution', '1920×1080 or less'],
        ['Video bitrate', '6000 Kbps (CBR), at most 8300'],
        ['Keyframe interval', '2 s'],
        ['Audio', 'AAC, 160 Kbps, 48 kHz'],
      ],
    };
  }
  return {
    limits: 'Basic channel: up to 480p at 1.5 Mbps, or up to 1080p at 3.5 Mbps, in all (video + audio).',
    rows: [
      ['Output resolution', '1280×720 (or 1920×1080 at 30 fps)'],
      ['Video bitrate', '3000 Kbps (CBR), at most 3300; 1200 Kbps at 480p'],
      ['Keyframe interval', '2 s'],
      ['Audio', 'AAC, 160 Kbps, 48 kHz'],
    ],
  };
}

// GoLiveChecklist tells a newcomer how to go live: the stream key and server for OBS with
// settings that fit their channel's limits, or the browser.
export function GoLiveChecklist({ me, onDismiss }: Props) {
  const [showKey, setShowKey] = useState(false);
  const obs = obsSettings(me.channel.type);
  return (
    <section className="card checklist" aria-labelledby="go-live-heading" data-testid="go-live-checklist">
      <div className="checklist-head">
        <h2 id="go-live-heading">Go live</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onDismiss}>
          Hide
        </button>
      </div>
      <ol className="checklist-steps">
        <li>
          <strong>Your stream key.</strong> In OBS, Settings → Stream: Service “Custom…”, Server <code>{me.channel.rtmpUrl}</code>, Stream key{' '}
          <code data-testid="checklist-stream-key">{showKey ? me.channel.streamKey : '••••••••••••'}</code>{' '}
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setShowKey(!showKey)} aria-label={showKey ? 'Hide stream key' : 'Show stream key'}>
            {showKey ? 'Hide' : 'Show'}
          </button>
          . Keep it secret; you can reset it in <Link to="/settings">Settings</Link>.
        </li>
        <li>
          <strong>OBS settings for your channel.</strong> {obs.limits} A stream over its limit for 10 seconds is cut.
          <dl className="checklist-settings">
            {obs.rows.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        </li>
        <li>
          <strong>Or go live from the browser</strong> with your camera and microphone: <Link to="/manager">Go live from the browser</Link>.
        </li>
        <li>
          <strong>Watch how it goes</strong> in the <Link to="/manager">stream manager</Link>, which warns you when the encoder nears a limit, and on <Link to="/health">Stream health</Link>.
        </li>
      </ol>
    </section>
  );
}
