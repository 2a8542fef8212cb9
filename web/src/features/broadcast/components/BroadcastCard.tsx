// The stream manager's web broadcast card, as in the reference: camera and microphone
// permission, preview, Start/End stream (with confirmation), mute, hide camera, screen share
// with the camera on top, device settings, full-screen view, a warning when leaving while
// live, and "Your channel is already live" when streaming from elsewhere.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useLocation } from 'react-router';
import { Modal } from '../../../components/Modal';
import { useMe } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { liveKey, useChannelLive } from '../api/live';
import { useBroadcast } from '../hooks/useBroadcast';
import './broadcast.css';

export const leaveMessage = 'Are you sure you want to leave this page? This will end your live stream.';

export function BroadcastCard() {
  const { data: me } = useMe();
  if (!me) return null;
  if (!me.channel.streamKey) {
    // An unverified account has no key to publish with until its email is confirmed.
    return (
      <section className="card broadcast" aria-label="Web broadcast" data-testid="broadcast-card">
        <h2>Go live</h2>
        <p className="notice" role="status">
          Verify your email to go live: open the link we sent to {me.email}.
        </p>
      </section>
    );
  }
  return <Broadcast streamKey={me.channel.streamKey} username={me.username} />;
}

function Broadcast({ streamKey, username }: { streamKey: string; username: string }) {
  const toast = useToast();
  const b = useBroadcast({ streamKey, whipUrl: '/api/whip', onError: toast.error, onInfo: toast.success });
  const { data: channelLive } = useChannelLive(username);
  const queryClient = useQueryClient();
  const [confirmEnd, setConfirmEnd] = useState(false);
  const [settings, setSettings] = useState(false);
  const [fullScreen, setFullScreen] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const location = useLocation();
  const goLive = (location.state as { goLive?: boolean } | null)?.goLive === true;
  const opened = useRef(false);

  // "Go live from web" in the settings lands here with the preview opened.
  useEffect(() => {
    if (goLive && !opened.current) {
      opened.current = true;
      void b.open();
    }
  }, [goLive, b]);
  const live = b.status === 'live' || b.status === 'reconnecting';
  const liveElsewhere = !!channelLive && (b.status === 'ready' || b.status === 'closed');

  useEffect(() => {
    if (video.current) video.current.srcObject = b.preview;
  }, [b.preview, b.status]);

  // While live: the browser asks before the page unloads, and in-app links ask first too.
  useEffect(() => {
    if (!live) return;
    const onUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = leaveMessage;
    };
    const onClick = (e: MouseEvent) => {
      const a = (e.target as Element | null)?.closest?.('a[href]');
      if (!a || a.getAttribute('target') === '_blank') return;
      if (!window.confirm(leaveMessage)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener('beforeunload', onUnload);
    document.addEventListener('click', onClick, true);
    return () => {
      window.removeEventListener('beforeunload', onUnload);
      document.removeEventListener('click', onClick, true);
    };
  }, [live]);

  if (b.status === 'closed' || b.status === 'opening') {
    return (
      <section className="card broadcast" aria-label="Web broadcast" data-testid="broadcast-card">
        <div className="broadcast-collapsed">
          <div>
            <h2>Go live</h2>
            <p className="muted">Stream from this browser with your camera, microphone and screen.</p>
          </div>
          <button type="button" className="btn btn-primary" onClick={() => void b.open()} disabled={b.status === 'opening'}>
            Go live
          </button>
        </div>
        {b.permissionError && (
          <p role="alert" className="broadcast-error">
            {b.permissionError}
          </p>
        )}
      </section>
    );
  }

  return (
    <section className={`card broadcast${fullScreen ? ' broadcast-full' : ''}`} aria-label="Web broadcast" data-testid="broadcast-card">
      <div className="broadcast-head">
        <h2>Go live</h2>
        {live && (
          <span className="broadcast-live" data-testid="broadcast-live">
            {b.status === 'reconnecting' ? 'Reconnecting…' : 'LIVE'}
          </span>
        )}
      </div>
      <div className="broadcast-stage">
        <video ref={video} data-testid="broadcast-preview" autoPlay muted playsInline />
      </div>
      {liveElsewhere && (
        <p role="status" className="broadcast-note" data-testid="already-live">
          Your channel is already live
        </p>
      )}
      <div className="broadcast-controls">
        <button type="button" className="btn btn-secondary" aria-pressed={!b.micOn} onClick={b.toggleMic}>
          {b.micOn ? 'Turn off microphone' : 'Turn on microphone'}
        </button>
        <button type="button" className="btn btn-secondary" aria-pressed={!b.cameraOn} onClick={b.toggleCamera}>
          {b.cameraOn ? 'Turn off camera' : 'Turn on camera'}
        </button>
        <button type="button" className="btn btn-secondary" aria-pressed={b.sharing} onClick={() => void b.toggleScreen()}>
          {b.sharing ? 'Stop sharing' : 'Share your screen'}
        </button>
        <button type="button" className="btn btn-secondary" onClick={() => setSettings(true)}>
          Settings
        </button>
        <button type="button" className="btn btn-secondary" aria-label={fullScreen ? 'Collapse' : 'Expand'} onClick={() => setFullScreen(!fullScreen)}>
          {fullScreen ? 'Collapse' : 'Full screen'}
        </button>
        {live ? (
          <button type="button" className="btn btn-danger" onClick={() => setConfirmEnd(true)}>
            End stream
          </button>
        ) : (
          <button type="button" className="btn btn-primary" onClick={() => void b.start()} disabled={b.status === 'connecting' || liveElsewhere}>
            {b.status === 'connecting' ? 'Starting…' : 'Start stream'}
          </button>
        )}
      </div>
      {confirmEnd && (
        <Modal title="End stream" onClose={() => setConfirmEnd(false)}>
          <p>Are you sure you want to end your live stream?</p>
          <div className="modal-actions">
            <button type="button" className="btn btn-secondary" onClick={() => setConfirmEnd(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => {
                setConfirmEnd(false);
                // The channel is offline now; do not show it as live from elsewhere meanwhile.
                queryClient.setQueryData(liveKey(username), false);
                void b.end().then(() => queryClient.invalidateQueries({ queryKey: liveKey(username) }));
              }}
            >
              End stream
            </button>
          </div>
        </Modal>
      )}
      {settings && (
        <Modal title="Audio & video settings" onClose={() => setSettings(false)}>
          <div className="broadcast-settings">
            <label>
              Camera
              <select value={b.cameraId} onChange={(e) => void b.chooseCamera(e.target.value)}>
                {b.devices.cameras.map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || `Camera ${i + 1}`}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Microphone
              <select value={b.micId} onChange={(e) => void b.chooseMic(e.target.value)}>
                {b.devices.microphones.map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || `Microphone ${i + 1}`}
                  </option>
                ))}
              </select>
            </label>
            <label className="broadcast-switch">
              <input type="checkbox" role="switch" checked={b.cameraOnScreen} onChange={(e) => b.showCameraOnScreen(e.target.checked)} />
              Show camera on screen share
            </label>
          </div>
        </Modal>
      )}
    </section>
  );
}
